/**
 * Breaker 16: a flow with many nodes. The wiring graph is laid out left to
 * right and drawn with `max-width: 100%`, so a long pipeline is shrunk as a
 * whole to the page's width: at 16 nodes its names and message counts are
 * drawn a few pixels high — unreadable — instead of the graph scrolling or
 * wrapping.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv, Liveflow, conn, expose } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

const NODES = 16;

describe("breaker16: the wiring of a long pipeline", () => {
  it(
    "draws its names and message counts at a readable size (≥ 9 px text)",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-many", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 20 });
      const page = await openViewer(browser, viewer.url);
      try {
        const specs = Array.from({ length: NODES }, (_, i) => JobSpec.define({ name: `stage${i}`, input: z.number(), output: z.number() }));
        for (const spec of specs) spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        const flow = Liveflow.define({
          name: "pipeline",
          connections: specs.slice(1).map((spec, i) => conn({ from: specs[i]!, to: spec })),
          exposures: [expose(specs[0]!.input.default, "in"), expose(specs[NODES - 1]!.output.default, "out")],
        });
        const job = await flow.enqueueJob({ liveEnv: env, jobId: "p1" });
        await job.input("in").feed(1);
        await page.waitForSelector(`#actors .actor[data-actor="worker:stage${NODES - 1}/p1"]`, { timeout: PAGE_WAIT_MS });
        await page.click(`#actors .actor[data-actor="worker:stage${NODES - 1}/p1"]`);
        const wiring = 'svg.wiring[data-flow="job:pipeline/p1"]';
        await page.waitForSelector(`${wiring} .edge-label`, { timeout: PAGE_WAIT_MS });
        const heights = await page.$$eval(`${wiring} .node text, ${wiring} .edge-label text`, (texts) => texts.map((t) => t.getBoundingClientRect().height));
        expect(Math.min(...heights), `text drawn ${Math.min(...heights).toFixed(1)} px high`).toBeGreaterThanOrEqual(9);
        await job.input("in").terminate();
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
