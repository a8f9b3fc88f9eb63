/**
 * Breaker 16: the timeline mixes two clocks. State changes are stamped with the
 * env's clock (`LiveEnv.create({ clock })`, documented as fitting XState's
 * `SimulatedClock`), but the server's `now` (how far a running actor's band
 * reaches, "follow live") is `Date.now()`. With any clock but the system's the
 * running timeline spans from the env clock's times to the wall clock's: with a
 * SimulatedClock (at 0) the axis runs over fifty years and every band but the
 * running one is invisible.
 */
import { SimulatedClock } from "xstate";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, sleep, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

describe("breaker16: an env with its own clock", () => {
  it(
    "draws a running job on the env clock's time scale, not from its times to the wall clock's now",
    async () => {
      const clock = new SimulatedClock();
      clock.set(1_000);
      const env = LiveEnv.create({ projectId: "b16-clock", logger: silent, clock });
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        const idle = JobSpec.define({ name: "idle", input: z.number(), output: z.number() });
        idle.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        const job = await idle.enqueueJob({ liveEnv: env, jobId: "c1" });
        await page.waitForSelector('#timeline .row[data-actor="worker:idle/c1"] .band[data-state="executing"]', { timeout: PAGE_WAIT_MS });
        clock.increment(2_000);
        await job.input.feed(1);
        await sleep(300);
        // The env's clock says the job has run 2 s: the axis should span seconds, not the decades to Date.now().
        const labels = await page.$$eval("#timeline .axis .tick span", (spans) => spans.map((s) => s.textContent ?? ""));
        const seconds = labels.map((label) => (label.endsWith(" ms") ? parseFloat(label.slice(1)) / 1000 : parseFloat(label.slice(1))));
        expect(Math.max(...seconds), `axis: ${labels.join(", ")}`).toBeLessThan(60);
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
