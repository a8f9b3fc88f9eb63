import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobFailedError, JobSpec, UnrecoverableError } from "../src/index.js";
import { settle, track } from "./helpers/collect.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

/** What the README promises of `output.first()` / `output("tag").first()`. */
describe("output.first()", () => {
  const numbers = (name: string) => JobSpec.define({ name, input: z.number(), output: { default: z.number(), side: z.string() } });

  it("waits for the first message of a running job, and resolves with it ({ data, timestamp })", async () => {
    const { env } = createTestEnv();
    const spec = numbers("first-waits");
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * 10);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const first = track(job.output.first());
    await settle();
    expect(first.settled).toBe(false);
    await job.input.feed(4);
    expect(await first.promise).toEqual({ data: 40, timestamp: expect.any(Number) });
    await job.input.feed(5);
    // A fresh reader each call: the oldest kept message again, not the next one.
    expect((await job.output.first())?.data).toBe(40);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect((await job.output.first())?.data).toBe(40);
  });

  it("resolves undefined when the output ends with no message (the job completed without emitting on that tag)", async () => {
    const { env } = createTestEnv();
    const spec = numbers("first-none");
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const pending = job.output("side").first();
    await job.input.feed(1);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(await pending).toBeUndefined();
    expect(await job.output("side").first()).toBeUndefined();
    expect((await job.output.first())?.data).toBe(1);
  });

  it("rejects with the job's JobFailedError when a failed job's output holds no message", async () => {
    const { env } = createTestEnv();
    const spec = numbers("first-failed");
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        for await (const n of input) throw new UnrecoverableError(`cannot take ${n}`);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const waiting = job.output.first().catch((error: unknown) => error);
    await job.input.feed(1);
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expectSameError(await waiting, error);
    expectSameError(await job.output.first().then(() => undefined, (e: unknown) => e), error);
  });

  it("resolves with the oldest kept message even when the job then failed (kept messages are read before the error)", async () => {
    const { env } = createTestEnv();
    const spec = numbers("first-failed-after-emit");
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) {
          await output.emit(n);
          throw new UnrecoverableError("after one emit");
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.feed(7);
    await expect(job.waitUntilFinish()).rejects.toBeInstanceOf(JobFailedError);
    expect((await job.output.first())?.data).toBe(7);
  });

  it("rejects with JobCancelledError when the job is cancelled before any message", async () => {
    const { env } = createTestEnv();
    const spec = numbers("first-cancelled");
    const started = deferred();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        started.resolve();
        for await (const _ of input);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const waiting = job.output.first().catch((error: unknown) => error);
    await started.promise;
    await job.cancel("changed my mind");
    const error = await waiting;
    expect(error).toBeInstanceOf(JobCancelledError);
    expect((error as JobCancelledError).reason).toBe("changed my mind");
  });
});
