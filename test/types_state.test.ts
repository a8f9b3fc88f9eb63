import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { JobSpec, type ProcessorOf } from "../src/index.js";

// Compile-time checks (tsc --noEmit runs over test/): a stateful worker's state is typed by the spec's
// `state` schema, or else by what `initialState` returns; `state()` is read-only; `job.state()` is typed too.
const lengths = JobSpec.define({ name: "lengths-types", input: z.string(), output: z.number() });
const keyed = JobSpec.define({ name: "keyed-types", input: z.string(), state: z.object({ k: z.number() }) });

describe("stateful worker types", () => {
  it("infers the state from initialState when the spec has no state schema, read-only", () => {
    // Never called: only its types are checked.
    const _define = () =>
      lengths.defineWorker({
        initialState: () => ({ total: 0 }),
        processor: async ({ input, state, updateState }) => {
          for await (const text of input) {
            updateState((draft) => {
              expectTypeOf(draft.total).toEqualTypeOf<number>();
              draft.total += text.length;
            });
            expectTypeOf(state().total).toEqualTypeOf<number>();
            // @ts-expect-error: the state is read-only (and frozen at run time)
            state().total = 1;
          }
        },
      });
    void _define;
  });

  it("types the state by the spec's state schema: initialState, recipes, job.state() and ProcessorOf", () => {
    const _define = () =>
      keyed.defineWorker({
        initialState: () => ({ k: 1 }),
        processor: async ({ updateState }) => {
          // @ts-expect-error: "zz" is not a field of the state schema
          updateState((draft) => void (draft.zz = 1));
        },
      });
    // @ts-expect-error: initialState must return the schema's type
    const _wrong = () => keyed.defineWorker({ initialState: () => ({ k: "x" }), processor: async () => {} });
    const _read = async () => (await keyed.enqueueJob()).state();
    expectTypeOf<Awaited<ReturnType<typeof _read>>>().toEqualTypeOf<{ k: number } | undefined>();
    const processor: ProcessorOf<typeof keyed> = async ({ state }) => {
      expectTypeOf(state().k).toEqualTypeOf<number>();
    };
    void [_define, _wrong, processor];
  });
});
