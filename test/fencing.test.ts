import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { AttemptAbandonedError, JobSpec, type LifecycleEvent } from "../src/index.js";
import { collect } from "./helpers/collect.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, deferred, FAST_RETRY, nextEvent } from "./helpers/env.js";
import { flushMicrotasks } from "./helpers/drive.js";

afterEach(closeAll);

let specCount = 0;
const numbersSpec = () => JobSpec.define({ name: `fencing-${++specCount}`, input: z.number(), output: z.number() });

const STALE = 999;

describe("fencing of abandoned attempts", () => {
  it("a stalled attempt that wakes up and emits never gets its emit delivered", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = numbersSpec();
    const wake = deferred();
    const staleEmit = deferred<unknown>();
    let staleSignal: AbortSignal | undefined;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      timeouts: { heartbeatMs: 500 },
      processor: async ({ input, output, attempt, signal }) => {
        for await (const n of input) {
          if (attempt === 1) {
            staleSignal = signal;
            // Stuck in something that ignores the signal, then comes back.
            await wake.promise;
            await output.emit(STALE).then(
              () => staleEmit.resolve("delivered"),
              (error: unknown) => staleEmit.resolve(error),
            );
            await output("default").emit(STALE).catch(() => {});
            return;
          }
          await output.emit(n);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const seenByReader = collect(job.output);
    const secondRunning = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.attempt === 2);
    await job.input.feed(1);
    await job.input.feed(2);
    // Attempt 1 is stuck on message 1 (on a shared backend it gets there after round trips) before the clock moves.
    await expect.poll(() => staleSignal).toBeDefined();
    await flushMicrotasks();
    clock.increment(500);
    await secondRunning;
    await flushMicrotasks();
    expect(staleSignal!.aborted).toBe(true);
    expect(staleSignal!.reason).toBeInstanceOf(AttemptAbandonedError);
    expect(staleSignal!.reason).toMatchObject({ attempt: 1, code: "ATTEMPT_ABANDONED" });
    // Attempt 2 is live and waiting for input while the stale attempt emits.
    wake.resolve();
    const outcome = await staleEmit.promise;
    expect(outcome).toBeInstanceOf(AttemptAbandonedError);
    await job.input.feed(3);
    await job.input.terminate();
    await job.waitUntilFinish();
    const all = await seenByReader;
    expect(all).toEqual([1, 2, 3]);
    expect(await collect(job.output)).not.toContain(STALE);
  });

  it("background work of an attempt that threw cannot emit after the restart", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = numbersSpec();
    const later = deferred();
    const staleEmit = deferred<unknown>();
    const restarted = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.attempt === 2);
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      processor: async ({ input, output, attempt, signal }) => {
        if (attempt === 1) {
          // A fire-and-forget task that outlives the processor's own promise.
          void later.promise.then(() =>
            output.emit(STALE).then(
              () => staleEmit.resolve({ delivered: true, aborted: signal.aborted }),
              (error: unknown) => staleEmit.resolve(error),
            ),
          );
          throw new Error("crash with work left behind");
        }
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const reader = collect(job.output);
    await restarted;
    later.resolve();
    expect(await staleEmit.promise).toBeInstanceOf(AttemptAbandonedError);
    await job.input.feed(7);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(await reader).toEqual([7]);
  });

  it("an init that finishes after its timeout does not hand its resources to a later attempt", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = numbersSpec();
    const lateInit = deferred();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      timeouts: { initMs: 100 },
      init: async ({ attempt }) => {
        if (attempt === 1) {
          await lateInit.promise;
          return { tag: 100 };
        }
        return { tag: attempt };
      },
      processor: async ({ input, output, resources }) => {
        for await (const n of input) await output.emit(n + resources.tag);
      },
    });
    const initializing = nextEvent(env, (e) => e.type === "worker.state" && e.state === "initializing" && e.attempt === 1);
    const job = await spec.enqueueJob({ liveEnv: env });
    const reader = collect(job.output);
    const secondRunning = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.attempt === 2);
    // The init timer is armed once the job starts (on a shared backend, after round trips).
    await initializing;
    await flushMicrotasks();
    clock.increment(100);
    await secondRunning;
    lateInit.resolve();
    await flushMicrotasks();
    await job.input.feed(1);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(await reader).toEqual([3]);
  });
});
