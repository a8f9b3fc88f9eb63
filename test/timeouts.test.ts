import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AttemptAbandonedError,
  JobCancelledError,
  JobFailedError,
  JobSpec,
  TimeoutError,
  type LifecycleEvent,
} from "../src/index.js";
import { collect, track } from "./helpers/collect.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, FAST_RETRY, nextEvent } from "./helpers/env.js";
import { advanceBy, driveUntilSettled, flushMicrotasks } from "./helpers/drive.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

let specCount = 0;
const numbersSpec = () =>
  JobSpec.define({ name: `timeouts-${++specCount}`, input: z.number(), output: z.number() });

/** A promise that never settles: a processor stuck in I/O that ignores its signal. */
const forever = () => new Promise<never>(() => {});

const isState = (state: string, attempt?: number) => (e: LifecycleEvent) =>
  e.type === "worker.state" && e.state === state && (attempt === undefined || e.attempt === attempt);

describe("timeouts.initMs", () => {
  it("an init that exceeds initMs fails the attempt with TimeoutError kind init, and the next attempt runs", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const restarts: LifecycleEvent[] = [];
    env.subscribe((e) => e.type === "worker.restart" && restarts.push(e));
    const spec = numbersSpec();
    const initSignals: AbortSignal[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      timeouts: { initMs: 1_000 },
      init: async ({ attempt, signal }) => {
        initSignals.push(signal);
        if (attempt === 1) await forever();
        return { factor: 10 };
      },
      processor: async ({ input, output, resources }) => {
        for await (const n of input) await output.emit(n * resources.factor);
      },
    });
    const initializing = nextEvent(env, isState("initializing", 1));
    const job = await spec.enqueueJob({ liveEnv: env });
    await initializing;
    await flushMicrotasks();
    clock.increment(999);
    await flushMicrotasks();
    expect(restarts).toHaveLength(0);
    clock.increment(1);
    await nextEvent(env, isState("executing", 2));
    expect(restarts).toHaveLength(1);
    const restart = restarts[0] as Extract<LifecycleEvent, { type: "worker.restart" }>;
    expect(restart.attempt).toBe(1);
    expect(restart.error).toMatchObject({ name: "TimeoutError", kind: "init", ms: 1_000 });
    expect(initSignals[0]!.aborted).toBe(true);
    expect(initSignals[0]!.reason).toBeInstanceOf(AttemptAbandonedError);
    await job.input.feed(1);
    await job.input.feed(2);
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([10, 20]);
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });

  it("when every init times out, the job fails with the TimeoutError as cause", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbersSpec();
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 2, backoff: { initialMs: 10, factor: 1, jitter: 0 } },
      timeouts: { initMs: 100 },
      init: () => forever(),
      processor: async () => {},
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const finished = job.waitUntilFinish();
    // The clock steps once the job runs (on a shared backend it starts after round trips).
    await expect.poll(() => job.status).not.toBe("queued");
    await driveUntilSettled(clock, finished, { stepMs: 10, maxSteps: 200 });
    const error = await finished.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(TimeoutError);
    expect((error as JobFailedError).cause).toMatchObject({ kind: "init", ms: 100 });
    expect((error as JobFailedError).restarts).toHaveLength(2);
    expect(job.status).toBe("failed");
  });
});

describe("timeouts.heartbeatMs", () => {
  it("a processor that stops pulling, emitting and heartbeating is stalled, fails, and the next attempt resumes", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const restarts: Array<Extract<LifecycleEvent, { type: "worker.restart" }>> = [];
    env.subscribe((e) => e.type === "worker.restart" && restarts.push(e));
    const spec = numbersSpec();
    const seen: Array<[attempt: number, n: number]> = [];
    let firstSignal: AbortSignal | undefined;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      timeouts: { heartbeatMs: 500 },
      processor: async ({ input, output, attempt, signal }) => {
        if (attempt === 1) firstSignal = signal;
        for await (const n of input) {
          seen.push([attempt, n]);
          if (attempt === 1 && n === 2) await forever();
          await output.emit(n);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    for (const n of [1, 2, 3]) await job.input.feed(n);
    await job.input.terminate();
    // The attempt reaches message 2 once its input arrives (on a shared backend, after round trips).
    await expect.poll(() => seen).toEqual([[1, 1], [1, 2]]);
    clock.increment(499);
    await flushMicrotasks();
    expect(restarts).toHaveLength(0);
    expect(firstSignal!.aborted).toBe(false);
    clock.increment(1);
    await job.waitUntilFinish();
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!.error).toMatchObject({ name: "TimeoutError", kind: "heartbeat", ms: 500 });
    expect(firstSignal!.reason).toBeInstanceOf(AttemptAbandonedError);
    // Message 2 was handed out but never acknowledged: attempt 2 gets it again.
    expect(seen).toEqual([[1, 1], [1, 2], [2, 2], [2, 3]]);
    expect(await collect(job.output)).toEqual([1, 2, 3]);
  });

  it("heartbeat() keeps a long, quiet processor alive; the same processor without it is stalled", async () => {
    const run = async (beats: boolean) => {
      const { env, clock } = createTestEnv();
      const events: LifecycleEvent[] = [];
      env.subscribe((e) => events.push(e));
      autoAdvanceBackoff(env, clock);
      const spec = numbersSpec();
      spec.defineWorker({
        liveEnv: env,
        retry: { ...FAST_RETRY, maxRestarts: 1 },
        timeouts: { heartbeatMs: 500 },
        processor: async ({ output, heartbeat }) => {
          // 2 s of work in 200 ms slices, four times the heartbeat window.
          for (let slice = 0; slice < 10; slice++) {
            await new Promise((resolve) => clock.setTimeout(resolve, 200));
            if (beats) heartbeat();
          }
          await output.emit(42);
        },
      });
      const job = await spec.enqueueJob({ liveEnv: env });
      const finished = job.waitUntilFinish();
      await expect.poll(() => job.status).not.toBe("queued"); // on a shared backend it starts after round trips
      await driveUntilSettled(clock, finished, { stepMs: 50, maxSteps: 500 });
      const error = await finished.catch((e: unknown) => e);
      // Events may arrive after the outcome (a backend across processes): the job's final status is its last event.
      await expect.poll(() => events.some((e) => e.type === "job.status" && (e.status === "completed" || e.status === "failed"))).toBe(true);
      return { job, restarts: events.filter((e) => e.type === "worker.restart"), error };
    };
    const alive = await run(true);
    expect(alive.error).toBeUndefined();
    expect(alive.restarts).toHaveLength(0);
    expect(await collect(alive.job.output)).toEqual([42]);

    const stalled = await run(false);
    expect(stalled.error).toBeInstanceOf(JobFailedError);
    expect((stalled.error as JobFailedError).cause).toMatchObject({ kind: "heartbeat" });
    expect(stalled.restarts).toHaveLength(1);
  });
});

describe("timeouts.jobMs", () => {
  it("fails the whole job, restarts included, with JobFailedError caused by TimeoutError kind job", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbersSpec();
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 100, backoff: { initialMs: 300, factor: 1, jitter: 0 } },
      timeouts: { jobMs: 1_000, stopMs: 50 },
      processor: async ({ input }) => {
        attempts++;
        for await (const n of input) if (n < 0) throw new Error("negative");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const finished = track(job.waitUntilFinish());
    // The job's timer is armed when it starts (on a shared backend, after round trips): only then does the clock count.
    await expect.poll(() => job.status).toBe("running");
    const restarting = nextEvent(env, (e) => e.type === "worker.restart");
    await job.input.feed(-1);
    // Attempt 1 reads -1 and fails (on a shared backend the input arrives after round trips; the clock stands still meanwhile).
    await restarting;
    await advanceBy(clock, 999);
    expect(finished.settled).toBe(false);
    expect(job.status).toBe("running");
    clock.increment(1);
    await driveUntilSettled(clock, finished.promise, { stepMs: 10, maxSteps: 100 });
    const error = await finished.promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    const cause = (error as JobFailedError).cause;
    expect(cause).toBeInstanceOf(TimeoutError);
    expect(cause).toMatchObject({ kind: "job", ms: 1_000 });
    expect(attempts).toBeGreaterThan(1);
    expect(job.status).toBe("failed");
    expectSameError(await collect(job.output).then(() => undefined, (e: unknown) => e), error);
  });
});

describe("timeouts.stopMs", () => {
  it("on cancel, a processor that ignores its signal is abandoned after stopMs and the job settles cancelled", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbersSpec();
    let signal: AbortSignal | undefined;
    let started = false;
    spec.defineWorker({
      liveEnv: env,
      timeouts: { stopMs: 2_000 },
      processor: async (context) => {
        signal = context.signal;
        started = true;
        await forever();
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await expect.poll(() => started).toBe(true);
    const cancelled = track(job.cancel("user changed their mind"));
    const finished = track(job.waitUntilFinish());
    // The cancel reaches the attempt where it runs (on a shared backend, after round trips).
    await expect.poll(() => signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(AttemptAbandonedError);
    clock.increment(1_999);
    await flushMicrotasks();
    expect(finished.settled).toBe(false);
    expect(job.status).toBe("running");
    clock.increment(1);
    await cancelled.promise;
    const error = await finished.promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobCancelledError);
    expect((error as JobCancelledError).reason).toBe("user changed their mind");
    expect(job.status).toBe("cancelled");
    expect(env.liveJobCount).toBe(0);
  });

  it("a processor waiting for input stops at once on cancel, without waiting for stopMs", async () => {
    const { env } = createTestEnv();
    const spec = numbersSpec();
    let started = false;
    spec.defineWorker({
      liveEnv: env,
      timeouts: { stopMs: 60_000 },
      processor: async ({ input }) => {
        started = true;
        for await (const n of input) void n;
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await expect.poll(() => started).toBe(true);
    // No clock advance: the wait for input must observe the signal.
    await job.cancel();
    expect(job.status).toBe("cancelled");
  });
});
