import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, Liveflow, conn, expose } from "../src/index.js";
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
    try {
      // The blocked emit rejects (attempt fenced) and the job is cancelled at once, as a
      // processor blocked on a read is woken (test/cancellation.test.ts): no wait for stopMs,
      // which the simulated clock never reaches.
      await expect.poll(() => cancelled.settled, { timeout: 5_000 }).toBe(true);
      await expect.poll(() => job.status, { timeout: 5_000 }).toBe("cancelled");
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
    // "head" returned early: its inputs close, so the wire into it stops instead of filling
    // up to the high-water mark and blocking source's emit forever (the simulated clock never
    // advances: no timeout ends the job).
    try {
      await expect.poll(() => finished.settled, { timeout: 5_000 }).toBe(true);
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
