/**
 * Unknown option keys are a `ConfigurationError` naming the key and the known
 * ones, on every public function that takes an options object, and the call
 * changes nothing: a typo (`graceMS`, `retries`, `lable`) must never be ignored.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { resolveRetryPolicy } from "../machines/index.js";
import { ConfigurationError, JobSpec, LiveEnv, Liveflow, conn, expose } from "../src/index.js";
import { createTestEnv as createKitEnv, workerModel } from "../src/testing/index.js";
import { settle } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { workerOf } from "./helpers/internals.js";

afterEach(closeAll);

let counter = 0;

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectUnknownKey(error: unknown, key: string): void {
  expect(error, `"${key}" was accepted`).toBeInstanceOf(ConfigurationError);
  expect((error as Error).message).toContain(`Unknown option "${key}"`);
  expect((error as Error).message).toMatch(/known: /);
}

function pair() {
  const n = ++counter;
  const dough = JobSpec.define({ name: `dough-${n}`, input: z.number(), output: z.number() });
  const bake = JobSpec.define({ name: `bake-${n}`, input: z.number(), output: z.number() });
  return { dough, bake, n };
}

describe("unknown option keys", () => {
  it("env.close({ graceMS }) is refused and closes nothing", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `close-typo-${++counter}`, input: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    expectUnknownKey(await env.close({ graceMS: 1_000 } as never).then(() => undefined, (e: unknown) => e), "graceMS");
    await settle();
    expect(env.isClosed).toBe(false);
    await expect.poll(() => job.status).toBe("running");
    const next = await spec.enqueueJob({ liveEnv: env });
    await expect.poll(() => next.status).toBe("running");
  });

  it("Liveflow.define's supervision and supervision.backoff refuse unknown keys (`retries: 5`)", () => {
    const { dough, bake, n } = pair();
    const define = (supervision: unknown) =>
      errorOf(() =>
        Liveflow.define({
          name: `supervised-${n}`,
          connections: [conn({ from: dough, to: bake })],
          exposures: [expose(dough.input.default, "in")],
          supervision: supervision as never,
        }),
      );
    expectUnknownKey(define({ retries: 5 }), "retries");
    expectUnknownKey(define({ strategy: "one_for_all", backoff: { initalMs: 5 } }), "initalMs");
    expect(define({ strategy: "one_for_all", maxRestarts: 5, backoff: { initialMs: 5 } })).toBeUndefined();
  });

  it("conn options and endpoint objects refuse unknown keys (`trasform`, `lable`)", () => {
    const { dough, bake, n } = pair();
    expectUnknownKey(errorOf(() => conn({ from: dough, to: bake, trasform: (x: number) => x } as never)), "trasform");
    const define = (to: unknown, exposed: unknown = dough.input.default) =>
      errorOf(() =>
        Liveflow.define({
          name: `endpoints-${n}`,
          connections: [conn({ from: dough, to: to as never })],
          exposures: [expose(exposed as never, "in")],
        }),
      );
    expectUnknownKey(define({ spec: bake, lable: "oven" }), "lable");
    expectUnknownKey(define(bake, { spec: dough, label: dough.name, tag: "default", direction: "input", alias: "x" }), "alias");
    expect(define({ spec: bake, label: "oven" })).toBeUndefined();
  });

  it("the test kit's createTestEnv refuses unknown keys, and `clock` (it brings its own)", () => {
    expectUnknownKey(errorOf(() => createKitEnv({ logLevel: "debug" } as never)), "logLevel");
    expectUnknownKey(errorOf(() => createKitEnv({ clock: { now: () => 0 } } as never)), "clock");
  });

  it("workerModel refuses unknown options (`hasinit`)", () => {
    expectUnknownKey(errorOf(() => workerModel(new Set(), { hasinit: false } as never)), "hasinit");
  });

  it("resolveRetryPolicy (liveworker/machines) refuses unknown keys itself", () => {
    expectUnknownKey(errorOf(() => resolveRetryPolicy({ maxRestart: 1 } as never)), "maxRestart");
    expectUnknownKey(errorOf(() => resolveRetryPolicy({ backoff: { max: 1 } } as never)), "max");
  });

  it("what already refused unknown keys still does, and names the key", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `already-${++counter}`, input: z.number(), output: z.number() });
    expectUnknownKey(errorOf(() => LiveEnv.create({ clocks: 1 } as never)), "clocks");
    expectUnknownKey(errorOf(() => LiveEnv.create({ streams: { highWatermark: 2 } } as never)), "highWatermark");
    expectUnknownKey(errorOf(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, retry: { backoff: { jiter: 0 } } } as never)), "jiter");
    expectUnknownKey(errorOf(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, timeouts: { stop: 1 } } as never)), "stop");
    expect(workerOf(env, spec.name)).toBeUndefined();
    expectUnknownKey(await spec.enqueueJob({ liveEnv: env, jobID: "x" } as never).then(() => undefined, (e: unknown) => e), "jobID");
    const flow = Liveflow.define({ name: `flow-${counter}`, connections: [], exposures: [expose(spec.input.default, "in")] });
    expectUnknownKey(await flow.enqueueJob({ liveEnv: env, options: {} } as never).then(() => undefined, (e: unknown) => e), "options");
    expect(env.liveJobCount).toBe(0);
  });
});
