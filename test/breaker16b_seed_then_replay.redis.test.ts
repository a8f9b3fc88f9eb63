/**
 * Breaker 16b on Redis: a viewer opened while a job of its own process runs
 * seeds the job's row from its actor (`running`, at the viewer's opening),
 * then the backend replays the job's lifecycle events from the oldest kept
 * (`queued`, `running`, at their own, earlier times). The collector records
 * them all: the job's row gets `running` twice with `queued` in between, its
 * transitions go back in time, and the job's `lastAt` is before its `firstAt`.
 * Before 8e75ff3 a seeded actor was "local" and its lifecycle events were
 * ignored.
 */
import { afterEach, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { redisBackend } from "../src/redis/index.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";
import { silent, sleep, viewerInit } from "./breaker16_support.js";

const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close()));
});

it("a job running here when the viewer opens gets each status once, in time order", async () => {
  const env = LiveEnv.create({ projectId: "b16b-replay", logger: silent, backend: redisBackend({ connection: redisUrl(), prefix: uniquePrefix("b16b-replay"), retentionMs: 60_000 }) });
  envs.push(env);
  const spec = JobSpec.define({ name: "soup", input: z.number(), output: z.number() });
  spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
  const job = await spec.enqueueJob({ liveEnv: env, jobId: "j1" });
  await expect.poll(() => job.status, { timeout: 5_000 }).toBe("running");
  await sleep(100);
  const viewer = await env.serveInspector({ flushMs: 10 });
  await sleep(300); // the replay arrives
  await job.input.terminate();
  await job.waitUntilFinish();
  const jobRow = async () => (await viewerInit(viewer.url)).transitions.filter((t) => t.actorId === "job:soup/j1");
  await expect.poll(async () => (await jobRow()).at(-1)?.state, { timeout: 5_000 }).toBe("completed");
  const row = await jobRow();
  const states = row.map((t) => t.state);
  expect(new Set(states).size, `each status once: ${states.join(" → ")}`).toBe(states.length);
  const times = row.map((t) => t.at);
  expect(times, "in time order").toEqual([...times].sort((a, b) => a - b));
  const actor = (await viewerInit(viewer.url)).actors.find((a) => a.id === "job:soup/j1") as unknown as { firstAt: number; lastAt: number };
  expect(actor.lastAt).toBeGreaterThanOrEqual(actor.firstAt);
});
