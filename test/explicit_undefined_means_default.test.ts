/**
 * An option set to `undefined` takes its default, exactly as if it were left
 * out (`{ ...DEFAULTS, ...options }` would copy the `undefined` over the default).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { DEFAULT_RETRY, DEFAULT_STREAM_LIMITS, DEFAULT_TIMEOUTS, JobCancelledError, JobSpec, LiveEnv, Liveflow, TimeoutError, expose } from "../src/index.js";
import { withDefaults } from "../src/options.js";
import { createTestEnv as createKitEnv } from "../src/testing/index.js";
import { settle, track } from "./helpers/collect.js";
import { closeAll, createTestEnv, nextEvent } from "./helpers/env.js";

afterEach(closeAll);
afterEach(() => {
  vi.restoreAllMocks();
});

let counter = 0;

/** How many feeds to a job that never starts resolve before backpressure holds the rest. */
async function acceptedWhileQueued(env: LiveEnv): Promise<number> {
  const spec = JobSpec.define({ name: `limits-${++counter}`, input: z.number() });
  const job = await spec.enqueueJob({ liveEnv: env });
  let accepted = 0;
  for (let i = 0; i < DEFAULT_STREAM_LIMITS.highWaterMark + 5; i++) {
    job.input.feed(i).then(
      () => accepted++,
      () => {},
    );
  }
  // Until the count stops moving: in memory at once; on Redis a process's first feed waits for Redis to say how full the stream is.
  let seen = -1;
  while (seen !== accepted) {
    seen = accepted;
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return accepted;
}

describe("an explicit undefined means the default", () => {
  it("timeouts: { stopMs: undefined } keeps the 5 s stop grace: on cancel, a processor that ignores its signal is abandoned after it", async () => {
    const { env, clock } = createTestEnv();
    const spec = JobSpec.define({ name: `stubborn-${++counter}`, input: z.number() });
    let signal: AbortSignal | undefined;
    const def = spec.defineWorker({
      liveEnv: env,
      timeouts: { stopMs: undefined },
      processor: (context) => {
        signal = context.signal;
        return new Promise<void>(() => {}); // never returns, ignores its signal
      },
    });
    expect(def.timeouts.stopMs).toBe(DEFAULT_TIMEOUTS.stopMs);
    const job = await spec.enqueueJob({ liveEnv: env });
    // Cancelled once the processor runs (on a shared backend it starts, and the cancel arrives, after round trips).
    await expect.poll(() => signal).toBeDefined();
    const finished = track(job.waitUntilFinish());
    const cancelling = job.cancel("enough");
    await expect.poll(() => signal!.aborted).toBe(true);
    clock.increment(DEFAULT_TIMEOUTS.stopMs - 1);
    await settle();
    expect(finished.settled).toBe(false);
    clock.increment(1);
    await cancelling;
    await expect(finished.promise).rejects.toBeInstanceOf(JobCancelledError);
    expect(job.status).toBe("cancelled");
  });

  it("timeouts: { initMs: undefined } keeps the 60 s init timeout", async () => {
    const { env, clock } = createTestEnv();
    const spec = JobSpec.define({ name: `slow-init-${++counter}`, input: z.number() });
    const errors: unknown[] = [];
    env.subscribe((event) => event.type === "worker.state" && event.state === "error" && errors.push(event.error));
    let finals = 0;
    env.subscribe((event) => event.type === "job.status" && event.status === "failed" && finals++);
    spec.defineWorker({
      liveEnv: env,
      timeouts: { initMs: undefined },
      retry: { maxRestarts: 0 },
      init: () => new Promise(() => {}),
      processor: async () => {},
    });
    // The init timer is armed once the job starts (on a shared backend, after round trips).
    const initializing = nextEvent(env, (event) => event.type === "worker.state" && event.state === "initializing");
    const job = await spec.enqueueJob({ liveEnv: env });
    await initializing;
    await settle();
    clock.increment(DEFAULT_TIMEOUTS.initMs);
    await expect(job.waitUntilFinish()).rejects.toMatchObject({ cause: expect.any(TimeoutError) });
    // Events may arrive after the outcome (a backend across processes): the job's final status is its last.
    await expect.poll(() => finals).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ kind: "init", ms: DEFAULT_TIMEOUTS.initMs })]);
  });

  it("defineWorker: undefined concurrency, init, retry fields and backoff fields are the defaults", () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `undefined-fields-${++counter}` });
    const def = spec.defineWorker({
      liveEnv: env,
      concurrency: undefined,
      init: undefined,
      processor: async () => {},
      retry: {
        maxRestarts: undefined,
        withinMs: undefined,
        resetAfterMs: undefined,
        retryable: undefined,
        backoff: { initialMs: undefined, factor: undefined, maxMs: undefined, jitter: undefined },
      },
      timeouts: { initMs: undefined, jobMs: undefined, heartbeatMs: undefined, stopMs: undefined },
    });
    expect(def.concurrency).toBe(10);
    expect(def.retry).toEqual(DEFAULT_RETRY);
    expect(def.timeouts).toEqual(DEFAULT_TIMEOUTS);
  });

  it("LiveEnv.create: undefined fields and stream limits are the defaults", async () => {
    const env = LiveEnv.create({
      projectId: undefined,
      clock: undefined,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      inspect: undefined,
      streams: { highWaterMark: undefined, historyLimit: undefined },
      handleSignals: undefined,
      shutdownGraceMs: undefined,
    });
    expect(env.projectId).toBe("default");
    // The default limits are in force: feeding a queued job stops where it stops with the limits spelled out.
    const withDefaultsSpelledOut = LiveEnv.create({ logger: { debug() {}, info() {}, warn() {}, error() {} }, streams: { ...DEFAULT_STREAM_LIMITS } });
    expect(await acceptedWhileQueued(env)).toBe(await acceptedWhileQueued(withDefaultsSpelledOut));
    expect(await acceptedWhileQueued(env)).toBeGreaterThan(DEFAULT_STREAM_LIMITS.highWaterMark / 2);
    await withDefaultsSpelledOut.close();
    await env.close({ graceMs: undefined });
  });

  it("the test kit's createTestEnv({ logger: undefined }) keeps its silent logger", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const t = createKitEnv({ logger: undefined });
    const spec = JobSpec.define({ name: `quiet-${++counter}` });
    spec.defineWorker({
      liveEnv: t.env,
      retry: { maxRestarts: 0 },
      processor: async () => {
        throw new Error("expected failure");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: t.env });
    await expect(job.waitUntilFinish()).rejects.toThrow(/expected failure/);
    await t.close();
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it("Liveflow.define: undefined supervision fields and jobMs are the defaults", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `flow-defaults-${++counter}`, input: z.number(), output: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const flow = Liveflow.define({
      name: `flow-defaults-${counter}`,
      connections: [],
      exposures: [expose(spec.input.default, "in"), expose(spec.output.default, "out")],
      supervision: { strategy: undefined, maxRestarts: undefined, backoff: { jitter: undefined } },
      timeouts: { jobMs: undefined },
    });
    const job = await flow.enqueueJob({ liveEnv: env, jobId: undefined, jobOptions: undefined });
    await job.input("in").feed(1);
    await job.input("in").terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });

  it("withDefaults skips undefined, keeps other falsy values, and defines own keys only", () => {
    expect(withDefaults({ a: 1, b: 2, c: 3 }, { a: undefined, b: 0 })).toEqual({ a: 1, b: 0, c: 3 });
    const merged = withDefaults({ a: 1 } as Record<string, unknown>, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
