/**
 * What `init` and the processor get: `signal` and `logger` are made when
 * first read, yet behave as the plain own properties they were (a spread
 * copies them, `Object.keys` lists them, `logger` can be replaced and works
 * detached, bound to the job's and the attempt's fields).
 */
import { setFlagsFromString } from "node:v8";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type Logger } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { driveUntilSettled } from "./helpers/drive.js";

afterEach(closeAll);

let specCount = 0;
const numbers = () => JobSpec.define({ name: `attempt-context-${++specCount}`, input: z.number(), output: z.number() });

/** A logger that keeps each warn line with its fields. */
function recordingLogger(): Logger & { lines: Array<{ message: string; fields: unknown }> } {
  const lines: Array<{ message: string; fields: unknown }> = [];
  return { lines, debug() {}, info() {}, warn: (message, fields) => void lines.push({ message, fields }), error() {} };
}

describe("an attempt's context", () => {
  it("has signal and logger as own enumerable properties: a spread copies them", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const seen: Record<string, unknown> = {};
    spec.defineWorker({
      liveEnv: env,
      init: (context) => {
        seen.initKeys = Object.keys(context).sort();
        seen.initSignal = { ...context }.signal;
      },
      processor: async (context) => {
        seen.keys = Object.keys(context).sort();
        const copy = { ...context };
        seen.copySignal = copy.signal;
        seen.signal = context.signal;
        seen.copyLogger = copy.logger;
        seen.logger = context.logger;
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    expect(seen.initKeys).toEqual(["attempt", "jobId", "jobOptions", "logger", "signal"]);
    expect(seen.keys).toEqual(
      ["attempt", "heartbeat", "input", "jobId", "jobOptions", "logger", "output", "progress", "resources", "signal", "state", "updateState"].sort(),
    );
    // init and the processor of one attempt share one signal; a copy of the context has it too.
    expect(seen.initSignal).toBeInstanceOf(AbortSignal);
    expect(seen.copySignal).toBe(seen.signal);
    expect(seen.initSignal).toBe(seen.signal);
    expect(seen.copyLogger).toBe(seen.logger);
  });

  it("is an object in V8's fast mode (a getter made per context, a closure, would make it a dictionary: ~800 bytes a job)", async () => {
    setFlagsFromString("--allow-natives-syntax");
    const hasFastProperties = new Function("object", "return %HasFastProperties(object)") as (object: object) => boolean;
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const fast: boolean[] = [];
    spec.defineWorker({
      liveEnv: env,
      init: (context) => void fast.push(hasFastProperties(context)),
      processor: async (context) => void fast.push(hasFastProperties(context)),
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    expect(fast).toEqual([true, true]);
  });

  it("heartbeat and progress work detached and from a copy of the context", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    const progressed: unknown[] = [];
    env.subscribe((event) => {
      if (event.type === "job.progress") progressed.push(event.value);
    });
    spec.defineWorker({
      liveEnv: env,
      timeouts: { heartbeatMs: 1000 },
      processor: async (context) => {
        const { heartbeat, progress } = context;
        heartbeat();
        progress("detached");
        const copy = { ...context };
        copy.progress("from a copy");
        expect(copy.heartbeat).toBe(heartbeat);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    // On a shared backend events arrive through it, after the outcome.
    await expect.poll(() => progressed).toEqual(["detached", "from a copy"]);
  });

  it("logger binds the job's and the attempt's fields, works detached, and can be replaced", async () => {
    const logger = recordingLogger();
    const { env, clock } = createTestEnv({ logger });
    const spec = numbers();
    const replaced = recordingLogger();
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 } },
      processor: async (context) => {
        const { warn } = context.logger;
        warn(`attempt ${context.attempt} says hello`, { extra: 1 });
        if (context.attempt === 1) throw new Error("first attempt fails");
        context.logger = replaced;
        context.logger.warn("to the replacement");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env, jobId: "ctx-logger" });
    await driveUntilSettled(clock, job.waitUntilFinish());
    const hellos = logger.lines.filter((line) => line.message.endsWith("says hello"));
    expect(hellos).toEqual([
      { message: "attempt 1 says hello", fields: { jobId: "ctx-logger", job: spec.name, worker: spec.name, attempt: 1, extra: 1 } },
      { message: "attempt 2 says hello", fields: { jobId: "ctx-logger", job: spec.name, worker: spec.name, attempt: 2, extra: 1 } },
    ]);
    // The failure of attempt 1 is logged with that attempt's fields.
    const failure = logger.lines.find((line) => line.message.includes("failed in processor"));
    expect(failure?.fields).toMatchObject({ jobId: "ctx-logger", worker: spec.name, attempt: 1 });
    expect(replaced.lines.map((line) => line.message)).toEqual(["to the replacement"]);
  });
});
