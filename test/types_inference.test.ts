// Type tests: the inference a user relies on, locked in. Checked by `tsc --noEmit`;
// at run time every body is either synchronous and inert or never called.
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import * as v from "valibot";
import { JobSpec, type LiveEnv, type OutputMessage } from "liveworker";
import { workerTestCases } from "liveworker/testing";

const chop = JobSpec.define({
  name: "chop",
  jobOptions: z.object({ size: z.enum(["fine", "coarse"]).default("fine"), mult: z.number() }),
  input: z.object({ veg: z.string().transform((s) => s.length) }),
  output: { default: z.object({ pieces: z.number(), note: z.string().default("") }), waste: z.object({ grams: z.number() }) },
});
const soup = JobSpec.define({
  name: "soup",
  input: { veg: z.object({ grams: z.number() }), spice: z.string() },
  output: { pot: z.object({ added: z.string() }), bill: z.number() },
});
const valibotSpec = JobSpec.define({ name: "vb", input: v.object({ a: v.pipe(v.string(), v.transform(Number)) }), output: v.string() });

// Never called: only compiled.
function processors(env: LiveEnv) {
  chop.defineWorker({
    liveEnv: env,
    init: async ({ jobOptions }) => ({ knife: "sharp" as const, mult: jobOptions.mult }),
    processor: async ({ input, output, jobOptions, resources, attempt, signal }) => {
      expectTypeOf(attempt).toEqualTypeOf<number>();
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      // schema output (transform applied) in the processor, defaults applied to job options
      for await (const message of input) expectTypeOf(message).toEqualTypeOf<{ veg: number }>();
      expectTypeOf(jobOptions).toEqualTypeOf<{ size: "fine" | "coarse"; mult: number }>();
      expectTypeOf(resources).toEqualTypeOf<{ knife: "sharp"; mult: number }>();
      // emit takes the schema input: a defaulted field may be omitted
      await output.emit({ pieces: 1 });
      await output("waste").emit({ grams: 3 });
      // @ts-expect-error wrong shape
      await output.emit({ pieces: "1" });
      // @ts-expect-error wrong shape on a named tag
      await output("waste").emit({ pieces: 1 });
      // @ts-expect-error unknown output tag
      output("nope");
      // @ts-expect-error unknown input tag
      input("nope");
    },
  });
  soup.defineWorker({
    liveEnv: env,
    processor: async ({ input, output, resources }) => {
      expectTypeOf(resources).toEqualTypeOf<undefined>();
      for await (const message of input.merge("veg", "spice")) {
        if (message.tag === "veg") expectTypeOf(message.data).toEqualTypeOf<{ grams: number }>();
        else expectTypeOf(message.data).toEqualTypeOf<string>();
      }
      for await (const spice of input("spice")) expectTypeOf(spice).toEqualTypeOf<string>();
      await output("bill").emit(3);
      // @ts-expect-error unknown tag in merge
      input.merge("veg", "nope");
      // @ts-expect-error no default input tag
      for await (const _ of input) void _;
      // @ts-expect-error no default output tag
      await output.emit(1);
      // @ts-expect-error wrong type on a named tag
      await output("bill").emit("3");
    },
  });
  valibotSpec.defineWorker({
    liveEnv: env,
    processor: async ({ input, output }) => {
      for await (const message of input) expectTypeOf(message).toEqualTypeOf<{ a: number }>();
      await output.emit("ok");
    },
  });
}

// Never called: only compiled.
async function handles(env: LiveEnv) {
  const job = await chop.enqueueJob({ liveEnv: env, jobOptions: { mult: 2 } });
  expectTypeOf(job.input.feed).parameter(0).toEqualTypeOf<{ veg: string }>();
  for await (const { data } of job.output) expectTypeOf(data).toEqualTypeOf<{ pieces: number; note: string }>();
  for await (const { data } of job.output("waste")) expectTypeOf(data).toEqualTypeOf<{ grams: number }>();
  expectTypeOf(await job.output.first()).toEqualTypeOf<OutputMessage<{ pieces: number; note: string }> | undefined>();
  // @ts-expect-error bad job option value
  await chop.enqueueJob({ liveEnv: env, jobOptions: { size: "huge", mult: 1 } });
  // chop's jobOptions schema has a required field (mult): leaving the options out is a type error, as it is a ValidationError at run time.
  // @ts-expect-error jobOptions required
  await chop.enqueueJob({ liveEnv: env });
  // @ts-expect-error jobOptions required, so the options argument is too
  await chop.enqueueJob();
  // @ts-expect-error jobOptions required by enqueueAndGetResult too
  await chop.enqueueAndGetResult({ liveEnv: env, input: { veg: "kale" } });
  // Every field defaulted or optional: the options may be left out.
  const relaxed = JobSpec.define({ name: "relaxed", input: z.number(), jobOptions: z.object({ size: z.string().default("fine") }) });
  await relaxed.enqueueJob();
  await relaxed.enqueueJob({ liveEnv: env, jobOptions: { size: "coarse" } });
  // @ts-expect-error unknown output tag on the handle
  job.output("nope");
  // @ts-expect-error unknown tag handle on the spec
  void chop.output.typo;

  const pot = await soup.enqueueJob({ liveEnv: env });
  expectTypeOf(pot.input("veg").feed).parameter(0).toEqualTypeOf<{ grams: number }>();
  expectTypeOf(pot.input("spice").feed).parameter(0).toEqualTypeOf<string>();
  // @ts-expect-error no default input tag on the handle
  await pot.input.feed({ grams: 1 });
  // @ts-expect-error unknown input tag on the handle
  pot.input("nope");

  const vb = await valibotSpec.enqueueJob({ liveEnv: env });
  expectTypeOf(vb.input.feed).parameter(0).toEqualTypeOf<{ a: string }>();

  // enqueueAndGetResult checks its input, options and outputTag (its result `data` is not typed yet)
  await chop.enqueueAndGetResult({ liveEnv: env, input: { veg: "kale" }, jobOptions: { mult: 1 }, outputTag: "waste" });
  // @ts-expect-error bad input shape
  await chop.enqueueAndGetResult({ liveEnv: env, input: { veg: 1 }, jobOptions: { mult: 1 } });
  // @ts-expect-error unknown outputTag
  await soup.enqueueAndGetResult({ liveEnv: env, outputTag: "nope" });
}

// The DESIGN.md "Public API" sketch, verbatim apart from the env argument. Never called.
async function designContract(env: LiveEnv) {
  const chop = JobSpec.define({
    name: "chop",
    jobOptions: z.object({ size: z.enum(["fine", "coarse"]) }),
    input: z.object({ veg: z.string() }),
    output: { default: z.object({ pieces: z.number() }), waste: z.object({ grams: z.number() }) },
  });
  chop.defineWorker({
    liveEnv: env,
    concurrency: 2,
    init: async ({ jobId, logger, signal }) => (void [jobId, logger, signal], { knife: "sharp" }),
    processor: async ({ input, output, jobOptions, jobId, logger, signal, resources, heartbeat }) => {
      void [jobOptions, jobId, logger, signal, resources, heartbeat];
      for await (const { veg } of input) await output.emit({ pieces: veg.length });
      await output("waste").emit({ grams: 3 });
    },
    retry: { maxRestarts: 3, withinMs: 60_000, backoff: { initialMs: 100, maxMs: 30_000, factor: 2, jitter: 0.2 } },
    timeouts: { initMs: 10_000, heartbeatMs: undefined, stopMs: 5_000 },
  });
  const job = await chop.enqueueJob({ liveEnv: env, jobOptions: { size: "fine" } });
  await job.input.feed({ veg: "leek" });
  await job.input.terminate();
  for await (const { data } of job.output) void data;
  await job.waitUntilFinish();
  expectTypeOf(job.jobId).toEqualTypeOf<string>();
  expectTypeOf(job.status).toEqualTypeOf<"queued" | "running" | "completed" | "failed" | "cancelled">();
  await job.cancel("reason");
  const r = await chop.enqueueAndGetResult({ liveEnv: env, input: { veg: "kale" }, jobOptions: { size: "fine" } });
  expectTypeOf(r.timestamp).toEqualTypeOf<number>();
  await env.close();
}

describe("type inference (compile-time)", () => {
  it("workerTestCases types an inline processor from the spec", () => {
    const cases = workerTestCases(chop, {
      processor: async ({ input, output }) => {
        for await (const message of input) expectTypeOf(message).toEqualTypeOf<{ veg: number }>();
        await output.emit({ pieces: 1 });
      },
    }, { sampleInput: [{ veg: "a" }] });
    expectTypeOf(cases[0]!.run).returns.toEqualTypeOf<Promise<void>>();
  });

  it("compiles the processor, handle and DESIGN contract checks", () => {
    expectTypeOf(processors).toBeFunction();
    expectTypeOf(handles).toBeFunction();
    expectTypeOf(designContract).toBeFunction();
  });
});
