/**
 * Issue 11 §2: `init` and the processor of one attempt share one signal,
 * which aborts when the attempt fails or is abandoned (restart, heartbeat
 * timeout, cancel, `env.close()`); `dispose` runs once after every attempt
 * whose `init` returned, bounded by `timeouts.stopMs`, never retried.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { SimulatedClock } from "xstate";
import { JobSpec, Liveflow, conn, expose, type DisposeOutcome, type LiveEnv, type Logger } from "../src/index.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";
import { driveUntilSettled } from "./helpers/drive.js";

afterEach(closeAll);

let specCount = 0;
const numbers = () => JobSpec.define({ name: `attempt-signal-${++specCount}`, input: z.number(), output: z.number() });
const NO_BACKOFF = { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 };

/** Waits until a job has started (on a shared backend, after round trips): the simulated clock is stepped from then. */
const untilStarted = (job: { readonly status: string }) => expect.poll(() => job.status).not.toBe("queued");

/** A logger that keeps what is logged at warn and error. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug() {}, info() {}, warn: (m) => void lines.push(`warn: ${m}`), error: (m) => void lines.push(`error: ${m}`) };
}

/** Runs a worker whose init keeps its signal; returns when each init's signal aborted (by attempt). */
function initSignals() {
  const signals = new Map<number, AbortSignal>();
  const init = ({ signal, attempt }: { signal: AbortSignal; attempt: number }) => {
    signals.set(attempt, signal);
    return { attempt };
  };
  return { signals, init };
}

describe("one attempt, one signal", () => {
  it("init's signal is the processor's, and aborts when the processor fails (restart)", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const { signals, init } = initSignals();
    const processorSignals: AbortSignal[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: NO_BACKOFF },
      init,
      processor: async ({ signal, attempt }) => {
        processorSignals.push(signal);
        if (attempt === 1) throw new Error("first attempt fails");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    expect(processorSignals[0]).toBe(signals.get(1));
    expect(signals.get(1)!.aborted).toBe(true);
    // The attempt that returned normally keeps its signal unaborted.
    expect(signals.get(2)!.aborted).toBe(false);
  });

  it("init's signal aborts on a heartbeat timeout, on cancel and on env.close()", async () => {
    const { env, clock } = createTestEnv();
    const { signals, init } = initSignals();
    const stall = numbers();
    stall.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 0 },
      timeouts: { heartbeatMs: 100 },
      init,
      processor: () => new Promise(() => {}),
    });
    const stalled = await stall.enqueueJob({ liveEnv: env });
    // Each job's attempt is under way (its init ran: on a shared backend, after round trips) before the clock moves, or it is cancelled, or closed.
    await expect.poll(() => signals.has(1)).toBe(true);
    await driveUntilSettled(clock, stalled.waitUntilFinish(), { stepMs: 50, maxSteps: 10 }).catch(() => {});
    expect(stalled.status).toBe("failed");
    expect(signals.get(1)!.aborted).toBe(true);

    const cancelSignals = initSignals();
    const cancelled = numbers();
    cancelled.defineWorker({ liveEnv: env, init: cancelSignals.init, processor: ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))) });
    const job = await cancelled.enqueueJob({ liveEnv: env });
    await expect.poll(() => cancelSignals.signals.has(1)).toBe(true);
    await job.cancel("enough");
    expect(cancelSignals.signals.get(1)!.aborted).toBe(true);

    const closeSignals = initSignals();
    const closing = numbers();
    closing.defineWorker({ liveEnv: env, init: closeSignals.init, processor: ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))) });
    await closing.enqueueJob({ liveEnv: env });
    await expect.poll(() => closeSignals.signals.has(1)).toBe(true);
    await env.close();
    expect(closeSignals.signals.get(1)!.aborted).toBe(true);
  });
});

describe("dispose", () => {
  async function run(env: LiveEnv, clock: SimulatedClock, options: { processor: (attempt: number) => Promise<void>; maxRestarts?: number }) {
    const spec = numbers();
    const log: string[] = [];
    const expected = { jobId: "" };
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: options.maxRestarts ?? 2, backoff: NO_BACKOFF },
      init: ({ attempt }) => {
        log.push(`init ${attempt}`);
        return { handle: `h${attempt}` };
      },
      processor: ({ attempt }) => options.processor(attempt),
      dispose: ({ resources, attempt, outcome, jobId }) => {
        log.push(`dispose ${attempt} ${outcome} ${resources.handle} ${jobId === expected.jobId}`);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    expected.jobId = job.jobId;
    await driveUntilSettled(clock, job.waitUntilFinish());
    return { log, job };
  }

  it("runs once per attempt whose init returned, with the outcome, before the next init and before the job is final", async () => {
    const { env, clock } = createTestEnv();
    const { log, job } = await run(env, clock, {
      processor: async (attempt) => {
        if (attempt < 3) throw new Error(`attempt ${attempt} fails`);
      },
    });
    expect(job.status).toBe("completed");
    expect(log).toEqual(["init 1", "dispose 1 failed h1 true", "init 2", "dispose 2 failed h2 true", "init 3", "dispose 3 done h3 true"]);
  });

  it("an abandoned attempt (cancel) is disposed with outcome abandoned after its processor settled", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    const log: string[] = [];
    const entered = deferred();
    spec.defineWorker({
      liveEnv: env,
      init: () => ({ handle: "h" }),
      processor: ({ signal }) =>
        new Promise<void>((_, reject) => {
          entered.resolve();
          signal.addEventListener("abort", () => {
            log.push("processor saw abort");
            reject(signal.reason);
          });
        }),
      dispose: ({ outcome }) => void log.push(`dispose ${outcome}`),
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await entered.promise;
    await job.cancel();
    expect(job.status).toBe("cancelled");
    expect(log).toEqual(["processor saw abort", "dispose abandoned"]);
  });

  it("is not called for an attempt whose init threw; a worker without init is disposed after each attempt", async () => {
    const { env, clock } = createTestEnv();
    const withInit = numbers();
    const log: string[] = [];
    withInit.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: NO_BACKOFF },
      init: ({ attempt }) => {
        if (attempt === 1) throw new Error("init fails");
        return attempt;
      },
      processor: async () => {},
      dispose: ({ attempt, outcome }) => void log.push(`dispose ${attempt} ${outcome}`),
    });
    await driveUntilSettled(clock, (await withInit.enqueueJob({ liveEnv: env })).waitUntilFinish());
    expect(log).toEqual(["dispose 2 done"]);

    const withoutInit = numbers();
    const plain: string[] = [];
    withoutInit.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: NO_BACKOFF },
      processor: async ({ attempt }) => {
        if (attempt === 1) throw new Error("processor fails");
      },
      dispose: ({ attempt, outcome, resources }) => void plain.push(`dispose ${attempt} ${outcome} ${String(resources)}`),
    });
    await driveUntilSettled(clock, (await withoutInit.enqueueJob({ liveEnv: env })).waitUntilFinish());
    expect(plain).toEqual(["dispose 1 failed undefined", "dispose 2 done undefined"]);
  });

  it("a dispose that throws is logged and not retried; the job's outcome is unchanged", async () => {
    const logger = recordingLogger();
    const { env } = createTestEnv({ logger });
    const spec = numbers();
    let calls = 0;
    spec.defineWorker({
      liveEnv: env,
      processor: async () => {},
      dispose: () => {
        calls++;
        throw new Error("cannot release");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    expect(calls).toBe(1);
    expect(logger.lines.some((line) => /error: dispose of attempt 1 .* threw \(not retried\): Error: cannot release/.test(line))).toBe(true);
  });

  it("a dispose that hangs is given timeouts.stopMs, then the worker goes on (logged)", async () => {
    const logger = recordingLogger();
    const { env, clock } = createTestEnv({ logger });
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, timeouts: { stopMs: 300 }, processor: async () => {}, dispose: () => new Promise(() => {}) });
    const job = await spec.enqueueJob({ liveEnv: env });
    await untilStarted(job);
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 100, maxSteps: 10 });
    expect(job.status).toBe("completed");
    expect(logger.lines.some((line) => /warn: dispose of attempt 1 .* did not finish within stopMs \(300 ms\)/.test(line))).toBe(true);
  });

  it("the next attempt's init starts only after the previous attempt's dispose finished", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const log: string[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: NO_BACKOFF },
      init: ({ attempt }) => void log.push(`init ${attempt}`),
      processor: async ({ attempt }) => {
        if (attempt === 1) throw new Error("first fails");
      },
      dispose: async ({ attempt }) => {
        log.push(`dispose ${attempt} starts`);
        await new Promise((resolve) => clock.setTimeout(resolve, 50));
        log.push(`dispose ${attempt} ends`);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await untilStarted(job);
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 10, maxSteps: 50 });
    expect(log).toEqual(["init 1", "dispose 1 starts", "dispose 1 ends", "init 2", "dispose 2 starts", "dispose 2 ends"]);
  });

  it("an init that returns after its attempt was abandoned (init timeout) has its resources disposed", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const outcomes: Array<[number, DisposeOutcome, unknown]> = [];
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: NO_BACKOFF },
      timeouts: { initMs: 100 },
      init: async ({ attempt }) => {
        if (attempt === 1) await new Promise((resolve) => clock.setTimeout(resolve, 150));
        return `r${attempt}`;
      },
      processor: async () => {},
      dispose: ({ attempt, outcome, resources }) => void outcomes.push([attempt, outcome, resources]),
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await untilStarted(job);
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 50, maxSteps: 20 });
    // The first init returns at 150 ms, after its 100 ms timeout abandoned it.
    const bothDisposed = new Promise<void>((resolve) => {
      const check = () => (outcomes.length >= 2 ? resolve() : setImmediate(check));
      check();
    });
    await driveUntilSettled(clock, bothDisposed, { stepMs: 50, maxSteps: 20 });
    expect(job.status).toBe("completed");
    expect(outcomes).toContainEqual([1, "abandoned", "r1"]);
    expect(outcomes).toContainEqual([2, "done", "r2"]);
  });

  it("a late init's resources are disposed at once, not after the next attempt; env.close() waits for that dispose", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const log: string[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: NO_BACKOFF },
      timeouts: { initMs: 50, stopMs: 500 },
      init: async ({ attempt }) => {
        if (attempt === 1) await new Promise((resolve) => clock.setTimeout(resolve, 100));
        return `r${attempt}`;
      },
      processor: async ({ attempt }) => {
        log.push(`processor ${attempt} starts`);
        await new Promise((resolve) => clock.setTimeout(resolve, 1_000));
        log.push(`processor ${attempt} ends`);
      },
      dispose: ({ attempt, outcome }) => void log.push(`dispose ${attempt} ${outcome}`),
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await untilStarted(job);
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 10, maxSteps: 500 });
    expect(log).toEqual(["processor 2 starts", "dispose 1 abandoned", "processor 2 ends", "dispose 2 done"]);

    // With no next attempt: close() waits for the timed-out init to return and be disposed.
    const alone = numbers();
    const disposed: string[] = [];
    alone.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 0 },
      timeouts: { initMs: 50, stopMs: 500 },
      init: async () => {
        await new Promise((resolve) => clock.setTimeout(resolve, 300));
        return "late";
      },
      processor: async () => {},
      dispose: ({ resources, outcome }) => void disposed.push(`${String(resources)} ${outcome}`),
    });
    const failing = await alone.enqueueJob({ liveEnv: env });
    await untilStarted(failing);
    await driveUntilSettled(clock, failing.waitUntilFinish(), { stepMs: 10, maxSteps: 100 });
    expect(disposed).toEqual([]);
    // The step cap is a guard against a hang, not a bound: on a shared backend close() also waits for Redis (real time) while the clock steps.
    await driveUntilSettled(clock, env.close(), { stepMs: 10 });
    expect(disposed).toEqual(["late abandoned"]);
  });

  it("a healthy flow node restarted with its failing sibling stops and disposes its attempt before the new init: no init timeout from that wait", async () => {
    const { env, clock } = createTestEnv();
    const healthy = numbers();
    const failing = numbers();
    const log: string[] = [];
    healthy.defineWorker({
      liveEnv: env,
      timeouts: { initMs: 100, stopMs: 500 },
      init: ({ attempt }) => void log.push(`init ${attempt}`),
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
      dispose: async ({ attempt }) => {
        log.push(`dispose ${attempt} starts`);
        await new Promise((resolve) => clock.setTimeout(resolve, 150));
        log.push(`dispose ${attempt} ends`);
      },
    });
    failing.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, attempt }) => {
        if (attempt === 1) throw new Error("the sibling fails once");
        for await (const n of input) await output.emit(n);
      },
    });
    const flow = Liveflow.define({
      name: `restart-disposes-${specCount}`,
      connections: [conn({ from: failing, to: healthy })],
      exposures: [expose(failing.input.default, "in"), expose(healthy.output.default, "out")],
      supervision: { strategy: "one_for_all", maxRestarts: 1, backoff: NO_BACKOFF },
    });
    const states: string[] = [];
    env.subscribe((e) => e.type === "worker.state" && e.workerName === healthy.name && states.push(e.state));
    let completed = false;
    env.subscribe((e) => e.type === "job.status" && e.status === "completed" && (completed = true));
    const job = await flow.enqueueJob({ liveEnv: env });
    await untilStarted(job);
    await job.input("in").feed(1);
    await job.input("in").terminate();
    // The step cap is a guard against a hang, not a bound: on a shared backend the data crosses Redis (real time) while the clock steps.
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 10 });
    expect(job.status).toBe("completed");
    // Events may arrive after the outcome (a backend across processes): the job's final status is its last.
    await expect.poll(() => completed).toBe(true);
    expect(states.slice(0, 4)).toEqual(["initializing", "executing", "restarting", "recovering"]);
    expect(log.slice(0, 4)).toEqual(["init 1", "dispose 1 starts", "dispose 1 ends", "init 2"]);
  });

  it("dispose must be a function; a wrong type is a ConfigurationError", () => {
    const { env } = createTestEnv();
    expect(() => numbers().defineWorker({ liveEnv: env, processor: async () => {}, dispose: "close" as never })).toThrow(
      /dispose of the worker for ".*" must be a function; got string/,
    );
  });
});
