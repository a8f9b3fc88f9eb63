/**
 * Issue 11 §1: user callbacks that throw (logger methods, inspect observers,
 * lifecycle listeners, retry predicates, hostile thrown values) never break a
 * job: the library settles its own state first, then calls user code inside
 * guards; a throwing callback is reported once and changes nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import type { InspectionEvent } from "xstate";
import { ConfigurationError, JobFailedError, JobSpec, LiveEnv, ValidationError, consoleLogger, type LifecycleEvent, type Logger } from "../src/index.js";
import { collect } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

const stray: unknown[] = [];
const onStray = (reason: unknown) => stray.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", onStray);
  process.on("uncaughtException", onStray);
});
afterAll(() => {
  process.off("unhandledRejection", onStray);
  process.off("uncaughtException", onStray);
});
/** No uncaught exception or unhandled rejection surfaced, a few macrotask turns later. */
async function nothingStray(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  expect(stray.splice(0)).toEqual([]);
}

let specCount = 0;
const numbers = () => JobSpec.define({ name: `callbacks-${++specCount}`, input: z.number(), output: z.number() });
const echo = async ({ input, output }: { input: AsyncIterable<number>; output: { emit(n: number): Promise<void> } }) => {
  for await (const n of input) {
    if (n < 0) throw new Error("negative input");
    await output.emit(n);
  }
};

/** Runs one job that completes and one that fails in `env`, on a concurrency-1 def; returns what each saw. */
async function runTwo(env: LiveEnv) {
  const spec = numbers();
  spec.defineWorker({ liveEnv: env, concurrency: 1, retry: { maxRestarts: 0 }, processor: echo as never });
  const failing = await spec.enqueueJob({ liveEnv: env });
  const passing = await spec.enqueueJob({ liveEnv: env });
  await failing.input.feed(-1).catch(() => {});
  await failing.input.terminate().catch(() => {});
  await passing.input.feed(7);
  await passing.input.terminate();
  const failed = await failing.waitUntilFinish().then(() => undefined, (e: unknown) => e);
  // The second job gets the concurrency slot the failed one released.
  const output = await collect(passing.output);
  await passing.waitUntilFinish();
  return { failing, passing, failed, output };
}

describe("a logger that throws or lacks methods", () => {
  it("a logger whose every method throws: jobs still end, waiters settle, the slot is freed, close() settles; reported once", async () => {
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const boom = () => {
        throw new Error("logger is broken");
      };
      const { env } = createTestEnv({ logger: { debug: boom, info: boom, warn: boom, error: boom } });
      const { failing, passing, failed, output } = await runTwo(env);
      expect(failing.status).toBe("failed");
      expect(failed).toBeInstanceOf(JobFailedError);
      expect(passing.status).toBe("completed");
      expect(output).toEqual([7]);
      await env.close();
      await nothingStray();
      const reports = consoleError.mock.calls.filter(([line]) => /the logger's \w+\(\) threw/.test(String(line)));
      expect(reports).toHaveLength(1);
    } finally {
      consoleError.mockRestore();
    }
  });

  it("a logger missing methods is refused by LiveEnv.create with a ConfigurationError naming them", () => {
    expect(() => LiveEnv.create({ logger: {} as Logger })).toThrow(ConfigurationError);
    expect(() => LiveEnv.create({ logger: { debug() {}, info() {}, warn() {} } as unknown as Logger })).toThrow(/missing: error/);
  });
});

describe("inspect observers that throw", () => {
  function recordingLogger() {
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (message) => void errors.push(message) };
    return { errors, logger };
  }

  it("an observer throwing on every event (START included): enqueueJob resolves, jobs end as without it, reported once", async () => {
    const { errors, logger } = recordingLogger();
    const { env } = createTestEnv({
      logger,
      inspect: () => {
        throw new Error("inspector down");
      },
    });
    const { failing, passing, output } = await runTwo(env);
    expect([failing.status, passing.status]).toEqual(["failed", "completed"]);
    expect(output).toEqual([7]);
    await env.close();
    await nothingStray();
    expect(errors.filter((line) => /the inspect observer threw/.test(line))).toHaveLength(1);
  });

  it("an observer throwing only on a worker's done snapshot: the job completes and close() settles", async () => {
    const { env } = createTestEnv({
      inspect: (event: InspectionEvent) => {
        const snapshot = event.type === "@xstate.snapshot" ? (event.snapshot as { value?: unknown }) : undefined;
        if (snapshot?.value === "done") throw new Error("no done for me");
      },
    });
    const { passing } = await runTwo(env);
    expect(passing.status).toBe("completed");
    await env.close();
    await nothingStray();
  });

  it("an observer object whose next() throws is guarded too; a non-observer is a ConfigurationError", async () => {
    const { env } = createTestEnv({
      inspect: {
        next() {
          throw new Error("observer down");
        },
      },
    });
    const { passing } = await runTwo(env);
    expect(passing.status).toBe("completed");
    expect(() => LiveEnv.create({ inspect: 42 as never })).toThrow(ConfigurationError);
    await nothingStray();
  });
});

describe("lifecycle listeners that throw", () => {
  it("env and job listeners throwing on every event change nothing, and each is reported once", async () => {
    const errors: string[] = [];
    const { env } = createTestEnv({ logger: { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) } });
    const seen: string[] = [];
    env.subscribe((event) => {
      seen.push(event.type);
      throw new Error("env listener down");
    });
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, concurrency: 1, processor: echo as never });
    const job = await spec.enqueueJob({ liveEnv: env });
    job.subscribe(() => {
      throw new Error("job listener down");
    });
    await job.input.feed(1);
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([1]);
    await job.waitUntilFinish();
    expect(seen).toContain("worker.state");
    expect(errors.filter((line) => /an env lifecycle listener threw/.test(line))).toHaveLength(1);
    expect(errors.filter((line) => /a job lifecycle listener threw/.test(line))).toHaveLength(1);
    await nothingStray();
  });

  it("a listener is a function; anything else is a ConfigurationError", async () => {
    const { env } = createTestEnv();
    expect(() => env.subscribe("nope" as never)).toThrow(ConfigurationError);
    const spec = numbers();
    const job = await spec.enqueueJob({ liveEnv: env });
    expect(() => job.subscribe(null as never)).toThrow(ConfigurationError);
  });
});

describe("async callbacks that reject", () => {
  it("an async listener, logger method or inspect observer that rejects is reported once, like one that throws", async () => {
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const errors: string[] = [];
      const reject = async () => {
        throw new Error("async callback failed");
      };
      const { env } = createTestEnv({
        logger: { debug() {}, info() {}, warn: reject, error: (m) => void errors.push(m) },
        inspect: reject,
      });
      env.subscribe(reject);
      const { failing, passing } = await runTwo(env);
      expect([failing.status, passing.status]).toEqual(["failed", "completed"]);
      await env.close();
      await nothingStray();
      expect(errors.filter((line) => /the inspect observer threw/.test(line))).toHaveLength(1);
      expect(errors.filter((line) => /an env lifecycle listener threw/.test(line))).toHaveLength(1);
      expect(consoleError.mock.calls.filter(([line]) => /the logger's warn\(\) threw/.test(String(line)))).toHaveLength(1);
    } finally {
      consoleError.mockRestore();
    }
  });

  it("a retry predicate that answers with a promise is misuse: the job fails and says so, nothing goes unhandled", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      retry: { retryable: (async () => Promise.reject(new Error("async predicate"))) as never },
      processor: async () => {
        throw new Error("work failed");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = (await job.waitUntilFinish().then(() => undefined, (e: unknown) => e)) as JobFailedError;
    expect(error.message).toMatch(/retryable returned a promise/);
    await nothingStray();
  });
});

describe("bad values where the API takes user data", () => {
  it("job.cancel with a reason that is not a string is a ValidationError; the job goes on, and cancels with a string", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    for (const reason of [Symbol("x"), Object.create(null), { toString() { throw new Error("no"); } }, 42]) {
      await expect(job.cancel(reason as never)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect.poll(() => job.status).toBe("running");
    await job.cancel("enough");
    expect(job.status).toBe("cancelled");
    await nothingStray();
  });

  it("a logger whose method getter throws is a ConfigurationError; consoleLogger with a non-level is a ValidationError", () => {
    const hostile = { debug() {}, info() {}, warn() {}, get error(): never { throw new Error("getter"); } };
    expect(() => LiveEnv.create({ logger: hostile as never })).toThrow(ConfigurationError);
    expect(() => consoleLogger(5n as never)).toThrow(ValidationError);
  });
});

describe("user code that throws hostile values", () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const hostile: Array<[string, () => unknown]> = [
    ["undefined", () => undefined],
    ["null", () => null],
    ["a symbol", () => Symbol("thrown")],
    ["an object without a prototype", () => Object.create(null)],
    ["a revoked proxy", () => revoked.proxy],
    ["an object whose getters throw", () => ({ get message(): string { throw new Error("getter"); }, toString() { throw new Error("toString"); } })],
  ];
  for (const [what, value] of hostile) {
    it(`a processor throwing ${what}: the job fails with JobFailedError, events and logs are plain data`, async () => {
      const warnings: unknown[] = [];
      const { env } = createTestEnv({ logger: { debug() {}, info() {}, warn: (m, f) => void warnings.push(f), error: (m, f) => void warnings.push(f) } });
      const events: LifecycleEvent[] = [];
      env.subscribe((event) => events.push(event));
      const spec = numbers();
      const thrown = value();
      spec.defineWorker({
        liveEnv: env,
        retry: { maxRestarts: 0 },
        processor: async () => {
          throw thrown;
        },
      });
      const job = await spec.enqueueJob({ liveEnv: env });
      const error = await job.waitUntilFinish().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(JobFailedError);
      // The job failed because of what the processor threw, not because reporting it broke.
      expectSameError((error as JobFailedError).cause, thrown);
      expect(job.status).toBe("failed");
      expect(() => JSON.stringify(events)).not.toThrow();
      expect(() => JSON.stringify(warnings)).not.toThrow();
      expect(typeof (error as JobFailedError).message).toBe("string");
      await env.close();
      await nothingStray();
    });
  }

  it("a retry predicate that throws fails the job with a JobFailedError that says so, instead of breaking the supervisor", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      retry: {
        retryable: () => {
          throw new Error("predicate bug");
        },
      },
      processor: async () => {
        throw new Error("work failed");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = (await job.waitUntilFinish().then(() => undefined, (e: unknown) => e)) as JobFailedError;
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error.message).toMatch(/retry\.retryable predicate threw \(Error: predicate bug\)/);
    expect((error.cause as Error).message).toBe("work failed");
    await env.close();
    await nothingStray();
  });
});
