import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv, Liveflow, conn, expose, type InspectorServer, type InspectorServerOptions } from "../src/index.js";

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

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs `test` with an env (project `projectId`), its viewer and a page of 1280 × 900; closes all three after. */
async function withViewer(projectId: string, options: InspectorServerOptions, test: (env: LiveEnv, viewer: InspectorServer, page: Page) => Promise<void>): Promise<void> {
  const env = LiveEnv.create({ projectId, logger: silent });
  const viewer = await env.serveInspector(options);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await test(env, viewer, page);
  } finally {
    await page.close();
    await viewer.close();
    await env.close();
  }
}

afterAll(async () => {
  await browser?.close();
});

describe("offline viewer in a browser", () => {
  it(
    "shows a worker that fails once pass through initializing, executing, error, recovering, initializing, executing, done",
    () =>
      withViewer("viewer", {}, async (env, viewer, page) => {
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

        const errorMark = await page.getAttribute(`${row} .mark.error`, "data-tip");
        expect(errorMark).toContain("the oven is cold");
        expect(await page.locator(`${row} .mark.restart`).count()).toBe(1);
        // Both marks can be reached: hovering each shows its own tooltip (the error's message; the restart's attempt and backoff).
        await page.hover(`${row} .mark.error`);
        expect(await page.textContent("#tip")).toMatch(/attempt 1 failed at \+\d+ ms:\n(Error: )?the oven is cold/);
        await page.hover(`${row} .mark.restart`);
        // The backoff is the one the supervisor granted (50 ms, no jitter), not the time the worker spent recovering.
        expect(await page.textContent("#tip")).toMatch(/restart granted at \+\d+ ms: attempt 2 after its backoff of 50 ms\nattempt 1 failed: (Error: )?the oven is cold/);
        // The error band stays visible when it is narrower than its minimum width (zoomed out: a few ms in a wide
        // window): the band after it, drawn from the error's true end, does not cover its middle.
        const track = await page.locator(`${row} .track`).boundingBox();
        await page.mouse.move(track!.x + track!.width / 2, track!.y + track!.height / 2);
        for (let i = 0; i < 12; i++) await page.mouse.wheel(0, 100);
        // Wheel zooms redraw on the next frame: wait for it, so the band checked is the one drawn.
        await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
        const onTop = await page.$eval(`${row} .band[data-state="error"]`, (band) => {
          const box = band.getBoundingClientRect();
          return band.ownerDocument.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2) === band;
        });
        expect(onTop).toBe(true);
        await page.click("#fit");
        // A click on the error mark opens the detail panel: the restart history with the failure, the last error and its stack.
        await page.click(`${row} .mark.error`);
        const detail = await page.textContent("#detail");
        expect(detail).toMatch(/restart at \+\d+ ms: attempt 2 after a backoff of 50 ms \(attempt 1 failed: (Error: )?the oven is cold\)/);
        expect(await page.textContent("#detail .error")).toMatch(/last error \(attempt 1\): (Error: )?the oven is cold/);
        expect(await page.textContent("#detail pre.stack")).toMatch(/the oven is cold[\s\S]*\n\s+at /);
        // The job's status row comes right above its worker's.
        const rows = await page.$$eval("#timeline .row[data-actor]", (nodes) => nodes.map((n) => n.getAttribute("data-actor")));
        expect(rows.slice(rows.indexOf("job:flaky/j1"), rows.indexOf("job:flaky/j1") + 2)).toEqual(["job:flaky/j1", "worker:flaky/j1"]);

        await page.waitForSelector('#actors .actor[data-actor="job:flaky/j1"] .status:text("completed")', { timeout: PAGE_WAIT_MS });
        await page.click('#actors .actor[data-actor="worker:flaky/j1"]');
        expect(await page.getAttribute('svg[data-machine="worker"] .node.current', "data-state")).toBe("done");
        expect(await page.getAttribute('svg[data-machine="job"] .node.current', "data-state")).toBe("completed");

        // As drawn (the browser's own text metrics): no label's text box intersects another label's or a state it
        // does not belong to, and no state name leaves its box.
        const problems = await page.$$eval("svg.machine", (svgs) => {
          type B = { x: number; y: number; width: number; height: number };
          type Boxed = { getBBox(): B };
          const hit = (a: B, b: B) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
          const found: string[] = [];
          for (const svg of svgs) {
            const labels = [...svg.querySelectorAll(".edge-label text")].map((t) => ({ name: t.textContent, box: (t as unknown as Boxed).getBBox() }));
            const states = [...svg.querySelectorAll(".node")].map((n) => ({ name: n.getAttribute("data-state"), box: (n.querySelector("rect") as unknown as Boxed).getBBox(), text: (n.querySelector("text") as unknown as Boxed).getBBox() }));
            labels.forEach((label, i) => {
              for (const other of labels.slice(i + 1)) if (hit(label.box, other.box)) found.push(`${svg.getAttribute("data-machine")}: label ${label.name} on label ${other.name}`);
              for (const state of states) if (hit(label.box, state.box)) found.push(`${svg.getAttribute("data-machine")}: label ${label.name} on state ${state.name}`);
            });
            for (const state of states) {
              const { box, text } = state;
              if (text.x < box.x || text.x + text.width > box.x + box.width) found.push(`${svg.getAttribute("data-machine")}: the name ${state.name} leaves its box`);
            }
          }
          return found;
        });
        expect(problems).toEqual([]);
        expect(await page.locator("svg.machine .edge-label").count()).toBeGreaterThan(30);

        mkdirSync(ARTIFACTS, { recursive: true });
        // A page opened after the run (and one reloaded) shows the whole history across most of the width, not squeezed
        // into the left of a span that runs up to the time the page was opened.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const late = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        try {
          await late.goto(viewer.url);
          await late.waitForSelector(`${row} .band[data-state="done"]`, { timeout: PAGE_WAIT_MS });
          // The whole history: every row's bands (on Redis the job waits queued a while before its worker's first band).
          const spread = await late.$eval("#timeline", (node) => {
            const track = node.querySelector(".track")!.getBoundingClientRect();
            const bands = [...node.querySelectorAll(".band")].map((band) => band.getBoundingClientRect());
            return (Math.max(...bands.map((b) => b.right)) - Math.min(...bands.map((b) => b.left))) / track.width;
          });
          expect(spread).toBeGreaterThan(0.5);
          const ticks = await late.locator("#timeline .axis .tick").count();
          expect(ticks).toBeGreaterThanOrEqual(3);
          await late.screenshot({ path: `${ARTIFACTS}viewer-opened-late.png`, fullPage: true });
        } finally {
          await late.close();
        }
        // A job's options come from the process that runs it, while it runs and after it ended there.
        const slow = JobSpec.define({ name: "slow", input: z.number(), jobOptions: z.object({ oven: z.string() }) });
        slow.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input) void _; } });
        const running = await slow.enqueueJob({ liveEnv: env, jobId: "s1", jobOptions: { oven: "stone" } });
        await page.waitForSelector('#timeline .row[data-actor="worker:slow/s1"] .label', { timeout: PAGE_WAIT_MS });
        await page.click('#timeline .row[data-actor="worker:slow/s1"] .label');
        await page.waitForSelector('#detail .options[data-job="job:slow/s1"]', { timeout: PAGE_WAIT_MS });
        expect(await page.textContent("#detail .options")).toBe('job options of job:slow/s1: {"oven":"stone"}');
        await page.click('#timeline .row[data-actor="worker:flaky/j1"] .label');
        await page.waitForSelector('#detail .options[data-job="job:flaky/j1"]', { timeout: PAGE_WAIT_MS });
        await running.input.terminate();
        await running.waitUntilFinish();
        await page.waitForSelector('#actors .actor[data-actor="job:slow/s1"] .status:text-is("completed")', { timeout: PAGE_WAIT_MS });
        await page.click('#timeline .row[data-actor="job:slow/s1"] .label');
        await page.waitForSelector('#detail .options[data-job="job:slow/s1"]', { timeout: PAGE_WAIT_MS });
        expect(await page.textContent("#detail .options")).toBe('job options of job:slow/s1: {"oven":"stone"}');
        await page.screenshot({ path: `${ARTIFACTS}viewer.png`, fullPage: true });
        // LW_UPDATE_DOCS=1 re-shoots the README's picture from this run.
        if (process.env.LW_UPDATE_DOCS === "1") await page.screenshot({ path: fileURLToPath(new URL("../docs/viewer.png", import.meta.url)), fullPage: true });
      }),
    60_000,
  );

  it(
    "shows a flow job's wiring: its nodes coloured by their worker's state, each wire with the messages it delivered",
    () =>
      withViewer("viewer-flow", { flushMs: 20 }, async (env, viewer, page) => {
        await page.goto(viewer.url);
        await page.waitForSelector("#connection.open", { timeout: PAGE_WAIT_MS });
        const chop = JobSpec.define({ name: "chop", input: z.number(), output: z.number() });
        const cook = JobSpec.define({ name: "cook", input: z.number(), output: z.string() });
        chop.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n * 2); } });
        let burnt = false;
        cook.defineWorker({
          liveEnv: env,
          retry: { backoff: { initialMs: 20, jitter: 0 } },
          processor: async ({ input, output }) => {
            for await (const n of input) {
              if (n === 4 && !burnt) {
                burnt = true;
                throw new Error("burnt the second dish");
              }
              await output.emit(`dish ${n}`);
            }
          },
        });
        const kitchen = Liveflow.define({
          name: "kitchen-flow",
          connections: [conn({ from: chop, to: cook })],
          exposures: [expose(chop.input.default, "orders"), expose(cook.output.default, "dishes")],
        });
        const job = await kitchen.enqueueJob({ liveEnv: env, jobId: "f1" });
        for (const n of [1, 2, 3]) await job.input("orders").feed(n);
        await job.input("orders").terminate();
        await job.waitUntilFinish();

        await page.click('#actors .actor[data-actor="worker:cook/f1"]');
        const wiring = 'svg.wiring[data-flow="job:kitchen-flow/f1"]';
        await page.waitForSelector(wiring, { timeout: PAGE_WAIT_MS });
        // The one wire chop → cook delivered 3 messages (sampled after the job ended: its final count).
        await page.waitForSelector(`${wiring} .edge-label[data-wire="0"] text:text-is("3 msg")`, { timeout: PAGE_WAIT_MS });
        const states = await page.$$eval(`${wiring} .node`, (nodes) => Object.fromEntries(nodes.map((n) => [n.getAttribute("data-node"), n.getAttribute("data-state")])));
        expect(states).toMatchObject({ chop: "done", cook: "done" });
        expect(await page.locator(`${wiring} .flow-input`).count()).toBe(1);
        expect(await page.locator(`${wiring} .flow-output`).count()).toBe(1);
        // Every diagram has its own arrowhead: ids are unique in the document.
        const markerIds = await page.$$eval("marker", (markers) => markers.map((m) => m.id));
        expect(markerIds.length).toBeGreaterThanOrEqual(3);
        expect(new Set(markerIds).size).toBe(markerIds.length);
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: `${ARTIFACTS}viewer-flow.png`, fullPage: true });
        if (process.env.LW_UPDATE_DOCS === "1") await page.screenshot({ path: fileURLToPath(new URL("../docs/viewer-flow.png", import.meta.url)), fullPage: true });
      }),
    60_000,
  );
  it(
    "says why a restart was granted: the worker's own failure, or a sibling's under one_for_all",
    () =>
      withViewer("viewer-siblings", { flushMs: 20 }, async (env, viewer, page) => {
        const wash = JobSpec.define({ name: "wash", input: z.number(), output: z.number() });
        const dry = JobSpec.define({ name: "dry", input: z.number(), output: z.number() });
        wash.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        dry.defineWorker({
          liveEnv: env,
          processor: async ({ input, output, attempt }) => {
            for await (const n of input) {
              if (attempt === 1) throw new Error("the dryer jammed");
              await output.emit(n);
            }
          },
        });
        const laundry = Liveflow.define({
          name: "laundry",
          connections: [conn({ from: wash, to: dry })],
          exposures: [expose(wash.input.default, "clothes"), expose(dry.output.default, "clean")],
          supervision: { strategy: "one_for_all", backoff: { initialMs: 30, jitter: 0 } },
        });
        // The washer still runs (its input stays open) when the dryer fails: one_for_all restarts it too.
        const dryerRestarted = new Promise<void>((resolve) => {
          const stop = env.subscribe((event) => {
            if (event.type === "worker.restart" && event.workerName === "dry") resolve(stop());
          });
        });
        const job = await laundry.enqueueJob({ liveEnv: env, jobId: "l1" });
        await job.input("clothes").feed(1);
        await dryerRestarted;
        await job.input("clothes").terminate();
        await job.waitUntilFinish();
        await page.goto(viewer.url);
        const washRow = '#timeline .row[data-actor="worker:wash/l1"]';
        const dryRow = '#timeline .row[data-actor="worker:dry/l1"]';
        await page.waitForSelector(`${washRow} .mark.restart`, { timeout: PAGE_WAIT_MS });
        expect(await page.getAttribute(`${washRow} .mark.restart`, "data-tip")).toMatch(/attempt 2 after its backoff of 30 ms\nrestarted with its sibling worker:dry\/l1, whose attempt 1 failed: (Error: )?the dryer jammed/);
        // The washer's restarting lasted a few ms: zoomed out as far as it goes (100 × the run), its band and the
        // recovering after it are both narrower than their 5 px minimum; each keeps its 5 px, so restarting still shows.
        const washTrack = await page.locator(`${washRow} .track`).boundingBox();
        await page.mouse.move(washTrack!.x + washTrack!.width / 2, washTrack!.y + washTrack!.height / 2);
        for (let i = 0; i < 25; i++) await page.mouse.wheel(0, 100);
        // Wheel zooms redraw on the next frame: wait for it, so the band checked is the one drawn.
        await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
        const restarting = await page.$eval(`${washRow} .band[data-state="restarting"]`, (band) => {
          const box = band.getBoundingClientRect();
          return band.ownerDocument.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2) === band;
        });
        expect(restarting).toBe(true);
        await page.click("#fit");
        // A click on a row's bars selects its actor, as a click on its name does.
        await page.click(`${washRow} .label`);
        await page.waitForSelector('#selected-name:has-text("worker:wash/l1")', { timeout: PAGE_WAIT_MS });
        await page.click(`${dryRow} .band[data-state="done"]`);
        await page.waitForSelector('#selected-name:has-text("worker:dry/l1")', { timeout: PAGE_WAIT_MS });
        expect(await page.getAttribute(`${dryRow} .mark.restart`, "data-tip")).toMatch(/attempt 2 after its backoff of 30 ms\nattempt 1 failed: (Error: )?the dryer jammed/);
        await page.click(`${washRow} .label`);
        expect(await page.textContent("#detail")).toMatch(/restart at \+\d+ ms: attempt 2 after a backoff of 30 ms \(restarted with its sibling worker:dry\/l1, whose attempt 1 failed: (Error: )?the dryer jammed\)/);
      }),
    60_000,
  );
  it(
    "an open page keeps no more than maxEvents state changes and forgets the ended actors only the dropped ones mentioned",
    () =>
      withViewer("viewer-forget", { flushMs: 10, maxEvents: 20 }, async (env, viewer, page) => {
        await page.goto(viewer.url);
        await page.waitForSelector("#connection.open", { timeout: PAGE_WAIT_MS });
        const echo = JobSpec.define({ name: "echo", input: z.number(), output: z.number() });
        echo.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        await echo.enqueueAndGetResult({ liveEnv: env, jobId: "first", input: 0 });
        await page.waitForSelector('#actors .actor[data-actor="job:echo/first"]', { timeout: PAGE_WAIT_MS });
        // Each job is about 5 state changes: 12 more push the first job's out of the last 20.
        for (let i = 0; i < 12; i++) await echo.enqueueAndGetResult({ liveEnv: env, jobId: `e${i}`, input: i });
        await page.waitForSelector('#actors .actor[data-actor="job:echo/e11"]', { timeout: PAGE_WAIT_MS });
        await page.waitForSelector('#actors .actor[data-actor="job:echo/first"]', { state: "detached", timeout: PAGE_WAIT_MS });
        expect(await page.locator('#actors .actor[data-actor="worker:echo/first"]').count()).toBe(0);
        expect(await page.locator('#timeline .row[data-actor="job:echo/e11"]').count()).toBe(1);
      }),
    60_000,
  );
  it(
    "shows a job waiting for its worker's slot as queued before it starts, then its whole story",
    () =>
      withViewer("viewer-queued", { flushMs: 10 }, async (env, viewer, page) => {
        await page.goto(viewer.url);
        await page.waitForSelector("#connection.open", { timeout: PAGE_WAIT_MS });
        const oven = JobSpec.define({ name: "oven", input: z.number(), output: z.number() });
        oven.defineWorker({ liveEnv: env, concurrency: 1, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
        const first = await oven.enqueueJob({ liveEnv: env, jobId: "q1" });
        const second = await oven.enqueueJob({ liveEnv: env, jobId: "q2" });
        await page.waitForSelector('#actors .actor[data-actor="job:oven/q2"] .status:text-is("queued")', { timeout: PAGE_WAIT_MS });
        expect(await page.locator('#timeline .row[data-actor="job:oven/q2"] .band[data-state="queued"]').count()).toBe(1);
        for (const job of [first, second]) {
          await job.input.feed(1);
          await job.input.terminate();
          await job.waitUntilFinish();
        }
        const row = '#timeline .row[data-actor="job:oven/q2"]';
        await page.waitForSelector(`${row} .band[data-state="completed"]`, { timeout: PAGE_WAIT_MS });
        expect(await page.$$eval(`${row} .band`, (bands) => bands.map((b) => b.getAttribute("data-state")))).toEqual(["queued", "running", "completed"]);
      }),
    60_000,
  );
});
