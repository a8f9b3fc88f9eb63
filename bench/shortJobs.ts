import { library } from "./library.js";

const { JobSpec, LiveEnv } = library;
import { rawJobAndWorker, rawLifecycle } from "./baselines/rawXState.js";
import { compare, nextJobId, passThrough, type BenchMode, type ResultRow } from "./common.js";

const MIN_JOBS_PER_SECOND = 20_000;
const MIN_RATIO = 0.4;

/** Scenario 2: short jobs per second (enqueue, feed one, read the result, complete). */
export async function shortJobs(mode: BenchMode): Promise<ResultRow[]> {
  const batch = mode.quick ? 20 : 200;
  const env = LiveEnv.create({ projectId: "bench-short" });
  const spec = JobSpec.define({ name: "short", input: passThrough, output: passThrough });
  spec.defineWorker({
    liveEnv: env,
    concurrency: Infinity,
    processor: async ({ input, output }) => {
      for await (const data of input as AsyncIterable<number>) await output.emit(data + 1);
    },
  });
  const oneJob = async (value: number): Promise<void> => {
    const job = await spec.enqueueJob({ liveEnv: env, jobId: nextJobId() });
    await job.input.feed(value);
    await job.input.terminate();
    const result = await job.output.first();
    if (result?.data !== value + 1) throw new Error(`wrong result ${String(result?.data)}`);
    await job.waitUntilFinish();
  };
  const libraryBatch = async () => {
    const jobs: Promise<void>[] = [];
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
