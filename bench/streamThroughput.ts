import { z } from "zod";
import type { LiveEnvOptions } from "../src/index.js";
import { library } from "./library.js";

const { JobSpec, LiveEnv } = library;
import { runPipeline } from "./baselines/asyncPipeline.js";
import { compare, nextJobId, passThrough, type BenchMode, type ResultRow } from "./common.js";

const inputSchema = z.object({ n: z.number(), label: z.string() });
const outputSchema = z.object({ n: z.number(), doubled: z.number() });

const makeInput = (i: number) => ({ n: i, label: "item" });
const work = (data: { n: number }) => ({ n: data.n, doubled: data.n * 2 });

/** Library side of scenario 1: one env with a pass-through spec and a zod spec. */
export function createStreamBench(envOptions: LiveEnvOptions = {}) {
  const env = LiveEnv.create({ projectId: "bench-stream", ...envOptions });
  const specs = {
    off: JobSpec.define({ name: "stream-off", input: passThrough, output: passThrough }),
    on: JobSpec.define({ name: "stream-on", input: inputSchema, output: outputSchema }),
  };
  for (const spec of Object.values(specs)) {
    spec.defineWorker({
      liveEnv: env,
      concurrency: Infinity,
      processor: async ({ input, output }) => {
        for await (const data of input as AsyncIterable<{ n: number }>) await output.emit(work(data));
      },
    });
  }
  /** Feeds `count` messages through one job and reads every output. */
  const runJob = async (validation: "off" | "on", count: number): Promise<number> => {
    const job = await specs[validation].enqueueJob({ liveEnv: env, jobId: nextJobId() });
    const feeder = (async () => {
      for (let i = 0; i < count; i++) await job.input.feed(makeInput(i) as never);
      await job.input.terminate();
    })();
    let read = 0;
    for await (const { data } of job.output) if (data !== undefined) read++;
    await feeder;
    await job.waitUntilFinish();
    if (read !== count) throw new Error(`read ${read} of ${count}`);
    return read;
  };
  return { env, runJob };
}

/** Baseline of scenario 1: the hand-written pipeline, same work, same validation. */
export function runBaseline(validation: "off" | "on", count: number): Promise<number> {
  const schemas = validation === "on" ? { input: inputSchema, output: outputSchema } : { input: undefined, output: undefined };
  return runPipeline(count, schemas, makeInput, work as (data: unknown) => unknown);
}

export function messagesPerRun(mode: BenchMode): number {
  return mode.quick ? 200 : 10_000;
}

/** Scenario 1: stream throughput, validation off and on. */
export async function streamThroughput(mode: BenchMode): Promise<ResultRow[]> {
  const count = messagesPerRun(mode);
  const { env, runJob } = createStreamBench();
  // Warm both sides up before either is measured: the library's data path
  // takes ~100k messages to reach its optimised steady state.
  for (let round = 0; round < (mode.quick ? 1 : 8); round++) {
    for (const validation of ["off", "on"] as const) {
      await runJob(validation, count);
      await runBaseline(validation, count);
    }
  }
  const rows: ResultRow[] = [];
  for (const [validation, minRatio] of [["off", 0.5], ["on", 0.7]] as const) {
    const times = await compare(() => runJob(validation, count), () => runBaseline(validation, count), mode);
    const libraryRate = count / (times.library / 1e9);
    const baselineRate = count / (times.baseline / 1e9);
    const ratio = times.ratio;
    rows.push({
      scenario: "1 stream throughput",
      metric: `validation ${validation} (${count} msgs/job)`,
      unit: "msg/s",
      library: libraryRate,
      baseline: baselineRate,
      ratio,
      wallRatio: times.wallRatio,
      target: `≥ ${minRatio} × baseline`,
      pass: ratio >= minRatio,
    });
  }
  await env.close();
  return rows;
}
