/**
 * Breaker 16: the detail panel is rebuilt from scratch on every update the page
 * gets (any actor's state change, every sampled wire count of a running flow:
 * up to ten times a second), so while anything else runs, text selected in it —
 * the stack of the last error, which a user selects to copy — is lost within
 * a fraction of a second.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, sleep, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: the detail panel while other jobs run", () => {
  it(
    "keeps the user's selection of the error's stack",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-select", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        const broken = JobSpec.define({ name: "broken", input: z.number(), output: z.number() });
        broken.defineWorker({ liveEnv: env, retry: { maxRestarts: 0 }, processor: async () => { throw new Error("copy this stack"); } });
        const echo = JobSpec.define({ name: "echo", input: z.number(), output: z.number() });
        echo.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        await (await broken.enqueueJob({ liveEnv: env, jobId: "b1" })).waitUntilFinish().catch(() => {});
        const row = '#timeline .row[data-actor="worker:broken/b1"]';
        await page.waitForSelector(`${row} .band[data-state="crashed"]`, { timeout: PAGE_WAIT_MS });
        await page.click(`${row} .label`);
        await page.waitForSelector("#detail pre.stack", { timeout: PAGE_WAIT_MS });
        // The user selects the stack (to copy it).
        await page.$eval("#detail pre.stack", (pre) => pre.ownerDocument.getSelection()!.selectAllChildren(pre));
        expect(await page.$eval("body", (body) => body.ownerDocument.getSelection()!.toString())).toContain("copy this stack");
        // Meanwhile other jobs run and end.
        for (let i = 0; i < 3; i++) await echo.enqueueAndGetResult({ liveEnv: env, jobId: `e${i}`, input: i });
        await sleep(300);
        expect(await page.$eval("body", (body) => body.ownerDocument.getSelection()!.toString())).toContain("copy this stack");
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
