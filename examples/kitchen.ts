/**
 * The kitchen demo (`npm run demo`): three recipes, a chopping station that
 * cooks two dishes at a time (the others wait `queued`), and a sous-chef who
 * chokes on a rock once, recovers after a short backoff and finishes the job.
 * Prints every lifecycle event as it happens, then one timeline per job.
 * Run: `npx tsx examples/kitchen.ts [--quiet]`. Exits non-zero if the kitchen
 * misbehaves (wrong dishes, lost ingredients, concurrency above 2, no recovery).
 */
import { strict as assert } from "node:assert";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { JobSpec, LiveEnv, type LifecycleEvent } from "liveworker";

const quiet = process.argv.includes("--quiet");
const env = LiveEnv.create({ projectId: "kitchen" });
// `npm run demo -- --inspect`: serve the offline viewer while the kitchen runs.
const viewer = process.argv.includes("--inspect") ? await env.serveInspector({ port: 4477 }) : undefined;
if (viewer) console.log(`viewer: ${viewer.url}`);

// ——— the recipes ———

const chop = JobSpec.define({
  name: "chop",
  jobOptions: z.object({ size: z.enum(["fine", "coarse"]).default("coarse") }),
  input: z.object({ veg: z.string() }),
  output: { default: z.object({ veg: z.string(), pieces: z.number() }), waste: z.object({ item: z.string() }) },
});

const sauce = JobSpec.define({
  name: "sauce",
  jobOptions: z.object({ base: z.enum(["tomato", "cream"]) }),
  input: z.object({ spice: z.string() }),
  output: z.object({ sauce: z.string() }),
});

const plate = JobSpec.define({
  name: "plate",
  input: z.object({ pieces: z.array(z.string()), sauce: z.string() }),
  output: z.object({ dish: z.string() }),
});

// ——— the sous-chefs ———

chop.defineWorker({
  liveEnv: env,
  concurrency: 2,
  retry: { backoff: { initialMs: 50 } },
  init: async () => ({ knife: "sharp" }),
  processor: async ({ input, output, jobOptions, attempt, signal }) => {
    for await (const { veg } of input) {
      if (veg === "rock") {
        // The first attempt chokes on it; after the restart the same message
        // comes again (it was never acknowledged) and goes to the waste bin.
        if (attempt === 1) throw new Error("rock!");
        await output("waste").emit({ item: veg });
        continue;
      }
      await sleep(15, undefined, { signal });
      await output.emit({ veg, pieces: jobOptions.size === "fine" ? veg.length * 2 : veg.length });
    }
  },
});

sauce.defineWorker({
  liveEnv: env,
  init: async ({ jobOptions }) => ({ pot: `${jobOptions.base} pot` }),
  processor: async ({ input, output, resources, progress }) => {
    const spices: string[] = [];
    for await (const { spice } of input) {
      spices.push(spice);
      progress({ spices: spices.length });
    }
    await output.emit({ sauce: `${resources.pot} with ${spices.join(" and ")}` });
  },
});

plate.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const { pieces, sauce } of input) await output.emit({ dish: `${pieces.join(", ")} on ${sauce}` });
  },
});

// ——— the timeline ———

const startedAt = Date.now();
const timelines = new Map<string, string[]>();
let runningChops = 0;
let mostRunningChops = 0;
let restarts = 0;
/** `jobId:status` in the order the statuses were announced. */
const statusLog: string[] = [];
const enqueuedAt = new Map<string, number>();
/** The backoff of each job's last granted restart. */
const backoffs = new Map<string, number>();

function step(jobId: string, text: string): void {
  // The timeline starts when the job starts running (with the time it waited queued).
  const steps = timelines.get(jobId) ?? ["queued"];
  steps.push(text);
  timelines.set(jobId, steps);
}

function describe(event: LifecycleEvent): string {
  switch (event.type) {
    case "job.status":
      return `job ${event.status}`;
    case "worker.state":
      return `worker ${event.state} (attempt ${event.attempt})${event.error ? `: ${event.error.message}` : ""}`;
    case "worker.restart":
      return `worker restarts in ${event.delayMs} ms after attempt ${event.attempt} failed`;
    case "job.progress":
      return `progress ${JSON.stringify(event.value)}`;
    case "timeout":
      return `${event.kind} timeout (${event.ms} ms)${event.workerName ? ` of worker ${event.workerName}` : ""}`;
  }
}

env.subscribe((event) => {
  if (!quiet) {
    const ms = String(Date.now() - startedAt).padStart(5);
    console.log(`${ms} ms  ${event.jobId.padEnd(8)} ${describe(event)}`);
  }
  if (event.type === "job.status") {
    statusLog.push(`${event.jobId}:${event.status}`);
    if (event.status === "running") {
      const waited = event.at - (enqueuedAt.get(event.jobId) ?? event.at);
      timelines.set(event.jobId, [`queued(${waited}ms)`]);
    }
    if (event.status !== "queued") step(event.jobId, event.status);
    if (event.specName === "chop" && event.status === "running") mostRunningChops = Math.max(mostRunningChops, ++runningChops);
    if (event.specName === "chop" && ["completed", "failed", "cancelled"].includes(event.status)) runningChops--;
  } else if (event.type === "worker.state") {
    if (event.state === "error") step(event.jobId, `error(${event.error?.message ?? "?"})`);
    else if (event.state === "recovering") step(event.jobId, `recovering(${backoffs.get(event.jobId) ?? "?"}ms)`);
    else step(event.jobId, event.state);
  } else if (event.type === "worker.restart") {
    // A granted restart is announced before the worker enters `recovering` (causes first).
    restarts++;
    backoffs.set(event.jobId, event.delayMs);
  }
});

// ——— service ———

const baskets = [
  ["carrot", "leek"],
  ["onion", "rock", "celery"],
  ["kale", "fennel"],
  ["potato", "turnip"],
];

// Four chop jobs at once: two run, two wait queued for a free slot.
const chops = await Promise.all(
  baskets.map((_, i) => {
    enqueuedAt.set(`chop-${i + 1}`, env.clock.now());
    return chop.enqueueJob({ liveEnv: env, jobId: `chop-${i + 1}`, jobOptions: { size: i % 2 ? "fine" : "coarse" } });
  }),
);
const chopped = await Promise.all(
  chops.map(async (job, i) => {
    for (const veg of baskets[i]!) await job.input.feed({ veg });
    await job.input.terminate();
    const pieces: string[] = [];
    for await (const { data } of job.output) pieces.push(`${data.pieces} ${data.veg}`);
    const waste: string[] = [];
    for await (const { data } of job.output("waste")) waste.push(data.item);
    await job.waitUntilFinish();
    return { pieces, waste };
  }),
);

const sauceJob = await sauce.enqueueJob({ liveEnv: env, jobId: "sauce-1", jobOptions: { base: "tomato" } });
await sauceJob.input.feed({ spice: "basil" });
await sauceJob.input.feed({ spice: "garlic" });
await sauceJob.input.terminate();
const sauceMade = await sauceJob.output.first();
await sauceJob.waitUntilFinish();

const { data: dish } = await plate.enqueueAndGetResult({
  liveEnv: env,
  jobId: "plate-1",
  input: { pieces: chopped.flatMap((c) => c.pieces), sauce: sauceMade!.data.sauce },
});

if (viewer) {
  console.log(`kitchen done; the viewer stays at ${viewer.url} until Ctrl-C`);
  await new Promise((resolve) => process.once("SIGINT", resolve));
  await viewer.close();
}
await env.close();

// ——— the bill ———

console.log(`\nserved: ${dish.dish}\n`);
console.log("timelines:");
for (const [jobId, steps] of timelines) console.log(`  ${jobId}: ${steps.join(" → ")}`);

assert.deepEqual(chopped[0], { pieces: ["6 carrot", "4 leek"], waste: [] });
assert.deepEqual(chopped[1], { pieces: ["10 onion", "12 celery"], waste: ["rock"] });
assert.deepEqual(chopped[3]!.pieces, ["12 potato", "12 turnip"]);
assert.equal(sauceMade?.data.sauce, "tomato pot with basil and garlic");
assert.match(dish.dish, /^6 carrot, 4 leek, 10 onion, 12 celery, .* on tomato pot with basil and garlic$/);
assert.equal(mostRunningChops, 2, "at most two chop jobs run at once, and two did");
assert.equal(restarts, 1, "exactly one restart: the rock");
const rocky = timelines.get("chop-2")!.join(" → ");
assert.match(rocky, /executing → error\(rock!\) → recovering\(\d+ms\) → initializing → executing → done → completed$/);
for (const job of chops) assert.equal(job.status, "completed");
// Jobs 3 and 4 waited queued until jobs 1 and 2 freed their slots.
const firstChopDone = statusLog.findIndex((entry) => /^chop-[12]:completed$/.test(entry));
assert.ok(firstChopDone >= 0 && statusLog.indexOf("chop-3:running") > firstChopDone, "chop-3 waited for a free slot");
assert.ok(statusLog.indexOf("chop-4:running") > firstChopDone, "chop-4 waited for a free slot");
