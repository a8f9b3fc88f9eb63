/**
 * Redis restarts (issue 14, part 3), on a Redis of the test's own
 * (`startRedisServer`: a free port; stopped after each test). Two envs, each
 * with its own `redisBackend`, stand for a worker process and a client
 * process. Covered:
 * - a persistent Redis (`appendonly yes`) restarted mid-run, cleanly (stop +
 *   restart) and after a crash (kill + restart): every job completes, every
 *   fed message is handled and its output read (at-least-once: duplicates are
 *   counted and reported), readers, feeds and waiters settle, and the worker
 *   takes new jobs; the time from the restart to the first output read after
 *   it is reported;
 * - a Redis without persistence restarted (empty) mid-run: `waitUntilFinish`
 *   and readers reject with `RedisDataLostError` naming the job, feeds (one
 *   waiting for room among them) with a `StreamClosedError` caused by it,
 *   within `LOST_BOUND_MS`; the worker's processor signal aborts; nothing of
 *   the lost job is written again; the same when its keys vanish without a
 *   reconnect (FLUSHALL), found by the scripts' answers alone;
 * - blocking reads (a reader waiting for output, a worker waiting for input,
 *   an `env.subscribe` listener) go on after a restart.
 * Measured figures are test annotations (`--reporter=verbose` shows them).
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv, StreamClosedError, type LifecycleEvent } from "../src/index.js";
import { RedisDataLostError, redisBackend } from "../src/redis/index.js";
import { startRedisServer, uniquePrefix, type RedisServerHandle } from "./helpers/redisServer.js";

/** Short, so a lost lease or an unreachable Redis shows within the test's time; the restarts here take well under it. */
const LEASE_MS = 2_000;
const CONNECT_TIMEOUT_MS = 3_000;
/**
 * How soon after a restart without persistence every waiter has its
 * `RedisDataLostError`: a reconnection (at most 1 s apart once Redis is back,
 * `RECONNECT_MAX_MS`), a cursor's poll (1 s) and a second of slack.
 */
const LOST_BOUND_MS = 3_000;
/** How long anything here may take to settle before the test calls it a hang. */
const HANG_MS = 15_000;

let server: RedisServerHandle | undefined;
const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => within(env.close({ graceMs: 0 }), 8_000, "env.close()").catch(() => {})));
  await server?.stop();
  server = undefined;
});

/** One "process" of the env: its own backend (own connections) on the test's Redis. */
function processOf(url: string, prefix: string, warnings: string[] = [], streams?: { highWaterMark: number }): LiveEnv {
  const logger = { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error: (message: string) => warnings.push(message) };
  const env = LiveEnv.create({
    projectId: "kitchen",
    logger,
    ...(streams ? { streams } : {}),
    backend: redisBackend({ connection: url, prefix, leaseMs: LEASE_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, retentionMs: 60_000 }),
  });
  envs.push(env);
  return env;
}

let specs = 0;
const numbers = () => JobSpec.define({ name: `restarts-${++specs}`, input: z.number(), output: z.number() });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms` (a hang made visible). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `condition()` holds (checked every 10 ms), or rejects naming `what` after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

/** How a promise settled: "resolved", or its rejection. */
const outcomeOf = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => "resolved", (error: unknown) => error);

/** Values of 0..count-1 missing from `seen`, and how many of `seen` are repeats. */
function tally(seen: readonly number[], count: number): { missing: number[]; duplicates: number } {
  const distinct = new Set(seen);
  return { missing: Array.from({ length: count }, (_, i) => i).filter((i) => !distinct.has(i)), duplicates: seen.length - distinct.size };
}

describe("a persistent Redis (appendonly yes) restarted mid-run", () => {
  const JOBS = 3;
  const MESSAGES = 30;

  const bringDowns: Array<[string, (redis: RedisServerHandle) => Promise<void>]> = [
    ["stopped cleanly", (redis) => redis.stop()],
    [
      "killed (SIGKILL)",
      async (redis) => {
        redis.kill();
        await redis.stop();
      },
    ],
  ];

  for (const [how, bringDown] of bringDowns) it(`${how}, then started again: every job completes, every fed message is handled and read, every waiter settles`, async ({ annotate }) => {
    server = await startRedisServer({ appendonly: true });
    const prefix = uniquePrefix("restarts");
    const worker = processOf(server.url, prefix);
    const client = processOf(server.url, prefix);
    const spec = numbers();
    const handled = new Map<string, number[]>();
    spec.defineWorker({
      liveEnv: worker,
      concurrency: JOBS,
      processor: async ({ input, output, jobId }) => {
        for await (const value of input) {
          handled.set(jobId, [...(handled.get(jobId) ?? []), value]);
          await output.emit(value);
        }
      },
    });
    const jobs = await Promise.all(Array.from({ length: JOBS }, () => spec.enqueueJob({ liveEnv: client })));
    let restartedAt = 0;
    let firstReadAfterRestart = 0;
    const runs = jobs.map((job) => {
      const read: number[] = [];
      // Feeding goes on through the restart, a message every 20 ms.
      const feeding = (async () => {
        for (let i = 0; i < MESSAGES; i++) {
          await job.input.feed(i);
          await sleep(20);
        }
        await job.input.terminate();
      })();
      const reading = (async () => {
        for await (const { data } of job.output) {
          if (restartedAt > 0 && firstReadAfterRestart === 0) firstReadAfterRestart = Date.now();
          read.push(data);
        }
      })();
      return { job, read, settled: Promise.all([feeding, reading, job.waitUntilFinish()]) };
    });
    // Mid-run: every job has some output read, and more to come.
    await until(() => runs.every((run) => run.read.length >= 5), HANG_MS, "five outputs of each job read");
    const readBefore = runs.map((run) => run.read.length);
    const downAt = Date.now();
    await bringDown(server);
    await server.restart();
    restartedAt = Date.now();
    await within(Promise.all(runs.map((run) => run.settled)), HANG_MS, "the feeds, readers and waiters");
    const firstProgressMs = firstReadAfterRestart - restartedAt;

    let duplicates = 0;
    for (const run of runs) {
      expect(run.job.status).toBe("completed");
      const input = tally(handled.get(run.job.jobId) ?? [], MESSAGES);
      const output = tally(run.read, MESSAGES);
      expect(input.missing, `inputs of job ${run.job.jobId} never handled`).toEqual([]);
      expect(output.missing, `outputs of job ${run.job.jobId} never read`).toEqual([]);
      duplicates += input.duplicates + output.duplicates;
    }
    // The worker still takes jobs (its BullMQ worker's blocking wait came back).
    expect((await within(spec.enqueueAndGetResult({ liveEnv: client, input: 42 }), HANG_MS, "a job enqueued after the restart")).data).toBe(42);
    await annotate(
      `Redis down (stop to PING answered) ${restartedAt - downAt} ms; outputs read before: ${readBefore.join(", ")} of ${MESSAGES} per job; first output read ${firstProgressMs} ms after Redis answered again; duplicates (at-least-once): ${duplicates}`,
    );
  }, 30_000);
});

describe("a Redis without persistence restarted (empty) mid-run", () => {
  it("waitUntilFinish, readers and feeds (one waiting for room) reject with the data loss naming the job; the worker's attempt stops; nothing of the job is written again", async ({ annotate }) => {
    server = await startRedisServer();
    const prefix = uniquePrefix("restarts");
    const workerWarnings: string[] = [];
    const worker = processOf(server.url, prefix, workerWarnings);
    const client = processOf(server.url, prefix, [], { highWaterMark: 2 });
    const echo = numbers();
    const sits = numbers();
    const aborted = new Map<string, unknown>();
    let sitting = false;
    echo.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output, jobId, signal }) => {
        signal.addEventListener("abort", () => aborted.set(jobId, signal.reason));
        for await (const value of input) await output.emit(value);
      },
    });
    sits.defineWorker({
      liveEnv: worker,
      // Takes one message and sits on it (never acknowledged): its feeder waits for room (highWaterMark 2).
      processor: async ({ input, jobId, signal }) => {
        signal.addEventListener("abort", () => aborted.set(jobId, signal.reason));
        for await (const _ of input) {
          sitting = true;
          await new Promise((resolve) => signal.addEventListener("abort", resolve));
          return;
        }
      },
    });
    const streaming = await echo.enqueueJob({ liveEnv: client });
    const stuck = await sits.enqueueJob({ liveEnv: client });
    await streaming.input.feed(1);
    const reader = streaming.output[Symbol.asyncIterator]();
    expect((await within(reader.next(), HANG_MS, "the first output")).value?.data).toBe(1);
    // A reader waiting for output that will never come, the waiters, and a feed waiting for room.
    const reading = outcomeOf(reader.next());
    const waiting = outcomeOf(streaming.waitUntilFinish());
    await stuck.input.feed(1);
    await until(() => sitting, HANG_MS, "the sitting processor taking its message");
    let feedSettled = false;
    const feedWaitingForRoom = outcomeOf(stuck.input.feed(2).finally(() => (feedSettled = true)));
    await sleep(300);
    expect(feedSettled, "the second feed waits for room").toBe(false);
    const stuckWaiting = outcomeOf(stuck.waitUntilFinish());

    await server.restart();
    const restartedAt = Date.now();
    const [read, waited, fed, stuckWaited] = await within(Promise.all([reading, waiting, feedWaitingForRoom, stuckWaiting]), HANG_MS, "the waiters");
    const settledMs = Date.now() - restartedAt;

    for (const [error, job] of [
      [read, streaming],
      [waited, streaming],
      [stuckWaited, stuck],
    ] as const) {
      expect(error).toBeInstanceOf(RedisDataLostError);
      expect((error as RedisDataLostError).jobId).toBe(job.jobId);
      expect((error as Error).message).toContain(`lost job "${job.jobId}"'s data`);
      expect((error as Error).message).toContain("appendonly yes");
    }
    expect(fed).toBeInstanceOf(StreamClosedError);
    expect((fed as Error).cause).toBeInstanceOf(RedisDataLostError);
    // A feed after the loss says so too.
    const late = await outcomeOf(streaming.input.feed(4));
    expect(late).toBeInstanceOf(StreamClosedError);
    expect((late as Error).message).toContain(`lost job "${streaming.jobId}"'s data`);
    expect(settledMs).toBeLessThan(LOST_BOUND_MS);

    // The worker stops both attempts, and says why.
    await until(() => aborted.size === 2, LOST_BOUND_MS, "the processors' signals aborting");
    expect(workerWarnings.some((warning) => warning.includes(`lost job "${streaming.jobId}"'s data`))).toBe(true);
    // Nothing of the lost jobs comes back (no group, stream, cursor or hash recreated), even after the processes' polls.
    await sleep(1_500);
    const redis = new Redis(server.url);
    try {
      for (const job of [streaming, stuck]) expect(await redis.keys(`*{${job.jobId}}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    await annotate(`every waiter of the lost jobs settled ${settledMs} ms after Redis answered again (bound ${LOST_BOUND_MS} ms)`);
  }, 30_000);
});

describe("a running job's keys lost without a reconnect (FLUSHALL, as an eviction would)", () => {
  it("the reader and the waiter reject with RedisDataLostError, the worker's attempt stops, and no script writes the job's keys again", async ({ annotate }) => {
    server = await startRedisServer();
    const prefix = uniquePrefix("restarts");
    const worker = processOf(server.url, prefix);
    const client = processOf(server.url, prefix);
    const spec = numbers();
    let abortedWith: unknown;
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output, signal }) => {
        signal.addEventListener("abort", () => (abortedWith = signal.reason));
        for await (const value of input) await output.emit(value);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await job.input.feed(1);
    const reader = job.output[Symbol.asyncIterator]();
    expect((await within(reader.next(), HANG_MS, "the first output")).value?.data).toBe(1);
    const reading = outcomeOf(reader.next());
    const waiting = outcomeOf(job.waitUntilFinish());
    // No reconnect tells anyone: only the scripts' answers (a poll's read, the worker's read of its input) can.
    const redis = new Redis(server.url);
    try {
      await redis.flushall();
      const flushedAt = Date.now();
      const [read, waited] = await within(Promise.all([reading, waiting]), HANG_MS, "the reader and the waiter");
      const settledMs = Date.now() - flushedAt;
      for (const error of [read, waited]) expect(error).toBeInstanceOf(RedisDataLostError);
      expect(settledMs).toBeLessThan(LOST_BOUND_MS);
      await until(() => abortedWith !== undefined, LOST_BOUND_MS, "the processor's signal aborting");
      // Past the worker's restart backoff and a poll: nothing recreated the job's hash, streams, group or cursors.
      await sleep(1_500);
      expect(await redis.keys(`*{${job.jobId}}*`)).toEqual([]);
      await annotate(`the reader and the waiter had their RedisDataLostError ${settledMs} ms after the flush (bound ${LOST_BOUND_MS} ms)`);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});

describe("blocking reads across a restart", () => {
  it("a reader waiting for output, a worker waiting for input and an env.subscribe listener all go on once Redis is back", async ({ annotate }) => {
    server = await startRedisServer({ appendonly: true });
    const prefix = uniquePrefix("restarts");
    const worker = processOf(server.url, prefix);
    const client = processOf(server.url, prefix);
    const spec = numbers();
    let waitingForInput = false;
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output }) => {
        waitingForInput = true;
        for await (const value of input) {
          waitingForInput = false;
          await output.emit(value * 10);
          waitingForInput = true;
        }
      },
    });
    const events: LifecycleEvent[] = [];
    client.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: client });
    const reader = job.output[Symbol.asyncIterator]();
    const firstOutput = reader.next();
    await until(() => waitingForInput && job.status === "running", HANG_MS, "the worker waiting for input");
    // Both sides wait on Redis (the reader for output, the processor for input) while it goes away and comes back.
    await sleep(200);
    server.kill();
    await server.restart();
    const restartedAt = Date.now();
    await job.input.feed(7);
    expect((await within(firstOutput, HANG_MS, "the reader waiting since before the restart")).value?.data).toBe(70);
    const wokeMs = Date.now() - restartedAt;
    await job.input.terminate();
    expect((await within(reader.next(), HANG_MS, "the end of the output")).done).toBe(true);
    await within(job.waitUntilFinish(), HANG_MS, "waitUntilFinish");
    // The listener subscribed before the restart hears the job's end.
    await until(() => events.some((event) => event.jobId === job.jobId && event.type === "job.status" && event.status === "completed"), HANG_MS, "the completed event");
    await annotate(`a message fed after the restart reached the waiting worker and the waiting reader in ${wokeMs} ms`);
  }, 30_000);
});
