import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { JobSpec, type OutputMessage } from "../src/index.js";

// Compile-time checks (tsc --noEmit runs over test/): the result of
// enqueueAndGetResult is typed by the output tag it reads.
const bill = JobSpec.define({
  name: "bill-types",
  input: z.object({ dish: z.string() }),
  output: { default: z.string(), total: z.number() },
});

describe("enqueueAndGetResult result types", () => {
  it("types data from the default output tag, or from outputTag", () => {
    const _viaDefault = () => bill.enqueueAndGetResult({ input: { dish: "soup" } });
    const _viaTotal = () => bill.enqueueAndGetResult({ input: { dish: "soup" }, outputTag: "total" });
    expectTypeOf<Awaited<ReturnType<typeof _viaDefault>>>().toEqualTypeOf<OutputMessage<string>>();
    expectTypeOf<Awaited<ReturnType<typeof _viaTotal>>>().toEqualTypeOf<OutputMessage<number>>();
    // @ts-expect-error: "tip" is not an output tag of the spec
    void (() => bill.enqueueAndGetResult({ outputTag: "tip" }));
  });
});
