import { library } from "./library.js";
import { nextJobId, passThrough } from "./common.js";

const { JobSpec } = library;
type Env = ReturnType<(typeof library)["LiveEnv"]["create"]>;

/**
 * The short job of scenarios 2 and 6: a spec whose worker (in `env`, with
 * `concurrency`) emits n + 1 for each n; returns one job's run as a user
 * writes it: enqueue, feed n, end the input, read the first output, wait for
 * the end. Throws on a wrong result.
 */
export function shortJob(env: Env, name: string, concurrency: number): (value: number) => Promise<number> {
  const spec = JobSpec.define({ name, input: passThrough, output: passThrough });
  spec.defineWorker({
    liveEnv: env,
    concurrency,
    processor: async ({ input, output }) => {
      for await (const data of input as AsyncIterable<number>) await output.emit(data + 1);
    },
  });
  return async (value) => {
    const job = await spec.enqueueJob({ liveEnv: env, jobId: nextJobId() });
    await job.input.feed(value);
    await job.input.terminate();
    const result = await job.output.first();
    if (result?.data !== value + 1) throw new Error(`wrong result ${String(result?.data)}`);
    await job.waitUntilFinish();
    return result.data as number;
  };
}
