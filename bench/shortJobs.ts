import { library } from "./library.js";
import { pQueueShortJob } from "./baselines/pQueue.js";
import { rawLifecycle } from "./baselines/rawXState.js";
import { compare, nextJobId, passThrough, type BenchMode, type ResultRow } from "./common.js";
import { shortJob } from "./shortJob.js";

const { LiveEnv } = library;
const MIN_RATIO = 0.85;

/** Runs `batch` calls of `run` at once and waits for all of them. */
export function batchOf(batch: number, run: (i: number) => Promise<unknown>): () => Promise<void> {
  return async () => {
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < batch; i++) runs.push(run(i));
    await Promise.all(runs);
  };
}

/** Jobs in one batch of scenarios 2 and 5. */
export function jobsPerBatch(mode: BenchMode): number {
  return mode.quick ? 20 : 200;
}

/**
 * Scenario 2: short jobs (enqueue, feed one, read the result, complete) in
 * batches, against the same lifecycle in raw XState (the target) and
 * against p-queue running the same work as plain promises (a reference).
 */
export async function shortJobs(mode: BenchMode): Promise<ResultRow[]> {
  const batch = jobsPerBatch(mode);
  const env = LiveEnv.create({ projectId: "bench-short" });
  const libraryBatch = batchOf(batch, shortJob(env, "short", Infinity));
  const lifecycleBatch = batchOf(batch, () => rawLifecycle(nextJobId()));
  const pQueueBatch = batchOf(batch, pQueueShortJob(Infinity, { input: passThrough, output: passThrough }));
  // Warm every side up before any is measured, as scenario 1 does: compare's
  // own warm-up (two batches a side) leaves the library's job path short of
  // its optimised steady state.
  for (let round = 0; round < (mode.quick ? 1 : 10); round++) {
    await libraryBatch();
    await lifecycleBatch();
    await pQueueBatch();
  }
  const lifecycle = await compare(libraryBatch, lifecycleBatch, mode);
  const pQueue = await compare(libraryBatch, pQueueBatch, mode);
  await env.close();
  return [
    {
      scenario: "2 short jobs",
      metric: `vs the same lifecycle in raw XState (batches of ${batch})`,
      unit: "jobs/s",
      library: batch / (lifecycle.library / 1e9),
      baseline: batch / (lifecycle.baseline / 1e9),
      ratio: lifecycle.ratio,
      wallRatio: lifecycle.wallRatio,
      target: `≥ ${MIN_RATIO} ×`,
      pass: lifecycle.ratio >= MIN_RATIO,
    },
    {
      scenario: "2 short jobs",
      metric: "vs p-queue running the same work (plain promises)",
      unit: "jobs/s",
      library: batch / (pQueue.library / 1e9),
      baseline: batch / (pQueue.baseline / 1e9),
      ratio: pQueue.ratio,
      wallRatio: pQueue.wallRatio,
      target: "(reference)",
    },
  ];
}
