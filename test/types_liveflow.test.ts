// Type tests for Liveflow job handles typed by their exposures, and typed conn transforms.
// Checked by `tsc --noEmit`; at run time only `Liveflow.define` runs (no env, no jobs).
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { JobSpec, Liveflow, conn, expose, type Exposure, type LiveEnv, type LiveJob, type OutputMessage, type TagHandle } from "liveworker";

const dough = JobSpec.define({
  name: "types-dough",
  input: z.object({ grams: z.number() }),
  output: z.object({ grams: z.number(), kneaded: z.boolean() }),
});
const oven = JobSpec.define({
  name: "types-oven",
  input: { default: z.object({ description: z.string() }), fuel: z.number() },
  output: { default: z.object({ pizza: z.string() }), smoke: z.string().transform((s) => s.length) },
});

const pizzeria = Liveflow.define({
  name: "types-pizzeria",
  connections: [conn({ from: dough, to: oven, transform: (d) => ({ description: `${d.grams} g` }) })],
  exposures: [
    expose(dough.input.default, "flour"),
    expose(oven.input.fuel, "wood"),
    expose(oven.output.default, "pizza"),
    expose({ spec: oven, label: "types-oven", tag: "smoke", direction: "output" }, "smoke"),
  ],
});

// Never called: only compiled.
async function handles(env: LiveEnv) {
  // tag handles carry their schema type
  expectTypeOf(oven.input.fuel).toEqualTypeOf<TagHandle<"input", z.ZodNumber>>();
  expectTypeOf(expose(oven.input.fuel, "wood")).toEqualTypeOf<Exposure<"wood", "input", z.ZodNumber>>();

  const job = await pizzeria.enqueueJob({ liveEnv: env });
  expectTypeOf(job.input("flour").feed).parameter(0).toEqualTypeOf<{ grams: number }>();
  expectTypeOf(job.input("wood").feed).parameter(0).toEqualTypeOf<number>();
  for await (const { data } of job.output("pizza")) expectTypeOf(data).toEqualTypeOf<{ pizza: string }>();
  // a labelled endpoint's schema comes from its spec and tag (schema output: transform applied)
  expectTypeOf(await job.output("smoke").first()).toEqualTypeOf<OutputMessage<number> | undefined>();
  await job.input("flour").feed({ grams: 500 });
  // @ts-expect-error wrong shape for the exposed input schema
  await job.input("flour").feed({ grams: "500" });
  // @ts-expect-error unknown input alias
  job.input("sugar");
  // @ts-expect-error an output alias is not an input alias
  job.input("pizza");
  // @ts-expect-error unknown output alias
  job.output("calzone");
  // @ts-expect-error no alias is "default": no default writer
  await job.input.feed({ grams: 1 });
  // @ts-expect-error no alias is "default": no default reader
  await job.output.first();

  // an alias literally "default" gives the default writer and reader
  const simple = Liveflow.define({
    name: "types-simple",
    connections: [conn({ from: dough, to: oven, transform: (d) => ({ description: String(d.kneaded) }) })],
    exposures: [expose(dough.input.default, "default"), expose(oven.output.default, "default")],
  });
  const plain = await simple.enqueueJob({ liveEnv: env });
  expectTypeOf(plain.input.feed).parameter(0).toEqualTypeOf<{ grams: number }>();
  expectTypeOf(await plain.output.first()).toEqualTypeOf<OutputMessage<{ pizza: string }> | undefined>();

  // exposures built dynamically: the loose types, as before
  const dynamic: Exposure[] = [expose(dough.input.default, "in")];
  const loose = Liveflow.define({ name: "types-loose", connections: [conn({ from: dough, to: oven })], exposures: dynamic });
  const looseJob = await loose.enqueueJob({ liveEnv: env });
  expectTypeOf(looseJob).toEqualTypeOf<LiveJob<Record<string, any>, Record<string, any>>>();
  await looseJob.input("anything").feed(42);
  await looseJob.input.feed("x");
  // a typed flow job still fits the loose handle type, and a typed flow the bare `Liveflow`
  const asLoose: LiveJob<Record<string, any>, Record<string, any>> = job;
  const flows: Liveflow[] = [pizzeria, simple, loose];
  void [asLoose, flows];
}

// Never called: only compiled.
function transforms() {
  // the transform's parameter is the `from` output (schema output), its result checked against the `to` input
  conn({
    from: oven.output.smoke,
    to: oven.input.fuel,
    transform: (n) => {
      expectTypeOf(n).toEqualTypeOf<number>();
      return n * 2;
    },
  });
  conn({ from: { spec: dough, label: "d" }, to: { spec: oven, label: "o", tag: "fuel" }, transform: (d) => d.grams });
  // @ts-expect-error the transform must return what `to` accepts
  conn({ from: dough, to: oven, transform: (d) => d.grams });
  // @ts-expect-error the parameter is the `from` output
  conn({ from: dough, to: oven.input.fuel, transform: (d: string) => d.length });
  // a transform declared to return `unknown` opts out of the result check (validated at run time)
  const anyResult = (d: { grams: number }): unknown => d;
  conn({ from: dough, to: oven, transform: anyResult });
  // without a transform, nothing is checked at compile time (checkFlow compares the schemas at define time)
  conn({ from: dough, to: oven.input.fuel });
}

describe("Liveflow handle types (compile-time)", () => {
  it("compiles the flow handle and transform checks", () => {
    expectTypeOf(handles).toBeFunction();
    expectTypeOf(transforms).toBeFunction();
    expect(pizzeria.nodes).toEqual(["types-dough", "types-oven"]);
  });
});
