/**
 * Breaker 16: the wiring graph's boxes are sized on the server from a guess of
 * 7.4 px per character of the page's 12 px sans-serif font. Node labels are
 * the user's (up to 200 characters of letters, digits and `._:@-`); in capitals
 * (`MIXER_WORKER`, `WWW…`) a character is wider than the guess, and the
 * name runs out of its box, over the wires and their message counts.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv, Liveflow, conn, expose } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: the wiring graph with wide node names", () => {
  it(
    "keeps every node's and port's name inside its box, and off every wire label",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-wide", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 20 });
      const page = await openViewer(browser, viewer.url);
      try {
        const source = JobSpec.define({ name: "SOURCE_READER", input: z.number(), output: z.number() });
        const mixer = JobSpec.define({ name: "MIXER", input: z.number(), output: z.number() });
        for (const spec of [source, mixer]) spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        const flow = Liveflow.define({
          name: "wide",
          connections: [
            conn({ from: source, to: { spec: mixer, label: "WAREHOUSE_MIXER_WWW" } }),
            conn({ from: { spec: mixer, label: "WAREHOUSE_MIXER_WWW" }, to: { spec: mixer, label: "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM" } }),
          ],
          exposures: [expose(source.input.default, "WWW_ORDERS")],
        });
        const job = await flow.enqueueJob({ liveEnv: env, jobId: "w1" });
        await page.waitForSelector('#actors .actor[data-actor="worker:MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM/w1"]', { timeout: PAGE_WAIT_MS });
        await page.click('#actors .actor[data-actor="worker:MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM/w1"]');
        const wiring = 'svg.wiring[data-flow="job:wide/w1"]';
        await page.waitForSelector(wiring, { timeout: PAGE_WAIT_MS });
        const problems = await page.$eval(wiring, (svg) => {
          type B = { x: number; y: number; width: number; height: number };
          const box = (e: unknown) => (e as { getBBox(): B }).getBBox();
          const hit = (a: B, b: B) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
          const found: string[] = [];
          const labels = [...svg.querySelectorAll(".edge-label")].map((l) => ({ text: l.textContent, box: box(l.querySelector("rect")!) }));
          for (const node of svg.querySelectorAll(".node")) {
            const rect = box(node.querySelector("rect")!);
            const text = box(node.querySelector("text")!);
            if (text.x < rect.x || text.x + text.width > rect.x + rect.width) found.push(`"${node.querySelector("text")!.textContent}" leaves its box by ${Math.round(Math.max(rect.x - text.x, text.x + text.width - rect.x - rect.width))} px`);
            for (const label of labels) if (hit(text, label.box)) found.push(`"${node.querySelector("text")!.textContent}" runs over the wire label "${label.text}"`);
          }
          return found;
        });
        expect(problems).toEqual([]);
        await job.input("WWW_ORDERS").terminate();
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
