/**
 * Soak test (not part of the unit suite): `npm run soak`.
 *
 * 1. Warm-up: a shorter run of both phases, then a forced GC: the baseline heap.
 * 2. 1,000,000 messages through one job (fed with backpressure, read as they come).
 * 3. 100,000 sequential short jobs (`enqueueAndGetResult`).
 * 4. Forced GC; exits 1 when the heap grew more than 10 % over the baseline.
 *
 * Env: SOAK_MESSAGES, SOAK_JOBS override the sizes (for a quick local check).
 */
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";

const MESSAGES = Number(process.env.SOAK_MESSAGES ?? 1_000_000);
const JOBS = Number(process.env.SOAK_JOBS ?? 100_000);
const MAX_GROWTH = 0.1;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("soak: run with --expose-gc (npm run soak)");
  process.exit(2);
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const env = LiveEnv.create({ projectId: "soak", logger: quiet });

const relay = JobSpec.define({ name: "soak-relay", input: z.number(), output: z.number() });
relay.defineWorker({
  liveEnv: env,
  concurrency: 1,
  processor: async ({ input, output }) => {
    for await (const n of input) await output.emit(n + 1);
  },
});

const square = JobSpec.define({ name: "soak-square", input: z.number(), output: z.number() });
square.defineWorker({
  liveEnv: env,
  concurrency: 1,
  processor: async ({ input, output }) => {
    for await (const n of input) await output.emit(n * n);
  },
});

/** Streams `count` messages through one job; returns messages per second. */
async function streamOneJob(count: number): Promise<number> {
  const job = await relay.enqueueJob({ liveEnv: env });
  const started = performance.now();
  const reading = (async () => {
    let received = 0;
    let expected = 1;
    for await (const { data } of job.output) {
      if (data !== expected) throw new Error(`soak: out of order: got ${data}, expected ${expected}`);
      expected++;
      received++;
    }
    return received;
  })();
  for (let n = 0; n < count; n++) await job.input.feed(n);
  await job.input.terminate();
  const [received] = await Promise.all([reading, job.waitUntilFinish()]);
  if (received !== count) throw new Error(`soak: received ${received} of ${count} messages`);
  return count / ((performance.now() - started) / 1_000);
}

/** Runs `count` short jobs one after another; returns jobs per second. */
async function sequentialJobs(count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const { data } = await square.enqueueAndGetResult({ liveEnv: env, input: i % 1_000 });
    if (data !== (i % 1_000) ** 2) throw new Error(`soak: job ${i} returned ${data}`);
  }
  if (env.liveJobCount !== 0) throw new Error(`soak: ${env.liveJobCount} jobs still live`);
  return count / ((performance.now() - started) / 1_000);
}

/** Heap used after full collections (a few rounds, so weak refs and finalizers settle). */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
const rate = (n: number) => Math.round(n).toLocaleString("en-US");

const coldHeap = await settledHeap();
await streamOneJob(Math.min(100_000, MESSAGES));
await sequentialJobs(Math.min(10_000, JOBS));
const baseline = await settledHeap();
console.log(`heap: cold ${mb(coldHeap)}, warm baseline ${mb(baseline)}`);

const messagesPerSecond = await streamOneJob(MESSAGES);
console.log(`one job, ${rate(MESSAGES)} messages: ${rate(messagesPerSecond)} messages/s`);
const afterMessages = await settledHeap();
console.log(`heap after the stream: ${mb(afterMessages)}`);

const jobsPerSecond = await sequentialJobs(JOBS);
console.log(`${rate(JOBS)} sequential jobs: ${rate(jobsPerSecond)} jobs/s`);

await env.close();
const after = await settledHeap();
const growth = (after - baseline) / baseline;
console.log(`heap after (forced GC): ${mb(after)}; growth over warm baseline ${(growth * 100).toFixed(1)} % (limit ${MAX_GROWTH * 100} %)`);
if (growth > MAX_GROWTH) {
  console.error("soak: FAIL, the heap grew more than the limit");
  process.exit(1);
}
console.log("soak: ok");
