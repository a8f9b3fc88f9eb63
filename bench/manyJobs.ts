import type { LiveJob } from "../src/index.js";
import { library } from "./library.js";
import { collectGarbage, nextJobId, passThrough, settle, type BenchMode, type ResultRow } from "./common.js";

const { JobSpec, LiveEnv } = library;
/** 10 × the jobs may cost at most 12 × the CPU: at most 1.2 × per job. */
const MAX_PER_JOB_GROWTH = 1.2;
const MAX_HEAP_PER_JOB = 12 * 1024;

interface Round {
  count: number;
  /** CPU µs per job from the first enqueue until every job runs and waits for input. */
  startCpu: number;
  /** CPU µs per job from the first feed until every job completed. */
  completeCpu: number;
  /** Wall ms of the whole round (start and complete). */
  wallMs: number;
  /** Heap bytes per live idle job. */
  heapPerJob: number;
}

const cpuMicros = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

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
  const startCpu = process.cpuUsage();
  const jobs: LiveJob[] = [];
  for (let i = 0; i < count; i++) jobs.push(await spec.enqueueJob({ liveEnv: env, jobId: nextJobId() }));
  await ready;
  const startMicros = cpuMicros(startCpu);
  await settle();
  collectGarbage();
  const heapPerJob = (process.memoryUsage().heapUsed - heapBefore) / count;
  const completeCpu = process.cpuUsage();
  await Promise.all(
    jobs.map(async (job, i) => {
      await job.input.feed(i);
      await job.input.terminate();
      await job.waitUntilFinish();
    }),
  );
  const completeMicros = cpuMicros(completeCpu);
  const wallMs = performance.now() - started;
  await env.close();
  return { count, startCpu: startMicros / count, completeCpu: completeMicros / count, wallMs, heapPerJob };
}

/** Scenario 3: 1,000, 10,000 and 100,000 live jobs: CPU and heap per job. */
export async function manyJobs(mode: BenchMode): Promise<ResultRow[]> {
  const counts = mode.quick ? [100, 1_000, 3_000] : [1_000, 10_000, 100_000];
  const cpu = (r: Round) => r.startCpu + r.completeCpu;
  /** The cheapest of a few rounds (fewer at larger counts: each takes longer, and varies less). */
  const best = async (count: number): Promise<Round> => {
    const rounds = count >= 100_000 ? 1 : count >= 10_000 ? 2 : Math.max(1, mode.rounds - 1);
    let result: Round | undefined;
    for (let i = 0; i < rounds; i++) {
      const r = await round(count);
      if (!result || cpu(r) < cpu(result)) result = r;
    }
    return result!;
  };
  await round(counts[0]!); // warm-up
  const measured: Round[] = [];
  for (const count of counts) {
    measured.push(await best(count));
    collectGarbage();
  }
  const gcNote = (globalThis as { gc?: unknown }).gc ? "" : " (no --expose-gc: rough)";
  const row = (metric: string, unit: string, value: number, target: string, pass?: boolean): ResultRow => ({
    scenario: "3 many jobs",
    metric,
    unit,
    library: value,
    baseline: undefined,
    ratio: undefined,
    target,
    ...(pass === undefined ? {} : { pass }),
  });
  const rows: ResultRow[] = [];
  const largest = measured[measured.length - 1]!;
  for (const r of measured) {
    const count = r.count.toLocaleString("en-US");
    rows.push(
      row(`${count} jobs: CPU per job, start + complete`, "µs", cpu(r), `(start ${r.startCpu.toFixed(0)} µs; ${(r.wallMs / 1000).toFixed(1)} s wall)`),
    );
    const isTarget = r === largest;
    rows.push(
      row(
        `${count} jobs: heap per live idle job${gcNote}`,
        "B",
        r.heapPerJob,
        isTarget ? `≤ ${MAX_HEAP_PER_JOB} B` : "(reference)",
        isTarget ? r.heapPerJob <= MAX_HEAP_PER_JOB : undefined,
      ),
    );
  }
  // Linear scaling: a tenfold count within 1.2 × the CPU per job (the first two counts).
  const [small, middle] = measured;
  const growth = cpu(middle!) / cpu(small!);
  rows.push(
    row(
      `CPU per job, ${middle!.count.toLocaleString("en-US")} vs ${small!.count.toLocaleString("en-US")} jobs`,
      "×",
      growth,
      `≤ ${MAX_PER_JOB_GROWTH}`,
      growth <= MAX_PER_JOB_GROWTH,
    ),
  );
  rows.push(row(`CPU per job, ${largest.count.toLocaleString("en-US")} vs ${small!.count.toLocaleString("en-US")} jobs`, "×", cpu(largest) / cpu(small!), "(reference)"));
  return rows;
}
