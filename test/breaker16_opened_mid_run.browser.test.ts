/**
 * Breaker 16: a viewer opened (`env.serveInspector()`) while a job runs. The
 * collector seeds the running job's workers from the job actor's children,
 * whose ids are the child ids (`worker:<name>`), not the names every later
 * event uses (`worker:<name>/<jobId>`, see `toInspectable`). The page then
 * lists a phantom `worker:<name>` that stays `executing` (active) forever —
 * after its job completed, and never forgotten, since only ended actors are —
 * next to the real worker; two running jobs of one spec share that one
 * phantom.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, sleep, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: a viewer opened while jobs run", () => {
  it(
    "names their workers as it names all others, and shows them done once their jobs complete",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-midrun", logger: silent });
      const oven = JobSpec.define({ name: "oven", input: z.number(), output: z.number() });
      oven.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
      const jobs = [await oven.enqueueJob({ liveEnv: env, jobId: "r1" }), await oven.enqueueJob({ liveEnv: env, jobId: "r2" })];
      await sleep(200);
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        for (const job of jobs) {
          await job.input.feed(1);
          await job.input.terminate();
          await job.waitUntilFinish();
        }
        await page.waitForSelector('#actors .actor[data-actor="job:oven/r2"] .status:text-is("completed")', { timeout: PAGE_WAIT_MS });
        await sleep(200);
        const workers = await page.$$eval("#actors .actor.worker", (lines) => lines.map((l) => `${l.getAttribute("data-actor")}: ${l.querySelector(".status")!.textContent}`));
        expect(workers).toEqual(["worker:oven/r1: done", "worker:oven/r2: done"]);
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
