/**
 * Breaker 16: "follow live" cannot follow a zoomed-in window. Ticking it after
 * a zoom (to watch the last moments of a long run as they come) throws the
 * zoom away and fits the whole run again (the checkbox's handler sets the view
 * to null, so the code that would slide a zoomed window along with live time
 * is never reached): on a run of hours, "follow live" shows hours, and the
 * latest seconds are a sliver at the right edge.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, sleep, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

/** The time the axis spans, from its tick labels (ms). */
async function axisSpanMs(page: import("playwright-core").Page): Promise<number> {
  const labels = await page.$$eval("#timeline .axis .tick span", (spans) => spans.map((s) => s.textContent ?? ""));
  const ms = labels.map((label) => (label.endsWith(" ms") ? parseFloat(label.slice(1)) : parseFloat(label.slice(1)) * 1000));
  return Math.max(...ms) - Math.min(...ms);
}

describe("breaker16: follow live after a zoom", () => {
  it(
    "keeps the zoomed width and slides it along with live time",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-follow", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 20 });
      const page = await openViewer(browser, viewer.url);
      try {
        const idle = JobSpec.define({ name: "idle", input: z.number(), output: z.number() });
        idle.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        const job = await idle.enqueueJob({ liveEnv: env, jobId: "i1" });
        const row = '#timeline .row[data-actor="worker:idle/i1"]';
        await page.waitForSelector(`${row} .band[data-state="executing"]`, { timeout: PAGE_WAIT_MS });
        await sleep(4_000);
        // The run is 4 s long: zoom in at its right end (the present) to about a second.
        const track = (await page.locator(`${row} .track`).boundingBox())!;
        await page.mouse.move(track.x + track.width - 2, track.y + track.height / 2);
        for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -100);
        // Wheel zooms redraw on the next frame.
        await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
        const zoomed = await axisSpanMs(page);
        expect(zoomed).toBeLessThan(2_000);
        expect(await page.isChecked("#follow")).toBe(false);
        // Follow live again: the window keeps its width and moves with the present.
        await page.check("#follow");
        await sleep(1_500);
        expect(await axisSpanMs(page)).toBeLessThan(2_000);
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
