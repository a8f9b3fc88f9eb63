import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobSpec, Liveflow, conn, expose } from "../src/index.js";
import { queueKeyOf } from "../src/job/JobPlan.js";
import { collect, settle, track } from "./helpers/collect.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";

afterEach(closeAll);

describe("backpressure meets cancel and flows", () => {
  it("cancel wakes a processor blocked in emit by a slow reader (like a blocked read), without waiting stopMs", async () => {
    // SimulatedClock never advances here: only waking the blocked emit can end the attempt.
    const { env, clock } = createTestEnv({ streams: { highWaterMark: 2 } });
    const spec = JobSpec.define({ name: "bp-blocked-emit", output: z.number() });
    const blocked = deferred();
    let emitOutcome: unknown = "still pending";
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ output }) => {
        for (let i = 0; ; i++) {
          const p = output.emit(i);
          if (i === 2) blocked.resolve();
          try {
            await p;
          } catch (error) {
            emitOutcome = error;
            return;
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    // A reader that attached (holds a cursor) and reads one message, then is slow.
    const iterator = job.output[Symbol.asyncIterator]();
    await iterator.next();
    await blocked.promise;
    const cancelled = track(job.cancel("stop it"));
    await settle(20);
    try {
      // The blocked emit rejects (attempt fenced) and the job is cancelled at once, as a
      // processor blocked on a read is woken (test/cancellation.test.ts): no wait for stopMs.
      expect(cancelled.settled).toBe(true);
      expect(job.status).toBe("cancelled");
      expect(emitOutcome).toBeInstanceOf(Error);
    } finally {
      clock.increment(10_000); // let the stop timeout release the job so afterEach can close the env
      await settle();
      await iterator.return?.();
    }
  });

  it("a flow completes when a downstream node returns early (it must not pin its input and stall upstream)", async () => {
    const { env, clock } = createTestEnv({ streams: { highWaterMark: 2 } });
    const source = JobSpec.define({ name: "bp-src", input: z.number(), output: z.number() });
    const head = JobSpec.define({ name: "bp-head", input: z.number(), output: z.number() });
    source.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) for (let i = 0; i < 10; i++) await output.emit(n * 100 + i);
      },
    });
    head.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        // Takes the first message only, like `first()`, then is done.
        for await (const n of input) {
          await output.emit(n);
          return;
        }
      },
    });
    const flow = Liveflow.define({
      name: "bp-early-return",
      connections: [conn({ from: source, to: head })],
      exposures: [expose(source.input.default, "in"), expose(head.output.default, "out")],
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const out = collect(job.output("out"));
    await job.input("in").feed(1);
    await job.input("in").terminate();
    const finished = track(job.waitUntilFinish());
    await settle(30);
    // "head" returned early: its inputs close, so the wire into it stops instead of filling
    // up to the high-water mark and blocking source's emit forever.
    try {
      expect(finished.settled).toBe(true);
      expect(job.status).toBe("completed");
      expect(await out).toEqual([100]);
    } finally {
      // The blocked emit also holds env.close() for stopMs: cancel, then let the stop timeout fire.
      void job.cancel();
      await settle();
      clock.increment(10_000);
      await settle();
    }
  });
});

describe("the scheduler and cancelled queued jobs", () => {
  it("a job cancelled while queued is dropped from its queue (not retained until it reaches the head)", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "bp-queued-leak", input: z.number() });
    const hold = deferred();
    spec.defineWorker({ liveEnv: env, concurrency: 1, processor: async () => hold.promise });
    const running = await spec.enqueueJob({ liveEnv: env });
    const queued = [];
    for (let i = 0; i < 5; i++) queued.push(await spec.enqueueJob({ liveEnv: env }));
    // All but the head of the FIFO are cancelled (think: callers timing out while waiting).
    for (const job of queued.slice(1)) await job.cancel("timeout");
    expect(queued.slice(1).every((j) => j.status === "cancelled")).toBe(true);
    expect(env.liveJobCount).toBe(2);
    // Cancelled jobs (their streams, buffered input, stopped actors) leave the FIFO without
    // waiting to reach its head: it holds at most twice the jobs still queued.
    const fifo = (env as any).backend.jobs.queues.get(queueKeyOf("spec", spec.name));
    try {
      expect(fifo.size).toBeLessThanOrEqual(2);
    } finally {
      hold.resolve();
    }
    await running.waitUntilFinish();
    await queued[0]!.waitUntilFinish();
    await expect(queued[1]!.waitUntilFinish()).rejects.toBeInstanceOf(JobCancelledError);
  });
});
