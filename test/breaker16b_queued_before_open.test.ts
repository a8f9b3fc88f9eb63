/**
 * Breaker 16b: a viewer opened while a job waits `queued` for its spec's
 * concurrency slot does not show that job until it starts (on a backend of
 * this process alone the lifecycle events are followed from now on, and the
 * seed reads only running jobs' actors). README: "each job's row (its
 * statuses, from `queued`: a job waiting for its worker's slot shows before it
 * starts)". (Also so before 8e75ff3: the seed read only running jobs.)
 */
import { afterEach, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { silent, sleep, viewerInit } from "./breaker16_support.js";

const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close()));
});

it("a job queued before the viewer opens shows, queued", async () => {
  const env = LiveEnv.create({ projectId: "b16b-queued", logger: silent });
  envs.push(env);
  const spec = JobSpec.define({ name: "slot", input: z.number(), output: z.number() });
  spec.defineWorker({ liveEnv: env, concurrency: 1, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
  const first = await spec.enqueueJob({ liveEnv: env, jobId: "first" });
  const second = await spec.enqueueJob({ liveEnv: env, jobId: "second" });
  await sleep(50);
  expect(second.status).toBe("queued");
  const viewer = await env.serveInspector({ flushMs: 10 });
  const actors = (await viewerInit(viewer.url)).actors.map((a) => `${a.id}=${a.state}`);
  for (const job of [first, second]) await job.input.terminate();
  await Promise.all([first.waitUntilFinish(), second.waitUntilFinish()]);
  expect(actors).toContain("job:slot/second=queued");
});
