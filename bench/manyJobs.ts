import type { LiveJob } from "../src/index.js";
import { library } from "./library.js";

const { JobSpec, LiveEnv } = library;
import { collectGarbage, nextJobId, passThrough, settle, type BenchMode, type ResultRow } from "./common.js";

const MAX_SCALING = 12;
const MAX_HEAP_PER_JOB = 16 * 1024;

interface Round {
  /** ms from the first enqueue until every job runs and waits for input. */
  startMs: number;
  /** ms from the first feed until every job completed. */
  completeMs: number;
  /** Heap bytes per live idle job. */
  heapPerJob: number;
}

/** Starts `count` jobs that wait for input, measures, then completes them all. */
async function round(count: number): Promise<Round> {
  const env = LiveEnv.create({ projectId: "bench-many" });
  const spec = JobSpec.define({ name: "idle", input: passThrough, output: passThrough });
  let waiting = 0;
  let allWaiting: () => void = () => {};
  const ready = new Promise<void>((resolve) => (allWaiting = resolve));
  spec.defineWorker({
    liveEnv: env,
    concurrency: Infinity,
    processor: async ({ input, output }) => {
      if (++waiting === count) allWaiting();
      for await (const data of input as AsyncIterable<number>) await output.emit(data);
    },
  });
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const jobs: LiveJob[] = [];
  for (let i = 0; i < count; i++) jobs.push(await spec.enqueueJob({ liveEnv: env, jobId: nextJobId() }));
  await ready;
  const startMs = performance.now() - started;
  await settle();
  collectGarbage();
  const heapPerJob = (process.memoryUsage().heapUsed - heapBefore) / count;
  const completing = performance.now();
  await Promise.all(
    jobs.map(async (job, i) => {
      await job.input.feed(i);
      await job.input.terminate();
      await job.waitUntilFinish();
    }),
  );
  const completeMs = performance.now() - completing;
  await env.close();
  return { startMs, completeMs, heapPerJob };
}

/** Scenario 3: 1,000 and 10,000 concurrent running jobs. */
export async function manyJobs(mode: BenchMode): Promise<ResultRow[]> {
  const small = mode.quick ? 50 : 1_000;
  const large = mode.quick ? 500 : 10_000;
  const best = async (count: number): Promise<Round> => {
    let result: Round | undefined;
    for (let i = 0; i < (count >= 10_000 ? 1 : Math.max(1, mode.rounds - 1)); i++) {
      const r = await round(count);
      if (!result || r.startMs + r.completeMs < result.startMs + result.completeMs) result = r;
    }
    return result!;
  };
  await round(small); // warm-up
  const a = await best(small);
  const b = await best(large);
  const scaling = (b.startMs + b.completeMs) / (a.startMs + a.completeMs);
  const gcNote = (globalThis as { gc?: unknown }).gc ? "" : " (no --expose-gc: rough)";
  const row = (metric: string, unit: string, library: number, target: string, pass: boolean): ResultRow => ({
    scenario: "3 many jobs",
    metric,
    unit,
    library,
    baseline: undefined,
    ratio: undefined,
    target,
    pass,
  });
  return [
    row(`start + complete ${small} jobs`, "ms", a.startMs + a.completeMs, `(start ${a.startMs.toFixed(0)} ms)`, true),
    row(`start + complete ${large} jobs`, "ms", b.startMs + b.completeMs, `(start ${b.startMs.toFixed(0)} ms)`, true),
    row(`${large}/${small} time ratio`, "×", scaling, `≤ ${MAX_SCALING * (large / small / 10)}`, scaling <= MAX_SCALING * (large / small / 10)),
    row(`heap per live idle job${gcNote}`, "B", b.heapPerJob, `≤ ${MAX_HEAP_PER_JOB} B`, b.heapPerJob <= MAX_HEAP_PER_JOB),
  ];
}
