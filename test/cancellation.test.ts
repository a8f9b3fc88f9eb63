import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobSpec } from "../src/index.js";
import { collect, collectUntilError, settle } from "./helpers/collect.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

let counter = 0;
const numbers = () => JobSpec.define({ name: `cancel-${++counter}`, input: z.number(), output: z.number() });

describe("cancellation", () => {
  it("cancelling a running job aborts the processor's signal; readers and waitUntilFinish reject with JobCancelledError", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    const started = deferred();
    let signalReason: unknown;
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, signal }) => {
        signal.addEventListener("abort", () => (signalReason = signal.reason));
        started.resolve();
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const reader = collect(job.output).catch((e: unknown) => e);
    await job.input.feed(1);
    await started.promise;
    await job.cancel("customer left");
    expect(job.status).toBe("cancelled");
    expect(signalReason).toBeDefined();
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobCancelledError);
    expect((error as JobCancelledError).reason).toBe("customer left");
    expect((error as JobCancelledError).jobId).toBe(job.jobId);
    expectSameError(await reader, error);
    await expect(collect(job.output)).rejects.toBeInstanceOf(JobCancelledError);
  });

  it("a processor that ignores its signal but waits for input still stops on cancel", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    const started = deferred();
    let loopEnded = false;
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        started.resolve();
        try {
          for await (const _ of input);
        } finally {
          loopEnded = true;
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await started.promise;
    // Under the simulated clock the stop timeout never fires: only waking the read can end the attempt.
    await job.cancel();
    expect(job.status).toBe("cancelled");
    expect(loopEnded).toBe(true);
  });

  it("cancelling a queued job: it never runs, its readers reject, its input is closed", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    const job = await spec.enqueueJob({ liveEnv: env });
    expect(job.status).toBe("queued");
    const reader = collect(job.output).catch((e: unknown) => e);
    await job.cancel("changed my mind");
    expect(job.status).toBe("cancelled");
    expect(await reader).toBeInstanceOf(JobCancelledError);
    await expect(job.waitUntilFinish()).rejects.toBeInstanceOf(JobCancelledError);
    await expect(job.input.feed(1)).rejects.toThrow(/Cannot write/);
    let ran = false;
    spec.defineWorker({ liveEnv: env, processor: async () => void (ran = true) });
    await settle();
    expect(ran).toBe(false);
  });

  it("cancelling a completed job changes nothing", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.feed(5);
    await job.input.terminate();
    await job.waitUntilFinish();
    await job.cancel("too late");
    expect(job.status).toBe("completed");
    await expect(job.waitUntilFinish()).resolves.toBeUndefined();
    expect(await collect(job.output)).toEqual([5]);
  });

  it("emits after the signal aborted are never delivered", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    const started = deferred();
    const lateEmit = deferred<unknown>();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ output, signal }) => {
        await output.emit(1);
        started.resolve();
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        // A stale processor tries to keep going.
        lateEmit.resolve(await output.emit(2).then(() => "delivered", (e: unknown) => e));
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const reader = collectUntilError(job.output);
    await started.promise;
    await job.cancel();
    expect(await lateEmit.promise).toBeInstanceOf(Error);
    expect(await reader).toEqual({ data: [1], error: expect.any(JobCancelledError) });
    await settle();
    // A reader attached afterwards sees the same history: the late emit left no trace.
    expect(await collectUntilError(job.output)).toEqual({ data: [1], error: expect.any(JobCancelledError) });
  });
});
