/**
 * Counts and ratios are checked like durations: `retry.maxRestarts` a whole
 * number >= 0 or Infinity, `concurrency` a whole number >= 1 or Infinity,
 * `backoff.factor` a finite number >= 1, `backoff.jitter` 0 … 1, stream
 * limits whole numbers; anything else is a `ValidationError` naming the
 * option and the value, and registers nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, LiveEnv, Liveflow, ValidationError, expose, type LiveWorkerOptions } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { workerOf } from "./helpers/internals.js";

afterEach(closeAll);

let counter = 0;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

type Extra = Partial<LiveWorkerOptions<any, any, any, any>>;

/** option, how to set it, values refused, values accepted */
const WORKER_NUMBERS: Array<[string, (v: unknown) => Extra, unknown[], number[]]> = [
  ["retry.maxRestarts", (v) => ({ retry: { maxRestarts: v as number } }), [1.5, -1, Number.NaN, "3", null, -Infinity], [0, 3, 1e6, Infinity]],
  ["concurrency", (v) => ({ concurrency: v as number }), [0, 1.5, -1, Number.NaN, "2", null], [1, 64, Infinity]],
  ["retry.backoff.factor", (v) => ({ retry: { backoff: { factor: v as number } } }), [0.5, 0, Infinity, Number.NaN, "2"], [1, 1.5, 10]],
  ["retry.backoff.jitter", (v) => ({ retry: { backoff: { jitter: v as number } } }), [1.5, -0.1, Number.NaN, Infinity, "0"], [0, 0.5, 1]],
];

describe("counts and ratios are checked", () => {
  it.each(WORKER_NUMBERS)("defineWorker %s", (option, set, refused, accepted) => {
    const { env } = createTestEnv();
    for (const value of refused) {
      const spec = JobSpec.define({ name: `numbers-${++counter}` });
      const error = errorOf(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, ...set(value) }));
      expect(error, `${option} = ${String(value)}`).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain(option);
      expect((error as Error).message).toContain(typeof value === "string" ? JSON.stringify(value) : String(value));
      expect(workerOf(env, spec.name)).toBeUndefined();
    }
    for (const value of accepted) {
      const spec = JobSpec.define({ name: `numbers-${++counter}` });
      expect(errorOf(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, ...set(value) })), `${option} = ${value}`).toBeUndefined();
    }
  });

  it("Liveflow supervision: maxRestarts 1.5 is refused, its strategy and retryable are checked", () => {
    const spec = JobSpec.define({ name: `flow-numbers-${++counter}`, input: z.number(), output: z.number() });
    const define = (supervision: unknown) =>
      errorOf(() =>
        Liveflow.define({
          name: `flow-numbers-${counter}`,
          connections: [],
          exposures: [expose(spec.input.default, "in"), expose(spec.output.default, "out")],
          supervision: supervision as never,
        }),
      );
    expect(define({ maxRestarts: 1.5 })).toBeInstanceOf(ValidationError);
    expect((define({ maxRestarts: 1.5 }) as Error).message).toContain("supervision.maxRestarts");
    expect(define({ backoff: { jitter: 2 } })).toBeInstanceOf(ValidationError);
    expect(define({ strategy: "all_for_one" })).toBeInstanceOf(ConfigurationError);
    expect(define({ retryable: true })).toBeInstanceOf(ConfigurationError);
    expect(define({ maxRestarts: Infinity, retryable: () => true })).toBeUndefined();
  });

  it("a retryable that is not a function is a ConfigurationError at defineWorker, not a crash at the first failure", () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `retryable-${++counter}` });
    const error = errorOf(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, retry: { retryable: "yes" as never } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain("retry.retryable");
    expect(workerOf(env, spec.name)).toBeUndefined();
  });

  it("LiveEnv.create: stream limits are whole numbers, handleSignals a boolean, clock a clock", () => {
    for (const streams of [{ highWaterMark: 0 }, { highWaterMark: 1.5 }, { highWaterMark: Infinity }, { historyLimit: -1 }, { historyLimit: "8" }]) {
      expect(errorOf(() => LiveEnv.create({ logger: silent, streams: streams as never })), JSON.stringify(streams)).toBeInstanceOf(ValidationError);
    }
    expect(errorOf(() => LiveEnv.create({ logger: silent, handleSignals: "yes" as never }))).toBeInstanceOf(ValidationError);
    expect(errorOf(() => LiveEnv.create({ logger: silent, clock: { now: () => 0 } as never }))).toBeInstanceOf(ConfigurationError);
    expect(errorOf(() => LiveEnv.create({ logger: silent, projectId: null as never }))).toBeInstanceOf(ValidationError);
  });

  it("flow jobOptions must be an object of node key → options", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `flow-options-${++counter}`, input: z.number(), output: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    const flow = Liveflow.define({ name: `flow-options-${counter}`, connections: [], exposures: [expose(spec.input.default, "in")] });
    for (const jobOptions of [null, "abc", ["a"], 5]) {
      await expect(flow.enqueueJob({ liveEnv: env, jobOptions: jobOptions as never })).rejects.toBeInstanceOf(ValidationError);
    }
    expect(env.liveJobCount).toBe(0);
  });
});
