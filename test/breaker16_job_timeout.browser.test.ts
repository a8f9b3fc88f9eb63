/**
 * Breaker 16: a job that fails at the job level (its `timeouts.jobMs` ran out:
 * the worker is stopped, not failed). Its panel reads "last error (attempt
 * undefined): JobFailedError …" (jobs have no attempt), and the failure has no
 * ✕ mark anywhere: marks are drawn on worker rows only, and its worker went
 * executing → stopping → stopped. The only trace is a 5 px red band at the end
 * of the job's row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: a job that timed out (timeouts.jobMs)", () => {
  let env: LiveEnv;
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    env = LiveEnv.create({ projectId: "b16-timeout", logger: silent });
    const viewer = await env.serveInspector({ flushMs: 10 });
    url = viewer.url;
    close = () => viewer.close();
    const timed = JobSpec.define({ name: "timed", input: z.number(), output: z.number() });
    timed.defineWorker({ liveEnv: env, timeouts: { jobMs: 300, stopMs: 100 }, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    await (await timed.enqueueJob({ liveEnv: env, jobId: "t1" })).waitUntilFinish().catch(() => {});
  }, 30_000);
  afterAll(async () => {
    await close?.();
    await env?.close();
  });

  it(
    "the job's panel names its last error without an 'attempt undefined'",
    async () => {
      const page = await openViewer(browser, url);
      try {
        await page.waitForSelector('#timeline .row[data-actor="job:timed/t1"] .band[data-state="failed"]', { timeout: PAGE_WAIT_MS });
        await page.click('#timeline .row[data-actor="job:timed/t1"] .label');
        const error = await page.textContent("#detail .error");
        expect(error).toMatch(/timed out/);
        expect(error).not.toContain("undefined");
      } finally {
        await page.close();
      }
    },
    60_000,
  );

  it(
    "the job's failure gets a ✕ mark (with its message) on the timeline",
    async () => {
      const page = await openViewer(browser, url);
      try {
        await page.waitForSelector('#timeline .row[data-actor="job:timed/t1"] .band[data-state="failed"]', { timeout: PAGE_WAIT_MS });
        const tips = await page.$$eval('#timeline .row[data-actor$="/t1"] .mark.error', (marks) => marks.map((m) => m.getAttribute("data-tip")));
        expect(tips.length).toBe(1);
        expect(tips[0]).toMatch(/timed out/);
      } finally {
        await page.close();
      }
    },
    60_000,
  );
});
