/**
 * How the Redis backend sends a process's writes (src/redis/writeQueue.ts):
 * writes made in one turn of the event loop go in one script call per
 * stream, even when the writer awaits each one, and a cursor of this process
 * sees the writes this process queued before its read. Counted on a private
 * Redis (`INFO commandstats`), so no other test's commands mix in.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { redisBackend } from "../src/redis/index.js";
import { startRedisServer, uniquePrefix, type RedisServerHandle } from "./helpers/redisServer.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let server: RedisServerHandle;
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

/** Script calls (`EVALSHA`) and plain `XADD`s Redis has run since the last reset. */
async function calls(): Promise<{ scripts: number; xadds: number }> {
  const info = await admin.info("commandstats");
  const count = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { scripts: count("evalsha") + count("eval"), xadds: count("xadd") };
}

function env(pollMs?: number): LiveEnv {
  const backend = redisBackend({ connection: server.url, prefix: uniquePrefix("batching"), retentionMs: 60_000 });
  // A cursor that missed its notification would wait for this poll: a test with a long one hangs instead of passing late.
  if (pollMs !== undefined) (backend as unknown as { pollMs: number }).pollMs = pollMs;
  return LiveEnv.create({ projectId: "batching", logger: silent, backend });
}

describe("writes of one turn go together", () => {
  it("500 feeds, each awaited, reach Redis in a handful of script calls, not 500", async () => {
    const liveEnv = env();
    try {
      const spec = JobSpec.define({ name: "batched-feeds", input: z.number(), output: z.number() });
      spec.defineWorker({ liveEnv, processor: async ({ input, output }) => { let sum = 0; for await (const n of input) sum += n; await output.emit(sum); } });
      const job = await spec.enqueueJob({ liveEnv });
      await admin.config("RESETSTAT");
      for (let n = 0; n < 500; n++) await job.input.feed(n);
      await job.input.terminate();
      expect((await job.output.first())?.data).toBe((499 * 500) / 2);
      await job.waitUntilFinish();
      // The feeds and the end marker, plus what the job did meanwhile (start, reads, acks, its end): far fewer than one call per feed.
      const { scripts } = await calls();
      expect(scripts).toBeLessThan(40);
      expect(scripts).toBeGreaterThan(2);
    } finally {
      await liveEnv.close();
    }
  }, 20_000);

  it("lifecycle events go inside script calls, none as an XADD of its own", async () => {
    const backend = redisBackend({ connection: server.url, prefix: uniquePrefix("batching"), retentionMs: 60_000 });
    // Every command this process sends passes through the client's sendCommand: record their names.
    const client = (backend as unknown as { client: { sendCommand(command: { name: string }): unknown } }).client;
    const sent: string[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command) => {
      sent.push(command.name.toLowerCase());
      return send(command);
    };
    const liveEnv = LiveEnv.create({ projectId: "batching", logger: silent, backend });
    try {
      const spec = JobSpec.define({ name: "batched-events", input: z.number(), output: z.number() });
      spec.defineWorker({ liveEnv, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n + 1); } });
      const seen: string[] = [];
      const stop = liveEnv.subscribe((event) => seen.push(event.type));
      const results = await Promise.all(Array.from({ length: 20 }, (_, n) => spec.enqueueAndGetResult({ liveEnv, input: n })));
      expect(results.map((result) => result.data)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
      // queued, running and completed of each job reached the env's stream.
      await expect.poll(() => seen.filter((type) => type === "job.status").length, { timeout: 5_000 }).toBeGreaterThanOrEqual(60);
      stop();
      expect(sent).toContain("evalsha");
      expect(sent.filter((name) => name === "xadd")).toEqual([]);
    } finally {
      await liveEnv.close();
    }
  }, 20_000);
});

describe("a cursor sees this process's queued writes", () => {
  it("a reader waiting on a job that ends in this process gets the output and the end without a poll", async () => {
    const liveEnv = env(60_000);
    try {
      const spec = JobSpec.define({ name: "reader-sees-local-end", input: z.number(), output: z.number() });
      spec.defineWorker({ liveEnv, concurrency: 20, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n * 2); } });
      // Many jobs at once: the job ends (and its handles are let go) in the same turn as its last writes are queued.
      const one = async (n: number) => {
        const job = await spec.enqueueJob({ liveEnv });
        const reading = (async () => { const seen: number[] = []; for await (const message of job.output) seen.push(message.data); return seen; })();
        await job.input.feed(n);
        await job.input.terminate();
        await job.waitUntilFinish();
        return reading;
      };
      const all = await Promise.all(Array.from({ length: 40 }, (_, n) => one(n)));
      expect(all).toEqual(Array.from({ length: 40 }, (_, n) => [n * 2]));
    } finally {
      await liveEnv.close();
    }
  }, 10_000);

  it("output.last() right after waitUntilFinish returns what the job emitted", async () => {
    const liveEnv = env();
    try {
      const spec = JobSpec.define({ name: "last-after-finish", input: z.string(), output: z.string() });
      spec.defineWorker({ liveEnv, processor: async ({ input, output }) => { for await (const word of input) await output.emit(word.toUpperCase()); } });
      for (const word of ["a", "b", "c"]) expect((await spec.enqueueAndGetResult({ liveEnv, input: word })).data).toBe(word.toUpperCase());
    } finally {
      await liveEnv.close();
    }
  }, 10_000);
});
