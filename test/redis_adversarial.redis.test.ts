/**
 * Defects found by an adversarial review of the Redis backend (issue 13),
 * one test each. Several envs, each with its own `redisBackend`, stand for
 * several processes. A test still marked `it.fails` names a defect not fixed
 * yet (its title says what goes wrong); the fix is described in the review.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobSpec, LiveEnv } from "../src/index.js";
import { RedisUnavailableError, redisBackend } from "../src/redis/index.js";
import { redisUrl, startRedisServer, uniquePrefix, type RedisServerHandle } from "./helpers/redisServer.js";

const opened: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((env) => env.close({ graceMs: 0 })));
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface ProcessOptions {
  leaseMs?: number;
  url?: string;
  streams?: { historyLimit?: number; highWaterMark?: number };
  /** Left out of the afterEach close (the test closes it itself). */
  unmanaged?: boolean;
  /** Default 5 000 (the backend's default: a loaded machine may take a second to connect); the Redis-gone tests use 1 000. */
  connectTimeoutMs?: number;
}

/** One "process" of an env: its own backend (own connections) on the shared prefix. */
function processOf(prefix: string, options: ProcessOptions = {}): LiveEnv {
  const env = LiveEnv.create({
    projectId: "kitchen",
    logger: silent,
    ...(options.streams ? { streams: options.streams } : {}),
    backend: redisBackend({ connection: options.url ?? redisUrl(), prefix, retentionMs: 60_000, leaseMs: options.leaseMs ?? 5_000, connectTimeoutMs: options.connectTimeoutMs ?? 5_000 }),
  });
  if (!options.unmanaged) opened.push(env);
  return env;
}

let specs = 0;
const echo = () => JobSpec.define({ name: `adversarial-${++specs}`, input: z.string(), output: z.string() });

/** `promise`, or a rejection naming `what` after `ms` (a hang made visible). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("job ids BullMQ would refuse", () => {
  it("a job id that reads as an integer (\"42\") runs like any other", async () => {
    const prefix = uniquePrefix("adversarial");
    const env = processOf(prefix);
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const word of input) await output.emit(word); } });
    for (const jobId of ["42", "NaN"]) {
      const { data } = await within(spec.enqueueAndGetResult({ liveEnv: env, input: jobId, jobId }), 5_000, `job "${jobId}"`);
      expect(data).toBe(jobId);
    }
  });
});

describe("a client env that outlives its jobs", () => {
  it("reuses a job id once the job finished in another process", async () => {
    const prefix = uniquePrefix("adversarial");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = echo();
    spec.defineWorker({ liveEnv: worker, processor: async ({ input, output }) => { for await (const word of input) await output.emit(word); } });
    for (const word of ["first", "second", "third"]) {
      const { data } = await within(spec.enqueueAndGetResult({ liveEnv: client, input: word, jobId: "daily-report" }), 5_000, `round "${word}"`);
      expect(data).toBe(word);
    }
  });

  it("keeps no subscription to the channel of a job that finished elsewhere", async () => {
    const prefix = uniquePrefix("adversarial");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = echo();
    spec.defineWorker({ liveEnv: worker, processor: async ({ input, output }) => { for await (const word of input) await output.emit(word); } });
    for (let i = 0; i < 10; i++) await spec.enqueueAndGetResult({ liveEnv: client, input: `w${i}` });
    const redis = new Redis(redisUrl());
    try {
      // Channels `<prefix>/kitchen:n:{jobId}`: the worker process unsubscribes when its jobs end; the client should too.
      await expect.poll(async () => (await redis.pubsub("CHANNELS", `${prefix}/*`)) as string[], { timeout: 3_000 }).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});

describe("cancel", () => {
  it("cancelling a job released by a closed worker, which no other worker takes, cancels it at once (it waits, held by nobody)", async () => {
    const prefix = uniquePrefix("adversarial");
    const client = processOf(prefix);
    const worker = processOf(prefix);
    const spec = echo();
    let started = false;
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input }) => {
        started = true;
        for await (const _ of input);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await expect.poll(() => started).toBe(true);
    await worker.close({ graceMs: 0 });
    await within(job.cancel("closing time"), 3_000, "cancel()");
    const error = await within(job.waitUntilFinish().catch((e: unknown) => e), 3_000, "waitUntilFinish()");
    expect(error).toBeInstanceOf(JobCancelledError);
  });
});

describe("a slow reader in another process", () => {
  it("an open reader that takes longer than leaseMs between reads keeps its pin (renewed while open): it skips nothing", async () => {
    const prefix = uniquePrefix("adversarial");
    const streams = { historyLimit: 1, highWaterMark: 2 };
    const worker = processOf(prefix, { leaseMs: 1_000, streams });
    const client = processOf(prefix, { leaseMs: 1_000, streams });
    const spec = echo();
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ output }) => {
        for (let i = 0; i < 10; i++) await output.emit(`m${i}`);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    const reader = job.output[Symbol.asyncIterator]();
    const seen: string[] = [];
    const first = await reader.next();
    if (!first.done) seen.push(first.value.data);
    // A reader still open, busy with its first message for longer than leaseMs (1 s).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    for (let next = await reader.next(); !next.done; next = await reader.next()) seen.push(next.value.data);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  }, 15_000);
});

describe("a lease lost to another process", () => {
  it("the stale process stops at its next read or write: its processor's signal aborts, it takes no new input from the group (the new holder would never get it), and what it emits after lands nowhere", async () => {
    const prefix = uniquePrefix("adversarial");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = echo();
    let signal: AbortSignal | undefined;
    const refused: unknown[] = [];
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output, signal: attemptSignal }) => {
        signal = attemptSignal;
        for await (const word of input) await output.emit(word.toUpperCase()).catch((error: unknown) => refused.push(error));
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    const reader = job.output[Symbol.asyncIterator]();
    await job.input.feed("a");
    expect((await within(reader.next(), 5_000, "the first output")).value?.data).toBe("A");
    // Another process takes the job (its lwStart raises the fencing token).
    const redis = new Redis(redisUrl());
    try {
      await redis.hincrby(`${prefix}/kitchen:job:{${job.jobId}}`, "tok", 1);
    } finally {
      redis.disconnect();
    }
    await job.input.feed("b");
    await expect.poll(() => signal?.aborted, { timeout: 5_000 }).toBe(true);
    const next = await Promise.race([reader.next(), new Promise((resolve) => setTimeout(() => resolve("nothing"), 300))]);
    expect(next).toBe("nothing");
    // "b" is still new to the input's consumer group: the process that holds the job now reads it.
    const check = new Redis(redisUrl());
    try {
      const inputKey = `${prefix}/kitchen:s:{${job.jobId}}:input:${spec.name}/default`;
      const read = (await check.xreadgroup("GROUP", "lw", "c", "COUNT", 10, "STREAMS", inputKey, ">")) as Array<[string, Array<[string, string[]]>]> | null;
      expect(read?.[0]?.[1]).toHaveLength(1);
    } finally {
      check.disconnect();
    }
    expect(job.status).toBe("running"); // the job goes on with its new holder; the stale process recorded no outcome
  });
});

describe("a stale holder's lifecycle events", () => {
  it("land nowhere: a process that lost the job (token raised) reports progress and returns; no observer sees that progress or a completed status", async () => {
    const prefix = uniquePrefix("adversarial");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = JobSpec.define({ name: `adversarial-${++specs}` });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let returned = false;
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ progress }) => {
        await gate;
        progress("from the stale holder");
        returned = true;
      },
    });
    const events: Array<{ type: string; status?: string; value?: unknown }> = [];
    client.subscribe((event) => {
      if (event.jobId === job.jobId) events.push(event as { type: string });
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await expect.poll(() => job.status, { timeout: 5_000 }).toBe("running");
    // Another process takes the job (its lwStart raises the fencing token).
    const redis = new Redis(redisUrl());
    try {
      await redis.hincrby(`${prefix}/kitchen:job:{${job.jobId}}`, "tok", 1);
      open();
      await expect.poll(() => returned, { timeout: 5_000 }).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events.filter((event) => event.type === "job.progress")).toEqual([]);
      expect(events.filter((event) => event.type === "job.status" && event.status === "completed")).toEqual([]);
      // Nor in the job's journal (what a late job.subscribe replays).
      const journal = await redis.xrange(`${prefix}/kitchen:ev:{${job.jobId}}`, "-", "+");
      expect(journal.map(([, fields]) => fields.join(" ")).filter((text) => text.includes("from the stale holder"))).toEqual([]);
    } finally {
      redis.disconnect();
    }
    expect(job.status).toBe("running");
  });
});

/**
 * Runs `body` with a process of the env on a Redis of the test's own (which
 * `body` kills) and a spec with an echo worker there; then closes the env
 * (bounded: Redis is down) and ends the server.
 */
async function onDyingRedis(body: (process: { server: RedisServerHandle; env: LiveEnv; spec: ReturnType<typeof echo> }) => Promise<void>): Promise<void> {
  const server = await startRedisServer();
  const env = processOf(uniquePrefix("adversarial"), { url: server.url, unmanaged: true, connectTimeoutMs: 1_000 });
  try {
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const word of input) await output.emit(word); } });
    await body({ server, env, spec });
  } finally {
    await within(env.close({ graceMs: 0 }), 8_000, "env.close() with Redis down").catch(() => {});
    await server.stop();
  }
}

describe("Redis gone mid-run", () => {
  it("enqueueJob after the connection dropped fails with a RedisUnavailableError naming the address instead of hanging", async () => {
    await onDyingRedis(async ({ server, env, spec }) => {
      expect((await spec.enqueueAndGetResult({ liveEnv: env, input: "up" })).data).toBe("up");
      server.kill();
      await server.stop();
      // Once the process saw the connection drop (a command in flight at that moment: the next test).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const error = await within(spec.enqueueJob({ liveEnv: env }).catch((e: unknown) => e), 8_000, "enqueueJob() with Redis down");
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect((error as Error).message).toContain(`127.0.0.1:${server.port}`);
    });
  }, 30_000);

  it("a command in flight when Redis dies (enqueueJob, a reader's read) fails with a RedisUnavailableError within connectTimeoutMs instead of waiting for Redis", async () => {
    await onDyingRedis(async ({ server, env, spec }) => {
      const admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
      admin.on("error", () => {}); // it loses its server on purpose
      try {
        const job = await spec.enqueueJob({ liveEnv: env });
        const reading = job.output.first().then(
          () => "read",
          (error: unknown) => error,
        );
        // Redis holds every write (CLIENT PAUSE): the next enqueue's store command is sent and gets no answer.
        await admin.client("PAUSE", 60_000, "WRITE");
        const adding = spec.enqueueJob({ liveEnv: env }).then(
          () => "added",
          (error: unknown) => error,
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        server.kill();
        const error = await within(adding, 8_000, "enqueueJob() in flight when Redis died");
        expect(error).toBeInstanceOf(RedisUnavailableError);
        expect((error as Error).message).toContain(`127.0.0.1:${server.port}`);
        expect(await within(reading, 8_000, "a reader waiting when Redis died")).toBeInstanceOf(RedisUnavailableError);
      } finally {
        admin.disconnect();
      }
    });
  }, 30_000);

  it("env.close() settles while Redis is down (BullMQ's connections are cut after connectTimeoutMs)", async () => {
    await onDyingRedis(async ({ server, env, spec }) => {
      expect((await spec.enqueueAndGetResult({ liveEnv: env, input: "up" })).data).toBe("up");
      server.kill();
      await server.stop();
      await within(env.close({ graceMs: 0 }), 8_000, "env.close() with Redis down");
    });
  }, 30_000);
});
