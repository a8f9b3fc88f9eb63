/**
 * Breaker 16: odd thrown values. A worker that fails by throwing `undefined`
 * (`throw undefined`, `Promise.reject()`, a rejected `AbortSignal` reason left
 * unset…) goes through `error` like any other failure, but the viewer draws no
 * ✕ for it and the restart's cause is silent: the error mark exists only when
 * the error has a text, and `undefined` gets none.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { PAGE_WAIT_MS, openViewer, silent, useBrowser } from "./breaker16_support.js";

const browser = useBrowser();

const THROWS: Array<[string, () => unknown]> = [
  ["undefined", () => undefined],
  ["a string", () => "plain string thrown"],
  ["an Error without a stack", () => Object.assign(new Error("stackless"), { stack: undefined })],
  ["a plain object", () => ({ reason: "object thrown" })],
  ["an Error with a huge unbroken message", () => new Error("x".repeat(50_000))],
];

describe("breaker16: a worker that throws an odd value", () => {
  it(
    "gets a ✕ mark on its error band and a restart whose cause names the failure, whatever it threw",
    async () => {
      const env = LiveEnv.create({ projectId: "b16-odd", logger: silent });
      const viewer = await env.serveInspector({ flushMs: 10 });
      const page = await openViewer(browser, viewer.url);
      try {
        const report: Record<string, { errorBands: number; errorMarks: number; restartTip: string | null; detail: string | null }> = {};
        for (const [i, [name, thrown]] of THROWS.entries()) {
          const spec = JobSpec.define({ name: `odd${i}`, input: z.number(), output: z.number() });
          spec.defineWorker({
            liveEnv: env,
            retry: { maxRestarts: 1, backoff: { initialMs: 10, jitter: 0 } },
            processor: async ({ input, output, attempt }) => {
              if (attempt === 1) throw thrown();
              for await (const n of input) await output.emit(n);
            },
          });
          await spec.enqueueAndGetResult({ liveEnv: env, jobId: "o1", input: 1 });
          const row = `#timeline .row[data-actor="worker:odd${i}/o1"]`;
          await page.waitForSelector(`${row} .band[data-state="done"]`, { timeout: PAGE_WAIT_MS });
          await page.click(`${row} .label`);
          report[name] = {
            errorBands: await page.locator(`${row} .band[data-state="error"]`).count(),
            errorMarks: await page.locator(`${row} .mark.error`).count(),
            restartTip: await page.getAttribute(`${row} .mark.restart`, "data-tip"),
            detail: await page.textContent("#detail"),
          };
        }
        for (const [name, seen] of Object.entries(report)) {
          expect(seen.errorBands, name).toBe(1);
          expect(seen.errorMarks, `${name}: ✕ marks`).toBe(1);
          expect(seen.restartTip, `${name}: the restart's cause`).toMatch(/attempt 1 failed/);
        }
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
