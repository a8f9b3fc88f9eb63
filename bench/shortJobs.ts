import { library } from "./library.js";

const { LiveEnv } = library;
import { rawJobAndWorker, rawLifecycle } from "./baselines/rawXState.js";
import { compare, nextJobId, type BenchMode, type ResultRow } from "./common.js";
import { shortJob } from "./shortJob.js";

const MIN_JOBS_PER_SECOND = 20_000;
const MIN_RATIO = 0.4;

/** Scenario 2: short jobs per second (enqueue, feed one, read the result, complete). */
export async function shortJobs(mode: BenchMode): Promise<ResultRow[]> {
  const batch = mode.quick ? 20 : 200;
  const env = LiveEnv.create({ projectId: "bench-short" });
  const oneJob = shortJob(env, "short", Infinity);
  const libraryBatch = async () => {
    const jobs: Promise<number>[] = [];
    for (let i = 0; i < batch; i++) jobs.push(oneJob(i));
    await Promise.all(jobs);
  };
  const baseline = async () => {
    for (let i = 0; i < batch; i++) rawJobAndWorker(nextJobId());
  };
  const lifecycleBatch = async () => {
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < batch; i++) jobs.push(rawLifecycle(nextJobId()));
    await Promise.all(jobs);
  };
  const times = await compare(libraryBatch, baseline, mode);
  const yardstick = await compare(libraryBatch, lifecycleBatch, mode);
  await env.close();
  const libraryRate = batch / (times.library / 1e9);
  const baselineRate = batch / (times.baseline / 1e9);
  const ratio = times.ratio;
  return [
    {
      scenario: "2 short jobs",
      metric: `jobs/s (batches of ${batch})`,
      unit: "jobs/s",
      library: libraryRate,
      baseline: baselineRate,
      ratio,
      wallRatio: times.wallRatio,
      target: `≥ ${MIN_JOBS_PER_SECOND} jobs/s and ≥ ${MIN_RATIO} × raw XState`,
      pass: libraryRate >= MIN_JOBS_PER_SECOND && ratio >= MIN_RATIO,
    },
    {
      scenario: "2 short jobs",
      metric: "vs the same lifecycle in raw XState",
      unit: "jobs/s",
      library: batch / (yardstick.library / 1e9),
      baseline: batch / (yardstick.baseline / 1e9),
      ratio: yardstick.ratio,
      wallRatio: yardstick.wallRatio,
      target: "(none: what XState alone costs)",
      pass: true,
    },
  ];
}
