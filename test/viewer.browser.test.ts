import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
/** Generous bound for the page to show a state the job already reached. */
const PAGE_WAIT_MS = 15_000;

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the viewer browser test needs Debian's chromium. Install it with: apt-get update && apt-get install -y chromium`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

describe("offline viewer in a browser", () => {
  it(
    "shows a worker that fails once pass through initializing, executing, error, recovering, initializing, executing, done",
    async () => {
      const env = LiveEnv.create({ projectId: "viewer", logger: { debug() {}, info() {}, warn() {}, error() {} } });
      const viewer = await env.serveInspector();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      try {
        await page.goto(viewer.url);
        await page.waitForSelector("#connection.open", { timeout: PAGE_WAIT_MS });

        const flaky = JobSpec.define({ name: "flaky", input: z.number(), output: z.number() });
        flaky.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 2, backoff: { initialMs: 50, jitter: 0 } },
          init: async () => ({ oven: "hot" }),
          processor: async ({ input, output, attempt }) => {
            for await (const n of input) {
              if (attempt === 1) throw new Error("the oven is cold");
              await output.emit(n + 1);
            }
          },
        });
        const { data } = await flaky.enqueueAndGetResult({ liveEnv: env, jobId: "j1", input: 1 });
        expect(data).toBe(2);

        const row = '#timeline .row[data-actor="worker:flaky/j1"]';
        await page.waitForSelector(`${row} .band[data-state="done"]`, { timeout: PAGE_WAIT_MS });
        const states = await page.$$eval(`${row} .band`, (bands) => bands.map((band) => band.getAttribute("data-state")));
        expect(states).toEqual(["initializing", "executing", "error", "recovering", "initializing", "executing", "done"]);

        const errorMark = await page.getAttribute(`${row} .mark.error`, "title");
        expect(errorMark).toContain("the oven is cold");
        expect(await page.locator(`${row} .mark.restart`).count()).toBe(1);

        await page.waitForSelector('#actors .actor[data-actor="job:flaky/j1"] .status:text("completed")', { timeout: PAGE_WAIT_MS });
        await page.click('#actors .actor[data-actor="worker:flaky/j1"]');
        expect(await page.getAttribute('svg[data-machine="worker"] .node.current', "data-state")).toBe("done");
        expect(await page.getAttribute('svg[data-machine="job"] .node.current', "data-state")).toBe("completed");

        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: `${ARTIFACTS}viewer.png`, fullPage: true });
      } finally {
        await page.close();
        await viewer.close();
        await env.close();
      }
    },
    60_000,
  );
});
