/**
 * Breaker 16: the tooltip of a mark near the right end of the timeline — the
 * newest failure, where "follow live" puts it, or a crashed worker's last one —
 * opens to the right of the pointer and runs off the window (it is
 * `position: fixed`, so scrolling does not bring it back): the failure's
 * message and attempt cannot be read by hovering. And a long message without
 * spaces (a token, a URL, a JSON blob: up to the 2 000 characters kept) is not
 * wrapped: `white-space: pre-wrap` breaks at spaces only, so it runs out of the
 * 420 px tooltip across (and off) the page.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: a mark's tooltip at the right end of the timeline", () => {
  it(
    "stays inside the window",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-tip", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        const doomed = JobSpec.define({ name: "doomed", input: z.number(), output: z.number() });
        doomed.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 0 },
          processor: async () => {
            await new Promise((resolve) => setTimeout(resolve, 200));
            throw new Error("the freezer broke down for good");
          },
        });
        const job = await doomed.enqueueJob({ liveEnv: env, jobId: "d1" });
        await job.waitUntilFinish().catch(() => {});
        const row = '#timeline .row[data-actor="worker:doomed/d1"]';
        await page.waitForSelector(`${row} .band[data-state="crashed"]`, { timeout: PAGE_WAIT_MS });
        await page.hover(`${row} .mark.error`);
        expect(await page.textContent("#tip")).toContain("the freezer broke down for good");
        const tip = (await page.locator("#tip").boundingBox())!;
        const viewport = page.viewportSize()!;
        expect(tip.x + tip.width, `tooltip spans x ${Math.round(tip.x)}…${Math.round(tip.x + tip.width)} in a ${viewport.width} px window`).toBeLessThanOrEqual(viewport.width);
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );

  it(
    "wraps a long message without spaces inside the tooltip",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-tip-long", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        const blob = JobSpec.define({ name: "blob", input: z.number(), output: z.number() });
        blob.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 1, backoff: { initialMs: 10, jitter: 0 } },
          processor: async ({ input, output, attempt }) => {
            if (attempt === 1) throw new Error(`bad token ${"A".repeat(600)}`);
            for await (const n of input) await output.emit(n);
          },
        });
        await blob.enqueueAndGetResult({ liveEnv: env, jobId: "b1", input: 1 });
        const row = '#timeline .row[data-actor="worker:blob/b1"]';
        await page.waitForSelector(`${row} .band[data-state="done"]`, { timeout: PAGE_WAIT_MS });
        await page.hover(`${row} .mark.error`);
        const size = await page.$eval("#tip", (tip) => ({ content: tip.scrollWidth, box: tip.clientWidth }));
        expect(size.content, `tooltip content ${size.content} px wide in a ${size.box} px box`).toBeLessThanOrEqual(size.box);
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
