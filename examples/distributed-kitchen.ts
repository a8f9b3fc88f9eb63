/**
 * The kitchen on Redis: one client and two worker processes. The client
 * orders six soups, feeding each its vegetables and reading the chopped
 * pieces back; each soup is cooked by whichever worker process takes it
 * (BullMQ hands the jobs out, two at a time per process). One soup has a
 * rock in it: the worker that cooks it fails once, restarts (the rock
 * comes again, never acknowledged, and goes to the waste) and finishes.
 * Pieces chopped before the failure stay served (outputs are kept).
 *
 * Run everything at once (the client spawns the two workers, then stops
 * them by their pids):
 *   npx tsx examples/distributed-kitchen.ts
 * Or by hand, in three terminals (Ctrl-C ends a worker: it releases its
 * running jobs to the other; all three use the kitchen `KITCHEN` names,
 * `kitchen-by-hand` when unset):
 *   npx tsx examples/distributed-kitchen.ts worker north
 *   npx tsx examples/distributed-kitchen.ts worker south
 *   npx tsx examples/distributed-kitchen.ts client
 * Redis: `LW_REDIS_URL` (default redis://127.0.0.1:6379). Exits non-zero if
 * a soup is wrong, an ingredient lost, or no worker recovered.
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { JobSpec, LiveEnv, type LifecycleEvent } from "liveworker";
import { RedisUnavailableError, redisBackend } from "liveworker/redis";

const url = process.env.LW_REDIS_URL ?? "redis://127.0.0.1:6379";
const [mode = "all", name = "worker"] = process.argv.slice(2);
// One kitchen per run of everything at once (runs never share jobs); processes started by hand share one.
const projectId = process.env.KITCHEN ?? (mode === "all" ? `kitchen-${randomBytes(3).toString("hex")}` : "kitchen-by-hand");

// ——— the recipe (every process defines it: the spec is the contract) ———

const soup = JobSpec.define({
  name: "soup",
  input: z.object({ veg: z.string() }),
  output: { default: z.object({ piece: z.string(), cook: z.string() }), waste: z.object({ item: z.string() }) },
});

function envOf(role: string): LiveEnv {
  return LiveEnv.create({
    projectId,
    backend: redisBackend({ connection: url, leaseMs: 5_000, retentionMs: 600_000 }),
    logger: { debug() {}, info() {}, warn: (m) => console.warn(`[${role}] ${m}`), error: () => {} },
    handleSignals: true,
    shutdownGraceMs: 2_000,
  });
}

// ——— a worker process ———

async function worker(cook: string): Promise<void> {
  const env = envOf(cook);
  soup.defineWorker({
    liveEnv: env,
    concurrency: 2,
    retry: { maxRestarts: 2, backoff: { initialMs: 100 } },
    processor: async ({ input, output, attempt, jobId }) => {
      for await (const { veg } of input) {
        if (veg === "rock") {
          // The first attempt chokes; after the restart the rock comes again (never acknowledged) and goes to the waste.
          if (attempt === 1) throw new Error(`rock in ${jobId}!`);
          await output("waste").emit({ item: veg });
          continue;
        }
        await sleep(20);
        await output.emit({ piece: `chopped ${veg}`, cook: `${cook} (attempt ${attempt})` });
      }
    },
  });
  console.log(`[${cook}] cooking soups of kitchen ${projectId} (Ctrl-C to stop)`);
  // handleSignals: SIGINT / SIGTERM close the env (running soups are released to the other cook) and exit.
  await new Promise(() => {});
}

// ——— the client ———

async function client(): Promise<number> {
  const env = envOf("client");
  const orders = [["leek", "potato"], ["carrot", "rock", "ginger"], ["tomato"], ["pea", "mint"], ["onion", "garlic"], ["squash"]];
  const events: LifecycleEvent[] = [];
  env.subscribe((event) => {
    events.push(event);
    // Events of every process of the env arrive here, the cooks' included.
    if (event.type === "worker.restart") console.log(`[client] ${event.jobId}: attempt ${event.attempt} failed, restarting in ${event.delayMs} ms`);
  });
  try {
    const jobs = await Promise.all(orders.map(() => soup.enqueueJob({ liveEnv: env })));
    await Promise.all(
      jobs.map(async (job, i) => {
        for (const veg of orders[i]!) await job.input.feed({ veg });
        await job.input.terminate();
      }),
    );
    const soups = await Promise.all(
      jobs.map(async (job) => {
        const pieces: Array<{ piece: string; cook: string }> = [];
        for await (const { data } of job.output) pieces.push(data);
        await job.waitUntilFinish();
        return pieces;
      }),
    );
    soups.forEach((pieces, i) => console.log(`soup ${i + 1}: ${pieces.map((p) => `${p.piece} (${p.cook})`).join(", ")}`));
    const waste = await jobs[1]!.output("waste").first();
    // Every vegetable served exactly once here: nothing was emitted twice (a piece is acknowledged when the next is asked for).
    assert.deepEqual(
      soups.map((pieces) => pieces.map((p) => p.piece)),
      orders.map((order) => order.filter((veg) => veg !== "rock").map((veg) => `chopped ${veg}`)),
    );
    assert.equal(waste?.data.item, "rock");
    assert.match(soups[1]!.at(-1)!.cook, /attempt 2/);
    await sleep(200); // the last events arrive
    const cooks = new Set(soups.flat().map((p) => p.cook.split(" ")[0]));
    const restarts = events.filter((event) => event.type === "worker.restart").length;
    assert.ok(restarts >= 1, "the rock caused a restart");
    console.log(`${orders.length} soups from ${cooks.size} cook(s); ${restarts} restart, every piece served`);
    return 0;
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      console.error(`${error.message}\n(set LW_REDIS_URL to a Redis that answers)`);
      return 2;
    }
    throw error;
  } finally {
    await env.close();
  }
}

// ——— all at once: two worker processes and the client ———

async function all(): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const ready: Array<Promise<void>> = [];
  const children: ChildProcess[] = ["north", "south"].map((cook) => {
    const child = spawn(process.execPath, [...process.execArgv, self, "worker", cook], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, KITCHEN: projectId } });
    // A cook is ready once it says so (its worker def is in place); its output is passed on.
    ready.push(
      new Promise<void>((resolve) => {
        child.stdout!.on("data", (chunk: Buffer) => {
          process.stdout.write(chunk);
          if (chunk.toString().includes("cooking soups")) resolve();
        });
        child.once("exit", () => resolve());
      }),
    );
    return child;
  });
  try {
    await Promise.all(ready);
    await sleep(300); // their BullMQ workers connect
    return await client();
  } finally {
    for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.once("exit", resolve)))));
  }
}

if (mode === "worker") await worker(name);
else process.exitCode = await (mode === "client" ? client() : all());
