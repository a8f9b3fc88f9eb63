import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobFailedError, JobSpec, UnrecoverableError, type LiveJob } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";
import { suiteBackend } from "./helpers/backends.js";

afterEach(closeAll);

/** What reading the whole output ends with: the error it throws. */
async function readerError(job: LiveJob<unknown, { default: z.ZodNumber }>): Promise<unknown> {
  try {
    for await (const _ of job.output);
  } catch (error) {
    return error;
  }
  throw new Error("the reader ended without the job's error");
}

/**
 * Each receiver gets the job's error as its backend delivers it: the very
 * object without copies; with copies (as between processes) a copy of its
 * own, so what one receiver does to its error no other one sees.
 */
function expectDelivered(received: unknown[], expected: unknown): void {
  for (const error of received) expectSameError(error, expected);
  if (suiteBackend().copies) expect(new Set(received).size).toBe(received.length);
}

describe("each reader of a failed or cancelled job throws the job's error, as its backend delivers it", () => {
  it("a failed job: every reader and the waiter", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "burnt", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async () => {
        throw new UnrecoverableError("oven on fire");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const [first, second, waited] = await Promise.all([readerError(job), readerError(job), job.waitUntilFinish().catch((e: unknown) => e)]);
    expect(waited).toBeInstanceOf(JobFailedError);
    expect(first).toBeInstanceOf(JobFailedError);
    expectDelivered([first, second, waited], waited);
  });

  it("a job cancelled while it runs", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "stirred", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        for await (const _ of input);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const readers = [readerError(job), readerError(job)];
    await job.cancel("no more soup");
    const [first, second] = await Promise.all(readers);
    const waited = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(JobCancelledError);
    expectDelivered([first, second, waited], waited);
  });

  it("a job cancelled while queued (it never ran)", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "never-cooked", input: z.number(), output: z.number() });
    const job = await spec.enqueueJob({ liveEnv: env });
    const readers = [readerError(job), readerError(job)];
    await job.cancel("kitchen closed");
    const [first, second] = await Promise.all(readers);
    const waited = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(JobCancelledError);
    expectDelivered([first, second, waited], waited);
  });
});
