/**
 * Durations are whole ms in 0 … 2³¹−1, or `Infinity` where "no limit" makes
 * sense (then no timer is armed). Anything else is a `ValidationError` naming
 * the option and the value, and changes nothing. A delay past 2³¹−1 ms would
 * fire after 1 ms in Node: `NodeLikeClock` does the same, so a test that lets
 * one through sees the early timer.
 */
import { createActor, fromPromise } from "xstate";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { jobMachine, workerMachine } from "../machines/index.js";
import { decideRestart, resolveRetryPolicy, unitHash } from "../machines/restartPolicy.js";
import { JobSpec, LiveEnv, Liveflow, ValidationError, expose, type LiveWorkerOptions } from "../src/index.js";
import { createTestEnv as createKitEnv } from "../src/testing/index.js";
import { settle } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { MAX_TIMER_MS, NodeLikeClock } from "./helpers/timerClock.js";
import { workerOf } from "./helpers/internals.js";
import { suiteBackend } from "./helpers/backends.js";
import { quiet } from "./helpers/backendProbes.js";

afterEach(closeAll);

let counter = 0;
const DAY = 86_400_000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Values no duration option takes. */
const NOT_DURATIONS: unknown[] = [-1, Number.NaN, 1.5, "100", 2 ** 31, 35 * DAY, -Infinity, null, true, {}];

/** How an error message shows a rejected value. */
const shown = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : typeof value === "object" && value !== null ? "object" : String(value));

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectRefused(error: unknown, option: string, value: unknown): void {
  expect(error, `${option} = ${String(value)} was accepted`).toBeInstanceOf(ValidationError);
  expect((error as Error).message).toContain(option);
  expect((error as Error).message).toContain(shown(value));
}

type WorkerSetter = (value: unknown) => Partial<LiveWorkerOptions<any, any, any, any>>;

/** Every duration of defineWorker: how to set it, its least value, and whether Infinity is allowed. */
const WORKER_DURATIONS: Array<[string, WorkerSetter, number, boolean]> = [
  ["retry.withinMs", (v) => ({ retry: { withinMs: v as number } }), 1, true],
  ["retry.resetAfterMs", (v) => ({ retry: { resetAfterMs: v as number } }), 0, true],
  ["retry.backoff.initialMs", (v) => ({ retry: { backoff: { initialMs: v as number } } }), 0, false],
  ["retry.backoff.maxMs", (v) => ({ retry: { backoff: { maxMs: v as number } } }), 0, true],
  ["timeouts.initMs", (v) => ({ timeouts: { initMs: v as number } }), 1, true],
  ["timeouts.jobMs", (v) => ({ timeouts: { jobMs: v as number } }), 1, true],
  ["timeouts.heartbeatMs", (v) => ({ timeouts: { heartbeatMs: v as number } }), 1, true],
  ["timeouts.stopMs", (v) => ({ timeouts: { stopMs: v as number } }), 0, true],
];

function defineWith(env: LiveEnv, extra: Partial<LiveWorkerOptions<any, any, any, any>>) {
  const spec = JobSpec.define({ name: `durations-${++counter}`, input: z.number() });
  const error = errorOf(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, ...extra }));
  return { spec, error };
}

describe("every duration option is checked", () => {
  it.each(WORKER_DURATIONS)("defineWorker %s: whole ms from its minimum to 2^31-1 (Infinity where it means none)", (option, set, min, infinity) => {
    const { env } = createTestEnv();
    for (const value of [...NOT_DURATIONS, min - 1, ...(infinity ? [] : [Infinity])]) {
      const { spec, error } = defineWith(env, set(value));
      expectRefused(error, option, value);
      expect(workerOf(env, spec.name), "a refused def is not registered").toBeUndefined();
    }
    for (const value of [min, MAX_TIMER_MS, ...(infinity ? [Infinity] : [])]) {
      const { spec, error } = defineWith(env, set(value));
      expect(error, `${option} = ${value}`).toBeUndefined();
      expect(workerOf(env, spec.name)).toBeDefined();
    }
  });

  it.each([
    ["supervision.withinMs", (v: unknown) => ({ supervision: { withinMs: v as number } }), 1, true],
    ["supervision.resetAfterMs", (v: unknown) => ({ supervision: { resetAfterMs: v as number } }), 0, true],
    ["supervision.backoff.initialMs", (v: unknown) => ({ supervision: { backoff: { initialMs: v as number } } }), 0, false],
    ["supervision.backoff.maxMs", (v: unknown) => ({ supervision: { backoff: { maxMs: v as number } } }), 0, true],
    ["timeouts.jobMs", (v: unknown) => ({ timeouts: { jobMs: v as number } }), 1, true],
  ] as const)("Liveflow.define %s", (option, set, min, infinity) => {
    const spec = JobSpec.define({ name: `flow-durations-${++counter}`, input: z.number(), output: z.number() });
    const define = (value: unknown) =>
      errorOf(() =>
        Liveflow.define({
          name: `flow-durations-${counter}`,
          connections: [],
          exposures: [expose(spec.input.default, "in"), expose(spec.output.default, "out")],
          ...set(value),
        }),
      );
    for (const value of [...NOT_DURATIONS, min - 1, ...(infinity ? [] : [Infinity])]) expectRefused(define(value), option, value);
    for (const value of [min, MAX_TIMER_MS, ...(infinity ? [Infinity] : [])]) expect(define(value), `${option} = ${value}`).toBeUndefined();
  });

  it("LiveEnv.create shutdownGraceMs: 0 … 2^31-1 or Infinity", () => {
    for (const value of NOT_DURATIONS) {
      expectRefused(errorOf(() => LiveEnv.create({ logger: silent, shutdownGraceMs: value as number })), "shutdownGraceMs", value);
    }
    for (const value of [0, MAX_TIMER_MS, Infinity]) {
      expect(errorOf(() => LiveEnv.create({ logger: silent, shutdownGraceMs: value }))).toBeUndefined();
    }
  });

  it("close graceMs: a bad value rejects and closes nothing", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `close-grace-${++counter}`, input: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    for (const value of NOT_DURATIONS) {
      const error = await env.close({ graceMs: value as number }).then(() => undefined, (e: unknown) => e);
      expectRefused(error, "graceMs", value);
      expect(env.isClosed).toBe(false);
    }
    await expect.poll(() => job.status).toBe("running");
    await settle();
    await expect.poll(() => job.status).toBe("running");
  });

  it("the test kit's advance(ms) takes durations only", async () => {
    const t = createKitEnv();
    for (const value of [-1, Number.NaN, 1.5, Infinity, "10"]) {
      expectRefused(await t.advance(value as number).then(() => undefined, (e: unknown) => e), "advance", value);
    }
    const before = t.clock.now();
    await t.advance(25);
    expect(t.clock.now()).toBe(before + 25);
    await t.close();
  });
});

describe("Infinity means no limit, and arms no timer", () => {
  it("close({ graceMs: Infinity }) waits for a running job however long it takes", async () => {
    const clock = new NodeLikeClock();
    const env = LiveEnv.create({ clock, logger: silent });
    const spec = JobSpec.define({ name: `endless-grace-${++counter}`, input: z.number(), output: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    // Running before close: on a shared backend close() takes no more jobs (a job still queued would run elsewhere).
    await expect.poll(() => job.status).toBe("running");
    let closed = false;
    const closing = env.close({ graceMs: Infinity }).then(() => (closed = true));
    for (const ms of [1, 1_000, 30 * DAY]) {
      clock.increment(ms);
      await settle();
    }
    await quiet(suiteBackend());
    expect(job.status).toBe("running");
    expect(closed).toBe(false);
    await job.input.feed(1);
    await job.input.terminate();
    await closing;
    expect(job.status).toBe("completed");
    expect(clock.overflowing).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("timeouts of Infinity (init, heartbeat, job, stop) arm no timer at all", async () => {
    const clock = new NodeLikeClock();
    const env = LiveEnv.create({ clock, logger: silent });
    const spec = JobSpec.define({ name: `no-timeouts-${++counter}`, input: z.number(), output: z.number() });
    let initDone!: () => void;
    spec.defineWorker({
      liveEnv: env,
      timeouts: { initMs: Infinity, heartbeatMs: Infinity, jobMs: Infinity, stopMs: Infinity },
      init: () => new Promise<void>((resolve) => (initDone = resolve)),
      processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); },
    });
    const states: string[] = [];
    env.subscribe((event) => event.type === "worker.state" && states.push(event.state));
    const job = await spec.enqueueJob({ liveEnv: env });
    // Each state is reached first (on Redis the job starts, and its events arrive, after round trips), then no timer fires.
    await expect.poll(() => states).toEqual(["initializing"]);
    clock.increment(MAX_TIMER_MS);
    await quiet(suiteBackend());
    expect(states).toEqual(["initializing"]);
    initDone();
    await expect.poll(() => states).toEqual(["initializing", "executing"]);
    clock.increment(MAX_TIMER_MS);
    await quiet(suiteBackend());
    expect(states).toEqual(["initializing", "executing"]);
    await job.cancel("done waiting");
    expect(job.status).toBe("cancelled");
    expect(clock.requested).toEqual([]);
    await env.close();
  });

  it("an uncapped backoff (maxMs: Infinity) stops at 2^31-1 ms: the restart waits instead of firing at once", async () => {
    const clock = new NodeLikeClock();
    const env = LiveEnv.create({ clock, logger: silent });
    const spec = JobSpec.define({ name: `long-backoff-${++counter}`, input: z.number() });
    let runs = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: { initialMs: MAX_TIMER_MS, maxMs: Infinity, jitter: 1 } },
      processor: async () => {
        if (++runs === 1) throw new Error("first run fails");
      },
    });
    // A job id whose jitter lengthens the first delay: unclamped, it would pass 2^31-1 ms.
    let n = 0;
    while (unitHash(`slow-${n}:0`) < 0.75) n++;
    const job = await spec.enqueueJob({ liveEnv: env, jobId: `slow-${n}` });
    // The first run failed and its restart waits (on Redis the job starts after round trips).
    await expect.poll(() => clock.requested).toContain(MAX_TIMER_MS);
    clock.increment(60_000);
    await quiet(suiteBackend());
    expect(runs).toBe(1);
    expect(clock.overflowing).toEqual([]);
    clock.increment(MAX_TIMER_MS);
    await job.waitUntilFinish();
    expect(runs).toBe(2);
    await env.close();
  });

  it("decideRestart never grants a delay past 2^31-1 ms, whatever the growth", () => {
    const policy = resolveRetryPolicy({ maxRestarts: Infinity, backoff: { initialMs: DAY, factor: 1e6, maxMs: Infinity, jitter: 1 } });
    const history = Array.from({ length: 40 }, (_, i) => ({ attempt: i + 1, at: i, delayMs: 0, error: { name: "Error", message: "x" } }));
    for (let i = 0; i < 200; i++) {
      const decision = decideRestart(history.slice(0, i % 40), policy, new Error("x"), 40, `seed-${i}`);
      expect(decision).toEqual({ restart: true, delayMs: expect.any(Number) });
      const { delayMs } = decision as { delayMs: number };
      expect(delayMs).toBeGreaterThanOrEqual(0);
      expect(delayMs).toBeLessThanOrEqual(MAX_TIMER_MS);
    }
    const zero = resolveRetryPolicy({ maxRestarts: Infinity, backoff: { initialMs: 0, factor: 10, maxMs: Infinity } });
    const long = Array.from({ length: 400 }, (_, i) => ({ attempt: i + 1, at: i, delayMs: 0, error: { name: "Error", message: "x" } }));
    expect(decideRestart(long, zero, new Error("x"), 400, "s")).toEqual({ restart: true, delayMs: 0 });
  });

  it("the worker machine arms no init or stop timer when they are left out or Infinity", () => {
    for (const timeouts of [{}, { initMs: Infinity, stopMs: Infinity }]) {
      const clock = new NodeLikeClock();
      const hanging = workerMachine.provide({
        actors: {
          initialize: fromPromise(() => new Promise<void>(() => {})),
          abandon: fromPromise(() => new Promise<void>(() => {})),
        },
      });
      const worker = createActor(hanging, { clock, input: { jobId: "j", workerName: "w", timeouts } }).start();
      expect(worker.getSnapshot().value).toBe("initializing");
      worker.send({ type: "STOP" });
      expect(worker.getSnapshot().value).toBe("stopping");
      clock.increment(MAX_TIMER_MS);
      expect(worker.getSnapshot().value).toBe("stopping");
      expect(clock.requested).toEqual([]);
      worker.stop();
    }
    // A finite timeout still arms its timer and fires.
    const clock = new NodeLikeClock();
    const worker = createActor(workerMachine.provide({ actors: { initialize: fromPromise(() => new Promise<void>(() => {})) } }), {
      clock,
      input: { jobId: "j", workerName: "w", timeouts: { initMs: 50 } },
    }).start();
    expect(clock.requested).toEqual([50]);
    clock.increment(50);
    expect(worker.getSnapshot().value).toBe("error");
    worker.stop();
  });

  it("the job machine arms no job timer for jobMs: Infinity", () => {
    const clock = new NodeLikeClock();
    const job = createActor(jobMachine, { clock, input: { jobId: "j", specName: "s", workers: ["w"] } }).start();
    job.send({ type: "START", retry: resolveRetryPolicy(undefined), timeouts: { jobMs: Infinity }, withoutInit: ["w"] });
    expect(clock.overflowing).toEqual([]);
    expect(clock.requested).toEqual([]);
    job.stop();
  });
});
