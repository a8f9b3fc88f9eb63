import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { library, redis } from "./library.js";
import { rawBullmq } from "./baselines/rawBullmq.js";
import { rawStreams } from "./baselines/rawStreams.js";
import { shortJob } from "./shortJob.js";
import { compare, nextJobId, passThrough, type BenchMode, type ResultRow } from "./common.js";

const { JobSpec, LiveEnv } = library;
const MIN_RATIO = 0.5;
/** Short jobs on Redis against BullMQ carrying in-memory liveworker jobs: what the Redis data plane may cost (bench/README.md). */
const CEILING_RATIO = 0.5;
const CONCURRENCY = 50;
const quiet = { debug() {}, info() {}, warn() {}, error: (message: string) => console.error(message) };

/**
 * Scenario 6 (`npm run bench -- --redis`): liveworker on Redis against BullMQ
 * and raw Redis Streams doing the same work on the same Redis
 * (`LW_REDIS_URL`, default 127.0.0.1:6379). Ratios by wall time: the work
 * is round trips, and Redis's CPU is not this process's. Keys go under a
 * prefix of the run's own, deleted at the end.
 */
export async function redisScenarios(mode: BenchMode): Promise<ResultRow[]> {
  const url = process.env.LW_REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = `lwbench:${randomBytes(4).toString("hex")}`;
  const pairs = mode.quick ? { ...mode, pairs: 2 } : { ...mode, pairs: 10 };
  const env = LiveEnv.create({
    projectId: "bench",
    logger: quiet,
    backend: redis.redisBackend({ connection: url, prefix, retentionMs: 60_000 }),
  });
  const rows: ResultRow[] = [];
  try {
    // ——— short jobs vs BullMQ, and vs BullMQ carrying in-memory liveworker jobs (the ceiling: no data plane) ———
    const batch = mode.quick ? 10 : 200;
    const onRedis = shortJob(env, "short", CONCURRENCY);
    const memoryEnv = LiveEnv.create({ projectId: "bench-ceiling", logger: quiet });
    const inMemory = shortJob(memoryEnv, "short-in-memory", CONCURRENCY);
    const libraryBatch = () => Promise.all(Array.from({ length: batch }, (_, i) => onRedis(i)));
    const raw = await rawBullmq({ url } as never, `${prefix}:raw`, CONCURRENCY);
    const jobs = await compare(libraryBatch, () => raw.batch(batch), pairs);
    await raw.close();
    const ceiling = await rawBullmq({ url } as never, `${prefix}:ceiling`, CONCURRENCY, inMemory);
    const againstCeiling = await compare(libraryBatch, () => ceiling.batch(batch), pairs);
    await ceiling.close();
    await memoryEnv.close();
    rows.push({
      scenario: "6 redis",
      metric: `short jobs (batches of ${batch}, concurrency ${CONCURRENCY}) vs BullMQ`,
      unit: "jobs/s",
      library: batch / (jobs.libraryWall / 1e9),
      baseline: batch / (jobs.baselineWall / 1e9),
      ratio: jobs.wallRatio,
      wallRatio: jobs.wallRatio,
      target: `≥ ${MIN_RATIO} × (wall)`,
      pass: jobs.wallRatio >= MIN_RATIO,
    });
    rows.push({
      scenario: "6 redis",
      metric: `short jobs vs BullMQ carrying each job, run by liveworker in memory (the ceiling: no data plane)`,
      unit: "jobs/s",
      library: batch / (againstCeiling.libraryWall / 1e9),
      baseline: batch / (againstCeiling.baselineWall / 1e9),
      ratio: againstCeiling.wallRatio,
      wallRatio: againstCeiling.wallRatio,
      target: `≥ ${CEILING_RATIO} × (wall)`,
      pass: againstCeiling.wallRatio >= CEILING_RATIO,
    });

    // ——— one job's stream vs XADD / XREADGROUP / XACK ———
    const stream = JobSpec.define({ name: "stream", input: passThrough, output: passThrough });
    stream.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const data of input as AsyncIterable<{ n: number }>) await output.emit({ n: data.n, doubled: data.n * 2 });
      },
    });
    const count = mode.quick ? 200 : 5_000;
    const runJob = async (): Promise<void> => {
      const job = await stream.enqueueJob({ liveEnv: env, jobId: nextJobId() });
      const feeder = (async () => {
        for (let i = 0; i < count; i++) await job.input.feed({ n: i, label: "item" });
        await job.input.terminate();
      })();
      let read = 0;
      for await (const _ of job.output) read++;
      await feeder;
      await job.waitUntilFinish();
      if (read !== count) throw new Error(`read ${read} of ${count}`);
    };
    const streams = await rawStreams(url, prefix);
    const messages = await compare(runJob, () => streams.job(count, 1024), pairs);
    await streams.close();
    rows.push({
      scenario: "6 redis",
      metric: `one job's stream (${count} messages) vs XADD/XREADGROUP/XACK`,
      unit: "msg/s",
      library: count / (messages.libraryWall / 1e9),
      baseline: count / (messages.baselineWall / 1e9),
      ratio: messages.wallRatio,
      wallRatio: messages.wallRatio,
      target: `≥ ${MIN_RATIO} × (wall)`,
      pass: messages.wallRatio >= MIN_RATIO,
    });
  } finally {
    await env.close();
    await deleteKeys(url, prefix);
  }
  return rows;
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}[:/]*`, "COUNT", 1_000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}
