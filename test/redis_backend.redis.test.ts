/**
 * The Redis backend's own promises (issue 13): options, an unreachable
 * server, and one env spread over several backends, each standing for a
 * process of its own (its own connections): a job added by one runs in
 * another, any of them feeds it, reads it, waits for it, cancels it, and a
 * closing worker hands its running job to another. The multi-process tests
 * proper (child processes) come with `test/multi_process.redis.test.ts`.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, EnvClosedError, JobCancelledError, JobFailedError, JobSpec, LiveEnv, ValidationError, type LifecycleEvent } from "../src/index.js";
import { RedisUnavailableError, redisBackend } from "../src/redis/index.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const opened: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((env) => env.close()));
});

/** One "process" of an env: its own backend (own connections) on the shared prefix and project. */
function processOf(prefix: string, projectId = "kitchen", leaseMs = 5_000): LiveEnv {
  const env = LiveEnv.create({ projectId, logger: silent, backend: redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000, leaseMs }) });
  opened.push(env);
  return env;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let specs = 0;
const upper = () => JobSpec.define({ name: `upper-${++specs}`, input: z.string(), output: z.string() });

describe("redisBackend options", () => {
  it("refuses unknown keys with a ConfigurationError naming them, and out-of-range values with a ValidationError", () => {
    expect(() => redisBackend({ leaseMS: 1 } as never)).toThrow(ConfigurationError);
    expect(() => redisBackend({ leaseMS: 1 } as never)).toThrow(/leaseMS/);
    expect(() => redisBackend({ leaseMs: 10 })).toThrow(ValidationError);
    expect(() => redisBackend({ retentionMs: -1 })).toThrow(ValidationError);
    expect(() => redisBackend({ prefix: "a/b" })).toThrow(ValidationError);
    expect(() => redisBackend({ connection: 5 as never })).toThrow(ConfigurationError);
    expect(() => redisBackend({ connection: "http://127.0.0.1:6379" })).toThrow(/redis:\/\//);
    expect(() => redisBackend({ globalConcurrency: { chop: 0 } })).toThrow(ValidationError);
  });
});

describe("an unreachable Redis", () => {
  it("fails enqueueJob with a RedisUnavailableError naming the address, within connectTimeoutMs, and close() still settles", async () => {
    const env = LiveEnv.create({ projectId: "nowhere", backend: redisBackend({ connection: "redis://127.0.0.1:1", connectTimeoutMs: 300 }) });
    const spec = upper();
    const started = Date.now();
    const error = await spec.enqueueJob({ liveEnv: env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain("127.0.0.1:1");
    expect(Date.now() - started).toBeLessThan(5_000);
    await env.close();
  });
});

describe("one env, several processes (a backend each)", () => {
  it("a job added by a client runs where its worker is; the client feeds it, reads it and waits for it; a third finds it by id", async () => {
    const prefix = uniquePrefix("redis-backend");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const reader = processOf(prefix);
    const spec = upper();
    const ranIn: LiveEnv[] = [];
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output }) => {
        ranIn.push(worker);
        for await (const word of input) await output.emit(word.toUpperCase());
      },
    });
    const events: LifecycleEvent[] = [];
    client.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: client, jobId: "order-1" });
    for (const word of ["leek", "kale"]) await job.input.feed(word);
    await job.input.terminate();
    const seen: string[] = [];
    for await (const { data } of job.output) seen.push(data);
    await job.waitUntilFinish();
    expect(seen).toEqual(["LEEK", "KALE"]);
    expect(ranIn).toEqual([worker]);
    const found = await spec.getJob("order-1", { liveEnv: reader });
    expect(found?.status).toBe("completed");
    const again: string[] = [];
    for await (const { data } of found!.output) again.push(data);
    expect(again).toEqual(["LEEK", "KALE"]);
    expect(await spec.getJob("no-such-job", { liveEnv: reader })).toBeUndefined();
    await expect.poll(() => events.filter((e) => e.type === "job.status").map((e) => (e as { status: string }).status)).toEqual(["queued", "running", "completed"]);
  });

  it("errors arrive in the client as their classes: JobFailedError with cause and restarts", async () => {
    const prefix = uniquePrefix("redis-backend");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = upper();
    spec.defineWorker({
      liveEnv: worker,
      retry: { maxRestarts: 1, backoff: { initialMs: 1 } },
      processor: async () => {
        throw new RangeError("oven too hot");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).restarts).toHaveLength(1);
    expect((error as JobFailedError).restarts[0]!.attempt).toBe(1);
    expect(((error as JobFailedError).cause as Error).message).toBe("oven too hot");
    expect(job.status).toBe("failed");
  });

  it("a client cancels a job running in another process: its signal aborts there, its waiters get JobCancelledError with the reason", async () => {
    const prefix = uniquePrefix("redis-backend");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = upper();
    let running!: () => void;
    const isRunning = new Promise<void>((resolve) => (running = resolve));
    let abortedAt = 0;
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ signal }) => {
        running();
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        abortedAt = Date.now();
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await isRunning;
    const asked = Date.now();
    await job.cancel("out of leeks");
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobCancelledError);
    expect((error as JobCancelledError).reason).toBe("out of leeks");
    expect(abortedAt).toBeGreaterThan(0);
    expect(abortedAt - asked).toBeLessThan(100);
  });

  it("a job cancelled while queued never runs (no worker anywhere yet)", async () => {
    const prefix = uniquePrefix("redis-backend");
    const client = processOf(prefix);
    const spec = upper();
    const job = await spec.enqueueJob({ liveEnv: client });
    expect(job.status).toBe("queued");
    await job.cancel("changed my mind");
    expect(job.status).toBe("cancelled");
    const worker = processOf(prefix);
    let ran = false;
    spec.defineWorker({ liveEnv: worker, processor: async () => void (ran = true) });
    const other = await spec.enqueueJob({ liveEnv: client });
    await other.input.terminate();
    await other.waitUntilFinish();
    expect(ran).toBe(true); // the worker is up: the cancelled job would have run first
    expect(await job.waitUntilFinish().catch((e: unknown) => e)).toBeInstanceOf(JobCancelledError);
  });

  it("a worker process closing with a running job releases it; another resumes it from its acknowledged input, nothing lost", async () => {
    const prefix = uniquePrefix("redis-backend");
    const client = processOf(prefix);
    const first = processOf(prefix);
    const spec = upper();
    const handled: Array<[string, string]> = [];
    const define = (env: LiveEnv, name: string) =>
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ input, output }) => {
          for await (const word of input) {
            handled.push([name, word]);
            await output.emit(word.toUpperCase());
          }
        },
      });
    define(first, "first");
    const job = await spec.enqueueJob({ liveEnv: client });
    for (const word of ["a", "b", "c"]) await job.input.feed(word);
    await expect.poll(() => handled.length).toBe(3);
    await first.close({ graceMs: 0 });
    expect(job.status).toBe("running"); // released, not cancelled
    const second = processOf(prefix);
    define(second, "second");
    for (const word of ["d", "e"]) await job.input.feed(word);
    await job.input.terminate();
    await job.waitUntilFinish();
    const seen: string[] = [];
    for await (const { data } of job.output) seen.push(data);
    // Every input handled; "c" may come twice (taken, not yet acknowledged when the first let go): at least once.
    expect(new Set(seen)).toEqual(new Set(["A", "B", "C", "D", "E"]));
    expect(handled.filter(([name]) => name === "second").map(([, word]) => word)).toEqual(expect.arrayContaining(["d", "e"]));
  });

  it("a job resumed in another process keeps its restart budget: restarts granted in the first count in the second", async () => {
    const prefix = uniquePrefix("redis-backend");
    const client = processOf(prefix);
    const first = processOf(prefix);
    const spec = upper();
    const retry = { maxRestarts: 2, withinMs: 60_000, backoff: { initialMs: 0, jitter: 0 } };
    const attempts = { first: 0, second: 0 };
    // The first process fails twice (two restarts granted), then holds the job until it closes.
    spec.defineWorker({
      liveEnv: first,
      retry,
      processor: async ({ input, signal }) => {
        if (++attempts.first <= 2) throw new Error(`first process, attempt ${attempts.first}`);
        for await (const _ of input);
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await expect.poll(() => attempts.first, { timeout: 5_000 }).toBe(3);
    await first.close({ graceMs: 0 });
    // The second process fails at once: with the history it resumed from, the budget (2) is spent.
    const second = processOf(prefix);
    spec.defineWorker({
      liveEnv: second,
      retry,
      processor: async () => {
        attempts.second++;
        throw new Error("second process");
      },
    });
    const error = (await job.waitUntilFinish().catch((e: unknown) => e)) as JobFailedError;
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error.message).toMatch(/restart budget/);
    expect(error.restarts.map((record) => record.error.message)).toEqual(["first process, attempt 1", "first process, attempt 2"]);
    // Without the history it would have restarted twice more here (3 attempts).
    expect(attempts.second).toBe(1);
  });

  it("a reader whose pin lapsed (its process did not renew it within leaseMs) is told what it skipped, and goes on at the next kept message", async () => {
    const prefix = uniquePrefix("redis-backend");
    const warnings: string[] = [];
    const env = LiveEnv.create({
      projectId: "kitchen",
      logger: { ...silent, warn: (message: string) => warnings.push(message) },
      streams: { historyLimit: 5, highWaterMark: 5 },
      backend: redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000 }),
    });
    opened.push(env);
    const spec = JobSpec.define({ name: `counting-${++specs}`, input: z.number(), output: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) for (let i = 0; i < n; i++) await output.emit(i); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    const reader = job.output[Symbol.asyncIterator]();
    await job.input.feed(30);
    await job.input.terminate();
    const seen = [(await reader.next()).value!.data];
    // The writer waits for this reader (highWaterMark 5). Its pin lapses, as if this process had stalled past leaseMs.
    const admin = new Redis(redisUrl());
    try {
      const leases = `${prefix}/kitchen:s:{${job.jobId}}:output:${spec.name}/default/leases`;
      await expect.poll(() => admin.hlen(leases)).toBe(1);
      for (const reader of await admin.hkeys(leases)) await admin.hset(leases, reader, 0);
    } finally {
      admin.disconnect();
    }
    await job.waitUntilFinish();
    for (let next = await reader.next(); !next.done; next = await reader.next()) seen.push(next.value.data);
    // What it held (0 and whatever it had read ahead), then, after a jump, what was kept, to the end; the skipped run is named.
    const jump = seen.findIndex((value, i) => i > 0 && value !== seen[i - 1]! + 1);
    expect(jump).toBeGreaterThan(0);
    const held = seen[jump - 1]!;
    const resumed = seen[jump]!;
    expect(seen).toEqual([...Array.from({ length: held + 1 }, (_, i) => i), ...Array.from({ length: 30 - resumed }, (_, i) => resumed + i)]);
    expect(warnings).toEqual([expect.stringContaining(`skipped ${resumed - held - 1} message(s) (offsets ${held + 1} to ${resumed - 1})`)]);
  });

  it("a client process lets go of the streams and channels of jobs that ended in another process", async () => {
    const prefix = uniquePrefix("redis-backend");
    const backend = redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000 });
    const client = LiveEnv.create({ projectId: "kitchen", logger: silent, backend });
    opened.push(client);
    const worker = processOf(prefix);
    const spec = upper();
    spec.defineWorker({ liveEnv: worker, concurrency: 10, processor: async ({ input, output }) => { for await (const w of input) await output.emit(w.toUpperCase()); } });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => spec.enqueueAndGetResult({ liveEnv: client, input: `w${i}` })));
    expect(results.map((result) => result.data)).toEqual(Array.from({ length: 30 }, (_, i) => `W${i}`));
    const internals = backend as unknown as { streams: { jobs: Map<string, unknown> }; notifier: { channels: Map<string, unknown> } };
    // Nothing of the 30 jobs is kept: no stream handle, no subscription to a job's channel.
    await expect.poll(() => internals.streams.jobs.size).toBe(0);
    await expect.poll(() => internals.notifier.channels.size).toBe(0);
  });

  it("a reader in a process that closes rejects with EnvClosedError, while the job runs on in another process", async () => {
    const prefix = uniquePrefix("redis-backend");
    const client = LiveEnv.create({ projectId: "kitchen", logger: silent, backend: redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000 }) });
    const worker = processOf(prefix);
    const spec = upper();
    spec.defineWorker({ liveEnv: worker, processor: async ({ input, output }) => { for await (const w of input) await output.emit(w.toUpperCase()); } });
    const job = await spec.enqueueJob({ liveEnv: client });
    const seen: string[] = [];
    // Its outcome, caught from the start (it settles while close() runs).
    const reading = (async () => {
      for await (const { data } of job.output) seen.push(data);
    })().then(
      () => "ended",
      (error: unknown) => error,
    );
    await job.input.feed("a");
    await expect.poll(() => seen).toEqual(["A"]);
    await client.close();
    expect(await reading).toBeInstanceOf(EnvClosedError);
    // The job itself goes on: another process feeds and ends it.
    const again = await spec.getJob(job.jobId, { liveEnv: worker });
    await again!.input.feed("b");
    await again!.input.terminate();
    await again!.waitUntilFinish();
  });

  it("a process closing from a listener of its new job's `queued` event still adds the job: enqueueJob resolves, close settles, another process runs it", async () => {
    const prefix = uniquePrefix("redis-backend");
    const first = processOf(prefix);
    const spec = upper();
    const define = (env: LiveEnv, name: string, ran: string[]) =>
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ input }) => {
          for await (const _ of input);
          ran.push(name);
        },
      });
    const ran: string[] = [];
    define(first, "first", ran);
    let closing: Promise<void> | undefined;
    first.subscribe((event) => {
      if (event.type === "job.status" && event.status === "queued") closing ??= first.close();
    });
    // The close lands while the job is on its way into BullMQ's queue: it waits for that, or the job would be in its hash and in no queue.
    const job = await spec.enqueueJob({ liveEnv: first });
    await closing;
    expect(job.status).not.toBe("cancelled"); // never taken here, or released: close() does not cancel on a shared backend
    const second = processOf(prefix);
    define(second, "second", ran);
    const found = await spec.getJob(job.jobId, { liveEnv: second });
    await found!.input.terminate();
    await found!.waitUntilFinish();
    expect(found!.status).toBe("completed");
    expect(ran).toEqual(["second"]);
  });

  it("a finished job's keys expire after retentionMs; other projects on the same prefix see nothing of it", async () => {
    const prefix = uniquePrefix("redis-backend");
    const env = processOf(prefix);
    const stranger = processOf(prefix, "another-project");
    const spec = upper();
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const w of input) await output.emit(w); } });
    const { data } = await spec.enqueueAndGetResult({ liveEnv: env, input: "x", jobId: "kept-a-while" });
    expect(data).toBe("x");
    expect(await spec.getJob("kept-a-while", { liveEnv: stranger })).toBeUndefined();
    const redis = new Redis(redisUrl());
    try {
      const keys = await redis.keys(`${prefix}/kitchen:*{kept-a-while}*`);
      expect(keys.length).toBeGreaterThanOrEqual(3); // the job, its streams, its journal
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(60_000);
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe("globalConcurrency", () => {
  it("caps a spec's jobs running at once across processes (BullMQ's global concurrency), while each process allows more", async () => {
    const prefix = uniquePrefix("redis-backend");
    const spec = upper();
    const envOf = () => {
      const env = LiveEnv.create({
        projectId: "kitchen",
        logger: silent,
        backend: redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000, globalConcurrency: { [spec.name]: 1 } }),
      });
      opened.push(env);
      return env;
    };
    const client = envOf();
    let running = 0;
    let most = 0;
    for (const worker of [envOf(), envOf()]) {
      spec.defineWorker({
        liveEnv: worker,
        concurrency: 5,
        processor: async ({ input, output }) => {
          most = Math.max(most, ++running);
          for await (const word of input) await output.emit(word);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
        },
      });
    }
    const jobs = await Promise.all(Array.from({ length: 6 }, () => spec.enqueueJob({ liveEnv: client })));
    for (const job of jobs) await job.input.terminate();
    await Promise.all(jobs.map((job) => job.waitUntilFinish()));
    expect(most).toBe(1);
  });

  it("finds no cap for a spec named like an Object.prototype member (constructor, hasOwnProperty, valueOf) and reports nothing", async () => {
    const errors: string[] = [];
    const env = LiveEnv.create({
      projectId: "kitchen",
      logger: { ...silent, error: (message: string) => errors.push(message) },
      // The names are looked up as own keys: none of them is in the (empty) map, so none has a cap.
      backend: redisBackend({ connection: redisUrl(), prefix: uniquePrefix("redis-backend"), retentionMs: 60_000, globalConcurrency: {} }),
    });
    opened.push(env);
    for (const name of ["constructor", "hasOwnProperty", "valueOf"]) {
      const spec = JobSpec.define({ name, input: z.string(), output: z.string() });
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ input, output }) => {
          for await (const word of input) await output.emit(word);
        },
      });
      const job = await spec.enqueueJob({ liveEnv: env });
      await job.input.feed(name);
      await job.input.terminate();
      await job.waitUntilFinish();
    }
    expect(errors).toEqual([]);
  });
});
