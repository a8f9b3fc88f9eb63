import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, NoOutputError, UnknownTagError, UnrecoverableError, ValidationError } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

let counter = 0;

describe("spec.enqueueAndGetResult", () => {
  it("returns the last default output as { data, timestamp }", async () => {
    const { env, clock } = createTestEnv();
    clock.set(1_000);
    const chop = JobSpec.define({
      name: `chop-${++counter}`,
      input: z.object({ veg: z.string() }),
      output: { default: z.object({ pieces: z.number() }), waste: z.object({ grams: z.number() }) },
      jobOptions: z.object({ size: z.enum(["fine", "coarse"]) }),
    });
    chop.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, jobOptions }) => {
        for await (const { veg } of input) {
          await output.emit({ pieces: veg.length });
          clock.increment(5);
          await output.emit({ pieces: veg.length * (jobOptions.size === "fine" ? 10 : 2) });
        }
        await output("waste").emit({ grams: 3 });
      },
    });
    const result = await chop.enqueueAndGetResult({ liveEnv: env, input: { veg: "kale" }, jobOptions: { size: "fine" } });
    expect(result).toEqual({ data: { pieces: 40 }, timestamp: 1_005 });
    const waste = await chop.enqueueAndGetResult({
      liveEnv: env,
      input: { veg: "leek" },
      jobOptions: { size: "coarse" },
      outputTag: "waste",
    });
    expect(waste.data).toEqual({ grams: 3 });
  });

  it("rejects with the job's error when the job fails", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `fails-${++counter}`, input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async () => {
        throw new UnrecoverableError("burnt");
      },
    });
    const error = await spec.enqueueAndGetResult({ liveEnv: env, input: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(UnrecoverableError);
  });

  it("rejects invalid input with the ValidationError and starts no job", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `strict-${++counter}`, input: z.number(), output: z.number() });
    let ran = false;
    spec.defineWorker({ liveEnv: env, processor: async () => void (ran = true) });
    const error = await spec.enqueueAndGetResult({ liveEnv: env, input: "one" as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/Invalid input "default"/);
    expect(ran).toBe(false);
    expect(env.liveJobCount).toBe(0);
  });

  it("rejects with NoOutputError when the job emitted nothing", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `silent-${++counter}`, input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        for await (const _ of input);
      },
    });
    const error = await spec.enqueueAndGetResult({ liveEnv: env, input: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoOutputError);
    expect((error as Error).message).toMatch(/without emitting on output "default"/);
  });

  it("rejects an unknown output tag with UnknownTagError", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `tags-${++counter}`, output: z.number() });
    await expect(spec.enqueueAndGetResult({ liveEnv: env, outputTag: "nope" as never })).rejects.toBeInstanceOf(UnknownTagError);
    expect(env.liveJobCount).toBe(0);
  });

  it("validates its input once: the processor gets that validation's output", async () => {
    const { env } = createTestEnv();
    let validations = 0;
    const counted = z.number().transform((n) => {
      validations++;
      return n * 2;
    });
    const spec = JobSpec.define({ name: `once-${++counter}`, input: counted, output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const { data } = await spec.enqueueAndGetResult({ liveEnv: env, input: 21 });
    expect(data).toBe(42);
    expect(validations).toBe(1);
  });
});
