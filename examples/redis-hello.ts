/**
 * The smallest program on Redis (README, "Running on Redis"): one process
 * that defines a worker and runs a job through Redis. Needs a Redis:
 * `LW_REDIS_URL`, default 127.0.0.1:6379. Run: `npx tsx examples/redis-hello.ts`.
 */
import { JobSpec, LiveEnv } from "liveworker";
import { redisBackend } from "liveworker/redis";
import { z } from "zod";

const env = LiveEnv.create({
  projectId: "kitchen",
  backend: redisBackend({ connection: process.env.LW_REDIS_URL ?? "redis://127.0.0.1:6379" }), // or ioredis options
  handleSignals: true, // a worker process ended by Ctrl-C or SIGTERM hands its running jobs to another
});
const shout = JobSpec.define({ name: "shout", input: z.string(), output: z.string() });
shout.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const text of input) await output.emit(text.toUpperCase());
  },
});
const { data } = await shout.enqueueAndGetResult({ liveEnv: env, input: "hello redis" });
console.log(data); // HELLO REDIS
await env.close();
