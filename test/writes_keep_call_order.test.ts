/**
 * Issue 11 §3: writes to one stream are appended in call order whatever the
 * schema (sync or async); `terminate()` and the end of an attempt wait for
 * writes already called; an async schema that rejects gives a
 * `ValidationError`; jobs start in `enqueueJob` call order even when option
 * validation is async; concurrent `next()` calls on one iterator each get the
 * next message.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvClosedError, JobSpec, StreamClosedError, ValidationError, type Schema } from "../src/index.js";
import { collect } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

let specCount = 0;
const name = (base: string) => `${base}-${++specCount}`;

/** Resolves after `turns` microtask turns. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await null;
};

/**
 * A Standard Schema of numbers whose async validation takes longer for
 * smaller numbers: without ordering, later writes would overtake earlier ones.
 */
function slowerForSmall(options: { reject?: unknown } = {}): Schema<number> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: async (value: unknown) => {
        if (typeof value !== "number") return { issues: [{ message: "expected a number" }] };
        await turns(20 - value * 3);
        if (options.reject !== undefined && value === 2) throw options.reject;
        return { value };
      },
    },
  };
}

describe("writes keep call order", () => {
  it("feeds called without awaiting reach the processor in call order through an async schema", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-feed"), input: slowerForSmall(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const feeds = [1, 2, 3, 4, 5].map((n) => job.input.feed(n));
    await Promise.all(feeds);
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([1, 2, 3, 4, 5]);
  });

  it("terminate() right after a feed waits for it: the message is not lost", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-terminate"), input: slowerForSmall(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const fed = job.input.feed(1);
    const terminated = job.input.terminate();
    await expect(fed).resolves.toBeUndefined();
    await terminated;
    expect(await collect(job.output)).toEqual([1]);
    // Writes called after terminate are refused, and nothing changes.
    await expect(job.input.feed(2)).rejects.toBeInstanceOf(StreamClosedError);
  });

  it("emits called without awaiting arrive in call order, and a processor that returns first still delivers them", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-emit"), input: z.number(), output: slowerForSmall() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ output }) => {
        for (const n of [1, 2, 3, 4, 5]) void output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    expect(await collect(job.output)).toEqual([1, 2, 3, 4, 5]);
  });

  it("an async schema that rejects (or answers garbage) gives ValidationError, and later writes still land in order", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-reject"), input: slowerForSmall({ reject: new TypeError("validator crashed") }), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const feeds = [1, 2, 3].map((n) => job.input.feed(n).then(() => "ok", (e: unknown) => e));
    const [first, second, third] = await Promise.all(feeds);
    expect(first).toBe("ok");
    expect(second).toBeInstanceOf(ValidationError);
    expect((second as ValidationError).message).toMatch(/the schema rejected \(TypeError: validator crashed\)/);
    expect(third).toBe("ok");
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([1, 3]);

    const answering = (answer: () => unknown): Schema => ({ "~standard": { version: 1, vendor: "test", validate: answer as never } });
    const seen: unknown[] = [];
    for (const [what, answer] of [
      ["undefined", () => undefined],
      ["{}", () => ({})],
      ["[]", () => []],
      ["a thenable with issues", () => ({ then: (resolve: (r: unknown) => void) => resolve({ issues: [{ message: "no" }] }) })],
      ["a thenable with garbage", () => ({ then: (resolve: (r: unknown) => void) => resolve(42) })],
    ] as const) {
      const odd = JobSpec.define({ name: name("order-garbage"), input: answering(answer) });
      odd.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const value of input) seen.push(value); } });
      const oddJob = await odd.enqueueJob({ liveEnv: env });
      await expect(oddJob.input.feed(1), what).rejects.toBeInstanceOf(ValidationError);
      await oddJob.input.terminate();
      await oddJob.waitUntilFinish();
    }
    // Nothing invalid reached a processor.
    expect(seen).toEqual([]);
  });

  it("an emit the processor did not await that fails an async schema fails the attempt, though the processor returned", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-unawaited-invalid"), input: z.number(), output: slowerForSmall() });
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 0 },
      processor: async ({ output }) => {
        void output.emit(1);
        output.emit("not a number" as never).catch(() => {});
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.terminate();
    const error = await job.waitUntilFinish().then(() => undefined, (e: unknown) => e);
    expect(job.status).toBe("failed");
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(ValidationError);
  });

  it("jobs start in enqueueJob call order even when job options validate asynchronously at different speeds", async () => {
    const { env } = createTestEnv();
    const options: Schema<{ n: number }> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: async (value: unknown) => {
          const n = (value as { n: number }).n;
          await turns(30 - n * 5);
          return { value: { n } };
        },
      },
    };
    const spec = JobSpec.define({ name: name("order-enqueue"), jobOptions: options });
    const started: number[] = [];
    spec.defineWorker({ liveEnv: env, concurrency: 1, processor: async ({ jobOptions }) => void started.push(jobOptions.n) });
    const jobs = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => spec.enqueueJob({ liveEnv: env, jobOptions: { n } })));
    await Promise.all(jobs.map((job) => job.waitUntilFinish()));
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("a job whose options fail validation gives its place back: the jobs behind it start", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-invalid"), jobOptions: z.object({ n: z.number().min(0) }) });
    const started: number[] = [];
    spec.defineWorker({ liveEnv: env, concurrency: 1, processor: async ({ jobOptions }) => void started.push(jobOptions.n) });
    const results = await Promise.allSettled([0, -1, 2].map((n) => spec.enqueueJob({ liveEnv: env, jobOptions: { n } })));
    expect(results[1]!.status).toBe("rejected");
    await Promise.all(results.flatMap((r) => (r.status === "fulfilled" ? [r.value.waitUntilFinish()] : [])));
    expect(started).toEqual([0, 2]);
    expect(env.liveJobCount).toBe(0);
  });

  it("env.close() rejects an enqueueJob whose options are still validating (a validation that never ends hangs nothing)", async () => {
    const { env } = createTestEnv();
    const never: Schema<{ n: number }> = { "~standard": { version: 1, vendor: "test", validate: () => new Promise(() => {}) } };
    const spec = JobSpec.define({ name: name("order-never"), jobOptions: never });
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    const enqueued = spec.enqueueJob({ liveEnv: env, jobOptions: { n: 1 } });
    await env.close();
    await expect(enqueued).rejects.toBeInstanceOf(EnvClosedError);
  });

  it("concurrent next() calls on one output reader each get the next message", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-next"), input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const reader = job.output[Symbol.asyncIterator]();
    const pending = [reader.next(), reader.next(), reader.next()];
    for (const n of [1, 2, 3]) await job.input.feed(n);
    await job.input.terminate();
    const got = await Promise.all(pending);
    expect(got.map((r) => r.value?.data)).toEqual([1, 2, 3]);
    expect((await reader.next()).done).toBe(true);
  });

  it("concurrent next() calls on the processor's input made before any message came each get the next one", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-input-waiting"), input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        const iterator = input[Symbol.asyncIterator]();
        // All three wait: the job's input is empty when they are called.
        const batch = await Promise.all([iterator.next(), iterator.next(), iterator.next()]);
        for (const result of batch) await output.emit(result.done ? -1 : result.value);
        for (let result = await iterator.next(); !result.done; result = await iterator.next()) await output.emit(result.value);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await turns(20);
    for (const n of [1, 2, 3, 4]) await job.input.feed(n);
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([1, 2, 3, 4]);
  });

  it("concurrent next() calls on the processor's input drop nothing and repeat nothing", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: name("order-input-next"), input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        const iterator = input[Symbol.asyncIterator]();
        for (;;) {
          const batch = await Promise.all([iterator.next(), iterator.next(), iterator.next()]);
          for (const result of batch) if (!result.done) await output.emit(result.value);
          if (batch.some((result) => result.done)) return;
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    for (const n of [1, 2, 3, 4, 5, 6, 7]) await job.input.feed(n);
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
