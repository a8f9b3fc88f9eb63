import { once } from "node:events";
import { PassThrough } from "node:stream";
import { library } from "./library.js";
import { workTransform } from "./baselines/nodeStreams.js";
import { nextJobId, passThrough, percentile, settle, type BenchMode, type ResultRow } from "./common.js";

const { JobSpec, LiveEnv } = library;
/** The library's p99 may be at most this many times the baseline's. */
const MAX_P99_FACTOR = 1.5;

/** One message at a time through a running pipeline: put a value in, take its output out. */
interface Channel {
  feed: (value: number) => Promise<void>;
  next: () => Promise<IteratorResult<unknown>>;
  close: () => Promise<void>;
}

/** Feeds one message at a time and times until its output is read, in ms. */
async function sample(count: number, channel: Channel, times: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await channel.feed(i);
    const result = await channel.next();
    times.push(performance.now() - started);
    if (result.done) throw new Error("output ended early");
    // idle between messages: the job is waiting for input, as in a real stream
    if (i % 64 === 0) await settle(1);
  }
}

/** A running job whose worker emits each input as is. */
async function libraryChannel(): Promise<Channel> {
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
  return {
    feed: (value) => job.input.feed(value),
    next: () => reader.next(),
    close: async () => {
      await reader.return?.();
      await job.input.terminate();
      await job.waitUntilFinish();
      await env.close();
    },
  };
}

/**
 * The baseline: an object-mode PassThrough piped into a Transform doing the
 * same work (the message as is, timestamped like the library's output),
 * read through the Transform's async iterator.
 */
function streamChannel(): Channel {
  const input = new PassThrough({ objectMode: true });
  const transform = workTransform({ input: undefined, output: undefined }, (data) => data);
  input.pipe(transform);
  const reader = transform[Symbol.asyncIterator]();
  return {
    feed: async (value) => {
      if (!input.write(value)) await once(input, "drain");
    },
    next: () => reader.next(),
    close: async () => {
      input.end();
      await reader.return?.();
    },
  };
}

/**
 * Scenario 4: p50 / p99 of one message through an idle running job, against
 * a PassThrough → Transform. Both sides are sampled in alternating chunks,
 * so both see the same machine (one core's speed drifts on a shared host).
 */
export async function latency(mode: BenchMode): Promise<ResultRow[]> {
  const count = mode.quick ? 200 : 20_000;
  const chunks = mode.quick ? 2 : 20;
  const library = await libraryChannel();
  const baseline = streamChannel();
  await sample(Math.min(count, 2_000), library, []); // warm-up
  await sample(Math.min(count, 2_000), baseline, []);
  const libraryTimes: number[] = [];
  const baselineTimes: number[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const sides: Array<[Channel, number[]]> = [
      [library, libraryTimes],
      [baseline, baselineTimes],
    ];
    if (chunk % 2 === 1) sides.reverse();
    for (const [channel, times] of sides) await sample(count / chunks, channel, times);
  }
  await library.close();
  await baseline.close();
  libraryTimes.sort((a, b) => a - b);
  baselineTimes.sort((a, b) => a - b);
  return [50, 99].map((p) => {
    const lib = percentile(libraryTimes, p) * 1000;
    const base = percentile(baselineTimes, p) * 1000;
    const row: ResultRow = {
      scenario: "4 latency",
      metric: `p${p} of one message, vs PassThrough → Transform (${count} msgs)`,
      unit: "µs",
      library: lib,
      baseline: base,
      ratio: base / lib,
      target: p === 99 ? `≤ ${MAX_P99_FACTOR} × baseline (ratio ≥ ${(1 / MAX_P99_FACTOR).toFixed(2)})` : "(reference)",
    };
    if (p === 99) row.pass = lib <= MAX_P99_FACTOR * base;
    return row;
  });
}
