/**
 * Breaker 16b: a viewer opened while a job is `stopping` (cancelled, its worker
 * still inside its stop grace) seeds the job's row from the job actor's
 * machine state, `stopping`, which is not a status. README ("The offline
 * viewer"; "The job machine": "the viewer's job rows [show] its statuses")
 * says a job row shows the job's statuses (queued/running/completed/failed/
 * cancelled); a viewer open from the start shows `running` there.
 */
import { afterEach, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { silent, sleep, viewerInit } from "./breaker16_support.js";

const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close()));
});

it("a job row seeded while the job stops shows a status (running), as a viewer open from the start does", async () => {
  const env = LiveEnv.create({ projectId: "b16b-stopping", logger: silent });
  envs.push(env);
  const early = await env.serveInspector({ flushMs: 10 });
  const spec = JobSpec.define({ name: "slowstop", input: z.number(), output: z.number() });
  spec.defineWorker({
    liveEnv: env,
    timeouts: { stopMs: 5_000 },
    // Takes 400 ms to return after its signal aborts: the job stays `stopping` meanwhile.
    processor: async ({ signal }) => {
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => setTimeout(resolve, 400)));
    },
  });
  const job = await spec.enqueueJob({ liveEnv: env, jobId: "s1" });
  await sleep(50);
  const cancelled = job.cancel("enough");
  await sleep(50);
  const late = await env.serveInspector({ flushMs: 10 });
  const rowOf = async (url: string) => (await viewerInit(url)).actors.find((actor) => actor.id === "job:slowstop/s1")?.state;
  const earlyRow = await rowOf(early.url);
  const lateRow = await rowOf(late.url);
  await cancelled;
  expect(earlyRow, "the viewer open from the start").toBe("running");
  expect(["queued", "running", "completed", "failed", "cancelled"], "the job row of the viewer opened while the job stops").toContain(lateRow);
  expect(lateRow).toBe(earlyRow);
});
