import { library } from "./library.js";

const { JobSpec, LiveEnv } = library;
import { AsyncQueue } from "./baselines/asyncPipeline.js";
import { nextJobId, passThrough, percentile, settle, type BenchMode, type ResultRow } from "./common.js";

const MAX_P99_MS = 1;

/** Feeds one message at a time and times until its output is read, in ms. */
async function sample(
  count: number,
  feed: (value: number) => Promise<void>,
  next: () => Promise<IteratorResult<unknown>>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await feed(i);
    const result = await next();
    times.push(performance.now() - started);
    if (result.done) throw new Error("output ended early");
    // idle between messages: the job is waiting for input, as in a real stream
    if (i % 64 === 0) await settle(1);
  }
  return times.sort((a, b) => a - b);
}

async function libraryLatencies(count: number): Promise<number[]> {
  const env = LiveEnv.create({ projectId: "bench-latency" });
  const spec = JobSpec.define({ name: "echo", input: passThrough, output: passThrough });
  spec.defineWorker({
    liveEnv: env,
    processor: async ({ input, output }) => {
      for await (const data of input as AsyncIterable<number>) await output.emit(data);
    },
  });
  const job = await spec.enqueueJob({ liveEnv: env, jobId: nextJobId() });
  const reader = job.output[Symbol.asyncIterator]();
  await settle();
  const times = await sample(count, (value) => job.input.feed(value), () => reader.next());
  await reader.return?.();
  await job.input.terminate();
  await job.waitUntilFinish();
  await env.close();
  return times;
}

async function baselineLatencies(count: number): Promise<number[]> {
  const input = new AsyncQueue<number>(undefined);
  const output = new AsyncQueue<{ data: number; timestamp: number }>(undefined);
  const worker = (async () => {
    for await (const data of input) await output.push({ data, timestamp: Date.now() });
    output.end();
  })();
  const reader = output[Symbol.asyncIterator]();
  const times = await sample(count, (value) => input.push(value), () => reader.next());
  input.end();
  await worker;
  return times;
}

/** Scenario 4: p50 / p99 of one message through an idle running job. */
export async function latency(mode: BenchMode): Promise<ResultRow[]> {
  const count = mode.quick ? 200 : 20_000;
  await libraryLatencies(Math.min(count, 2_000)); // warm-up
  await baselineLatencies(Math.min(count, 2_000));
  const libraryTimes = await libraryLatencies(count);
  const baselineTimes = await baselineLatencies(count);
  const rows: ResultRow[] = [];
  for (const p of [50, 99]) {
    const lib = percentile(libraryTimes, p) * 1000;
    const base = percentile(baselineTimes, p) * 1000;
    rows.push({
      scenario: "4 latency",
      metric: `p${p} of one message`,
      unit: "µs",
      library: lib,
      baseline: base,
      ratio: base / lib,
      target: p === 99 ? `< ${MAX_P99_MS * 1000} µs` : "(none)",
      pass: p === 99 ? lib < MAX_P99_MS * 1000 : true,
    });
  }
  return rows;
}
