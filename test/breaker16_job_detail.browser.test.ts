/**
 * Breaker 16: the job detail panel. Issue 16 asks for "a job detail panel:
 * status, restart history (attempt, time, delay, error), last error with its
 * stack, job options". Clicking a job's row shows its status and options only:
 * the restarts of its workers (and the errors behind them) are listed only
 * when each worker is clicked in turn, so a job that restarted looks, in its
 * own panel, like one that never did.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: the job detail panel", () => {
  it(
    "lists the job's restart history (attempt, delay, error) and its last error with the stack",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-jobdetail", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        const flaky = JobSpec.define({ name: "flaky", input: z.number(), output: z.number() });
        flaky.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 2, backoff: { initialMs: 40, jitter: 0 } },
          processor: async ({ input, output, attempt }) => {
            for await (const n of input) {
              if (attempt === 1) throw new Error("the oven is cold");
              await output.emit(n + 1);
            }
          },
        });
        await flaky.enqueueAndGetResult({ liveEnv: env, jobId: "j1", input: 1 });
        await page.waitForSelector('#actors .actor[data-actor="job:flaky/j1"] .status:text-is("completed")', { timeout: PAGE_WAIT_MS });
        await page.click('#timeline .row[data-actor="job:flaky/j1"] .label');
        await page.waitForSelector('#detail .options[data-job="job:flaky/j1"]', { timeout: PAGE_WAIT_MS });
        const detail = await page.textContent("#detail");
        expect(detail).toContain("job:flaky/j1 — completed");
        // The job restarted its worker once: its panel says so, with the attempt, the delay and the error.
        expect(detail, detail ?? "").toMatch(/restart/);
        expect(detail).toMatch(/40 ms/);
        expect(detail).toMatch(/the oven is cold/);
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
