/**
 * A hostile review of the Redis backend (issue 13), its data plane: job
 * streams, readers, writers, backpressure, retention. Each test names one
 * defect the review found (all fixed since): its title says what should
 * happen, its comment quotes the promise and says what happened (and where
 * in src/redis the cause was). Several envs, each with its own `redisBackend` on one prefix, stand
 * for several processes. Jobs, env and flows: `redis_breaker_jobs.redis.test.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec } from "../src/index.js";
import { channelsOf, closeProcesses, freshName, monitorOf, processOf, settlement, sleep, stringSpec, within, withRedis } from "./helpers/breaker.js";
import { uniquePrefix } from "./helpers/redisServer.js";

afterEach(closeProcesses);

describe("writers waiting for room", () => {
  it("a client's feed waiting for room settles once the job has ended in another process", async () => {
    // README, Guarantees: "`feed` waits while the worker has that many unacknowledged input messages";
    // in memory the end of the job closes the stream and the waiting feed settles.
    // Redis: the feed never settles (the 1 s poll keeps measuring a lag that stays at highWaterMark).
    // Cause: RedisJobStream.settleWriters finds room only when `closed` is set, which this process learns
    // from an end marker it reads or a refused append; `measure()` appends nothing, and lwAppend reports
    // `closed` only when n > 0. LiveJob's refuse (on the outcome) reaches writes still validating, not an
    // append waiting for room.
    const prefix = uniquePrefix("breaker");
    const worker = processOf(prefix);
    const client = processOf(prefix, { streams: { highWaterMark: 2 } });
    const spec = stringSpec();
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output }) => {
        for await (const word of input) {
          await output.emit(word);
          return; // done after one message: the rest of the input is never acknowledged
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await job.input.feed("a");
    const waiting = settlement(job.input.feed("b")); // highWaterMark 2: waits for an acknowledgement
    await within(job.waitUntilFinish(), 5_000, "waitUntilFinish");
    expect(await within(waiting, 3_000, "the waiting feed")).toMatch(/resolved|StreamClosedError/);
  });

  it("an emit held back by a reader in another process goes on as soon as that reader is closed (not at the next 1 s poll)", async () => {
    // README: "an output reader ... pins what it has not read from the moment it is opened until it is
    // closed (writers wait for it, and the stream keeps what it has not read)"; once closed it no longer
    // holds the writer, which should learn so from a notification like every other change.
    // Redis: the writer goes on only at its next poll, about 1 s after it started waiting.
    // Cause: RedisReader.close removes the reader's cursor (ZREM/HDEL) but publishes no `a|<suffix>` on
    // the job's channel, so RedisJobStream's space waiters are woken by pollSpace only.
    const prefix = uniquePrefix("breaker");
    const streams = { highWaterMark: 2 };
    const worker = processOf(prefix, { streams });
    const client = processOf(prefix, { streams });
    const spec = stringSpec();
    let calledAt = 0;
    let emitted = 0;
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ output }) => {
        for (let i = 0; i < 5; i++) {
          calledAt = Date.now();
          await output.emit(`m${i}`);
          emitted++;
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    const reader = job.output[Symbol.asyncIterator]();
    await reader.next();
    // Waits until an emit has been waiting for 20 ms (the reader holds it back), then closes the reader.
    let stuck = -1;
    for (;;) {
      if (emitted === stuck && calledAt > 0 && Date.now() - calledAt >= 20) break;
      stuck = emitted;
      await sleep(5);
    }
    const closedAt = Date.now();
    await reader.return!();
    await expect.poll(() => emitted, { timeout: 3_000, interval: 5 }).toBeGreaterThan(stuck);
    expect(Date.now() - closedAt).toBeLessThan(500);
  });

  it("a feed from a second client process waits while highWaterMark messages are unacknowledged", async () => {
    // README, Running on Redis: "`feed` waits while `highWaterMark` messages are unacknowledged."
    // Redis: a process that has not written to the input yet resolves its feeds at once, however many
    // messages are unacknowledged (here 2 of highWaterMark 2, fed by another process, job still queued).
    // Cause: RedisJobStream.append decides with `this.lag + this.inflight`, where `lag` is what Redis
    // answered to this process's own last append: 0 in a process that never appended.
    const prefix = uniquePrefix("breaker");
    const streams = { highWaterMark: 2 };
    const one = processOf(prefix, { streams });
    const two = processOf(prefix, { streams });
    const spec = stringSpec(); // no worker anywhere: nothing is acknowledged
    const job = await spec.enqueueJob({ liveEnv: one });
    await job.input.feed("a");
    void settlement(job.input.feed("b")); // waits: 2 unacknowledged
    await sleep(200);
    const handle = await spec.getJob(job.jobId, { liveEnv: two });
    let resolved = false;
    void handle!.input.feed("c").then(() => (resolved = true), () => {});
    await sleep(300);
    expect(resolved).toBe(false);
  });
});

describe("readers", () => {
  it("a client process keeps no subscription to the channel of a job that ended elsewhere, after reading it with first()", async () => {
    // test/redis_backend.redis.test.ts: "a client process lets go of the streams and channels of jobs that
    // ended in another process" (EnvClient.forgetWhenFinal). Redis: after `job.output.first()` on a running
    // job, the client stays subscribed to the job's channel for good, one channel per job.
    // Cause: the reader subscribed the stream (EntryBuffer.waitForMessage → stream.watching()) but never
    // read the end marker; RedisJobStream.dispose stops watching only a stream that is `closed`.
    const prefix = uniquePrefix("breaker");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = stringSpec();
    spec.defineWorker({ liveEnv: worker, processor: async ({ input, output }) => { for await (const word of input) await output.emit(word); } });
    for (let i = 0; i < 3; i++) {
      const job = await spec.enqueueJob({ liveEnv: client });
      await job.input.feed(`w${i}`);
      expect((await job.output.first())?.data).toBe(`w${i}`);
      await job.input.terminate();
      await job.waitUntilFinish();
    }
    await expect.poll(() => channelsOf(prefix), { timeout: 3_000 }).toEqual([]);
  });

  it("a late reader gets the last historyLimit messages once the reader that held the rest was closed (as in memory)", async () => {
    // README, Guarantees: "An output stream keeps the last `historyLimit` messages ... for readers that attach
    // later; a late reader starts at the oldest message kept". In memory a late reader gets ["m4"] here.
    // Redis: it gets ["m1", "m2", "m3", "m4"]: what the closed reader pinned stays until the next append.
    // Cause: RedisReader.close only removes its cursor (ZREM/HDEL); trimming happens in lwAppend (n > 0) and
    // lwMoveCursor, and neither runs once the job has ended.
    const prefix = uniquePrefix("breaker");
    const env = processOf(prefix, { streams: { historyLimit: 1 } });
    const spec = stringSpec();
    spec.defineWorker({ liveEnv: env, processor: async ({ output }) => { for (let i = 0; i < 5; i++) await output.emit(`m${i}`); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    const early = job.output[Symbol.asyncIterator]();
    const first = early.next();
    await job.waitUntilFinish();
    await first;
    await early.return!();
    const late: string[] = [];
    for await (const { data } of job.output) late.push(data);
    expect(late).toEqual(["m4"]);
  });

  it("a process that closes its env lets go of its open readers' pins at once: the writer does not wait leaseMs", async () => {
    // README, Closing: "a reader of such a job still open in the closing process rejects with EnvClosedError";
    // a reader of a dead process stops holding writers back after leaseMs, but this process did not die.
    // Redis: after the client's env.close(), the worker's emits stay held back by the client's reader until
    // its lease (leaseMs, 5 s here) runs out.
    // Cause: RedisBackend.close wakes waiting cursors but never closes the readers still open, so their
    // cursors (`…:cursors`/`…:leases`) stay in Redis until they expire.
    const prefix = uniquePrefix("breaker");
    const streams = { highWaterMark: 2 };
    const worker = processOf(prefix, { streams });
    const client = processOf(prefix, { streams });
    const spec = stringSpec();
    spec.defineWorker({ liveEnv: worker, processor: async ({ output }) => { for (let i = 0; i < 6; i++) await output.emit(`m${i}`); } });
    const job = await spec.enqueueJob({ liveEnv: client });
    const reader = job.output[Symbol.asyncIterator]();
    await reader.next();
    const handle = await spec.getJob(job.jobId, { liveEnv: processOf(prefix) });
    await client.close();
    const closedAt = Date.now();
    await within(handle!.waitUntilFinish(), 10_000, "waitUntilFinish");
    expect(Date.now() - closedAt).toBeLessThan(900);
  });
});

describe("keys", () => {
  it("output tags `a` and `a:cursors` of one spec are two streams, each read whole", async () => {
    // README: tags are "1–200 characters of letters, digits and `. _ : @ -`", so `a:cursors` is a tag.
    // Redis: the job fails with WRONGTYPE: the stream of tag `a:cursors` is the key of tag `a`'s reader
    // positions. Cause: RedisKeys.stream `…:s:{id}:<role>:<node>/<tag>` and the reader keys
    // `<stream>:cursors` / `<stream>:leases` share one namespace; keys.ts assumes "ids hold no `/` or `:`".
    const prefix = uniquePrefix("breaker");
    const env = processOf(prefix);
    const spec = JobSpec.define({ name: freshName("tags"), input: z.string(), output: { a: z.string(), "a:cursors": z.string() } });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const word of input) {
          await output("a").emit(`a-${word}`);
          await output("a:cursors").emit(`c-${word}`);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const read = async (tag: "a" | "a:cursors") => {
      const seen: string[] = [];
      for await (const { data } of job.output(tag)) seen.push(data);
      return seen;
    };
    const reads = Promise.all([read("a"), read("a:cursors")]);
    for (const word of ["x", "y"]) await job.input.feed(word);
    await job.input.terminate();
    const [a, c] = await within(reads, 5_000, "the readers");
    expect({ a, c }).toEqual({ a: ["a-x", "a-y"], c: ["c-x", "c-y"] });
  });

  it("nothing of a job is left after retentionMs, though a client left an output iterator open", async () => {
    // README, retentionMs: "How long a finished job's keys (record, streams, journal) stay; then they expire,
    // and nothing of the job is left." Redis: `…:output:…/default:leases` is left with no time to live.
    // Cause: RedisReader.renew re-sets the reader's lease with a plain HSET every leaseMs/2 while the reader
    // is open and has not read the end: once the job's keys expired, it creates the hash again, without TTL.
    const prefix = uniquePrefix("breaker");
    const options = { retentionMs: 300, leaseMs: 1_000 };
    const worker = processOf(prefix, options);
    const client = processOf(prefix, options);
    const spec = stringSpec();
    spec.defineWorker({ liveEnv: worker, processor: async ({ output }) => { for (let i = 0; i < 3; i++) await output.emit(`m${i}`); } });
    const job = await spec.enqueueJob({ liveEnv: client });
    const iterator = job.output[Symbol.asyncIterator]();
    await iterator.next();
    await job.waitUntilFinish();
    await sleep(2_000);
    expect(await withRedis((redis) => redis.keys(`${prefix}/kitchen:*{${job.jobId}}*`))).toEqual([]);
  });
});

describe("at-least-once", () => {
  it("an input message is acknowledged in Redis only after the outputs emitted for it are stored", async () => {
    // README, Guarantees: "At-least-once delivery. A processor acknowledges an input message when it asks for
    // the next message ... outputs already emitted for it are not withdrawn": an acknowledged message's
    // outputs must be stored before the acknowledgement. Redis (MONITOR): the XACK of `keep` runs before the
    // XADD of its output `KEEP`; were the append refused or lost after the XACK (a process gone mid-pipeline,
    // a takeover in between), `keep` would be acknowledged with no output, and never delivered again.
    // Cause: WriteQueue.batch: the consumer's acknowledgement batch (opened by the ack of `drop`, which had no
    // output) stays open, and the ack of `keep` joins it, ahead of the output batch opened after it.
    const prefix = uniquePrefix("breaker");
    const worker = processOf(prefix);
    const client = processOf(prefix);
    const spec = stringSpec();
    spec.defineWorker({
      liveEnv: worker,
      processor: async ({ input, output }) => {
        for await (const word of input) if (word === "keep") await output.emit(word.toUpperCase());
      },
    });
    const log = await monitorOf(prefix);
    try {
      const job = await spec.enqueueJob({ liveEnv: client });
      await job.input.feed("drop");
      await job.input.feed("keep");
      await job.input.terminate();
      await job.waitUntilFinish();
      await sleep(200);
      // A script's commands are logged one by one: the XADD that stores KEEP, the XACK of `keep` (entry 2-0).
      const stored = log.lines.findIndex((line) => /"XADD" "[^"]*:output:/.test(line) && line.includes("KEEP"));
      const acked = log.lines.findIndex((line) => /"XACK" "[^"]*:input:[^"]*" "lw" (.* )?"2-0"/.test(line));
      expect(stored).toBeGreaterThanOrEqual(0);
      expect(acked).toBeGreaterThan(stored);
    } finally {
      log.stop();
    }
  });
});
