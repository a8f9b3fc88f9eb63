import { z } from "zod";
import type { LiveEnvOptions } from "../src/index.js";
import { library } from "./library.js";
import { runAsyncGenerators, type PipelineSchemas } from "./baselines/asyncGenerators.js";
import { runNodeStreams } from "./baselines/nodeStreams.js";
import { compare, nextJobId, passThrough, type BenchMode, type ResultRow } from "./common.js";

const { JobSpec, LiveEnv } = library;
const MIN_RATIO = 0.5;

const inputSchema = z.object({ n: z.number(), label: z.string() });
const outputSchema = z.object({ n: z.number(), doubled: z.number() });

const makeInput = (i: number) => ({ n: i, label: "item" });
const work = (data: { n: number }) => ({ n: data.n, doubled: data.n * 2 });

type Validation = "off" | "on";

/** Library side of scenario 1: one env with a pass-through spec and a zod spec. */
function createStreamBench(envOptions: LiveEnvOptions = {}) {
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
  /** Feeds `count` messages through one job from a producer and reads every output. */
  const runJob = async (validation: Validation, count: number): Promise<number> => {
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

const schemas = (validation: Validation): PipelineSchemas =>
  validation === "on" ? { input: inputSchema, output: outputSchema } : { input: undefined, output: undefined };

/** The baselines of scenario 1, each with the same work and the same validation as the library. */
const baselines = {
  "async generators": (validation: Validation, count: number) => runAsyncGenerators(count, schemas(validation), makeInput, work),
  "Node streams": (validation: Validation, count: number) => runNodeStreams(count, schemas(validation), makeInput, work),
};

export function messagesPerRun(mode: BenchMode): number {
  return mode.quick ? 200 : 10_000;
}

/**
 * Scenario 1: one job's stream throughput, validation off and on, against an
 * async-generator pipeline (the target) and a Node stream pipeline (a
 * reference), each doing the same work with the same validation.
 */
export async function streamThroughput(mode: BenchMode): Promise<ResultRow[]> {
  const count = messagesPerRun(mode);
  const { env, runJob } = createStreamBench();
  // Warm every side up before any is measured: the library's data path
  // takes ~100k messages to reach its optimised steady state.
  for (let round = 0; round < (mode.quick ? 1 : 8); round++) {
    for (const validation of ["off", "on"] as const) {
      await runJob(validation, count);
      for (const baseline of Object.values(baselines)) {
        const read = await baseline(validation, count);
        if (read !== count) throw new Error(`baseline read ${read} of ${count}`);
      }
    }
  }
  const rows: ResultRow[] = [];
  for (const [name, baseline] of Object.entries(baselines)) {
    const isTarget = name === "async generators";
    for (const validation of ["off", "on"] as const) {
      const times = await compare(() => runJob(validation, count), () => baseline(validation, count), mode);
      rows.push({
        scenario: "1 stream throughput",
        metric: `validation ${validation}, vs ${name} (${count} msgs/job)`,
        unit: "msg/s",
        library: count / (times.library / 1e9),
        baseline: count / (times.baseline / 1e9),
        ratio: times.ratio,
        wallRatio: times.wallRatio,
        target: isTarget ? `≥ ${MIN_RATIO} ×` : "(reference)",
        ...(isTarget ? { pass: times.ratio >= MIN_RATIO } : {}),
      });
    }
  }
  await env.close();
  return rows;
}
