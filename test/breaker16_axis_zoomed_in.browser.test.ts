/**
 * Breaker 16: zoomed in on a moment more than a second into the run (where a
 * failure happened), the time axis's ticks all read the same ("+1.2 s",
 * "+1.2 s", …): `formatMs` prints one decimal of a second past 1000 ms, while
 * the ticks are a few ms apart. The axis stops telling time exactly where the
 * user zooms to look closely.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, sleep, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: the time axis zoomed in", () => {
  it(
    "gives distinct tick labels around a failure 1.2 s into the run",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-axis", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10 });
      try {
        const slow = JobSpec.define({ name: "slowfail", input: z.number(), output: z.number() });
        slow.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 2, backoff: { initialMs: 20, jitter: 0 } },
          processor: async ({ input, output, attempt }) => {
            if (attempt === 1) {
              await sleep(1_200);
              throw new Error("late failure");
            }
            for await (const n of input) await output.emit(n);
          },
        });
        await slow.enqueueAndGetResult({ liveEnv: env, jobId: "a1", input: 1 });
        const page = await openViewer(browser, viewer.url);
        try {
          const row = '#timeline .row[data-actor="worker:slowfail/a1"]';
          await page.waitForSelector(`${row} .band[data-state="done"]`, { timeout: PAGE_WAIT_MS });
          const mark = (await page.locator(`${row} .mark.error`).boundingBox())!;
          const track = (await page.locator(`${row} .track`).boundingBox())!;
          // Zoom in around the failure (wheel up over the track, at the mark's x).
          await page.mouse.move(mark.x + mark.width / 2, track.y + track.height / 2);
          for (let i = 0; i < 16; i++) await page.mouse.wheel(0, -100);
          await sleep(100);
          const labels = await page.$$eval("#timeline .axis .tick span", (spans) => spans.map((s) => s.textContent));
          expect(labels.length).toBeGreaterThanOrEqual(3);
          // Each tick names a different time.
          expect(new Set(labels).size, `tick labels: ${labels.join(", ")}`).toBe(labels.length);
        } finally {
          await page.close();
        }
      } finally {
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
