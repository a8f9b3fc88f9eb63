/**
 * Breaker 16: a long-running job (the library's premise: long-lived streaming
 * jobs) whose own early state changes (`queued`, `running`) were pushed out of
 * the last `maxEvents` by other jobs vanishes from the timeline — its row and
 * every worker row under it — although its worker's recent changes (a failure,
 * a restart) are still kept and the actor list still shows it running.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, sleep, viewerInit, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: a long-running job past maxEvents", () => {
  it(
    "keeps its worker's row (with the recent failure mark) on the timeline once its own early changes were dropped",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-long", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10, maxEvents: 20 });
      const page = await openViewer(browser, viewer.url);
      try {
        const long = JobSpec.define({ name: "long", input: z.number(), output: z.number() });
        let hiccuped = false;
        long.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 5, backoff: { initialMs: 10, jitter: 0 } },
          processor: async ({ input, output }) => {
            for await (const n of input) {
              if (n === -1 && !hiccuped) {
                hiccuped = true;
                throw new Error("the long job hiccuped");
              }
              await output.emit(n);
            }
          },
        });
        const echo = JobSpec.define({ name: "echo", input: z.number(), output: z.number() });
        echo.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });

        const job = await long.enqueueJob({ liveEnv: env, jobId: "L" });
        await page.waitForSelector('#timeline .row[data-actor="worker:long/L"] .band[data-state="executing"]', { timeout: PAGE_WAIT_MS });
        // Other jobs come and go: the long job's first changes leave the last 20.
        for (let i = 0; i < 8; i++) await echo.enqueueAndGetResult({ liveEnv: env, jobId: `e${i}`, input: i });
        // Now the long job's worker fails once and restarts: these changes are recent, and kept.
        await job.input.feed(-1);
        await page.waitForSelector('#actors .actor[data-actor="worker:long/L"] .status:text("attempt 2")', { timeout: PAGE_WAIT_MS });
        await sleep(300);
        // The page still holds the worker's failure (the server's last 20 changes have it)…
        const init = await viewerInit(viewer.url);
        expect(init.transitions.some((t) => t.actorId === "worker:long/L" && t.state === "error")).toBe(true);
        expect(init.transitions.some((t) => t.actorId === "job:long/L")).toBe(false);
        expect(await page.locator('#actors .actor[data-actor="job:long/L"] .status').textContent()).toBe("running");
        // …so the timeline must show the long job's worker, with its ✕.
        expect(await page.locator('#timeline .row[data-actor="worker:long/L"]').count()).toBe(1);
        expect(await page.locator('#timeline .row[data-actor="worker:long/L"] .mark.error').count()).toBe(1);
        await job.input.terminate();
        await job.waitUntilFinish();
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
