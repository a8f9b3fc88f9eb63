/**
 * Breaker tests for issue 15 on Redis: stateful workers across "processes"
 * (LiveEnvs with their own redisBackend on one prefix): release on
 * env.close mid-message and take-over, commits of many ids at once (lwCommit's
 * chunks), a large state, and two inputs read with merge at volume.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv, type LiveJob } from "../src/index.js";
import { redisBackend } from "../src/redis/index.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close({ graceMs: 0 }).catch(() => {})));
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function processOf(prefix: string, highWaterMark = 1_024): LiveEnv {
  const env = LiveEnv.create({
    projectId: "b15",
    logger: silent,
    streams: { highWaterMark },
    backend: redisBackend({ connection: redisUrl(), prefix, leaseMs: 2_000, retentionMs: 60_000 }),
  });
  envs.push(env);
  return env;
}

let n = 0;
const uniq = (name: string) => `${name}-rb15-${++n}`;
type Counts = Record<string, number>;

async function feedAll(job: LiveJob, data: readonly unknown[], tag = "default"): Promise<void> {
  for (const item of data) await job.input(tag).feed(item);
  await job.input(tag).terminate();
}

describe("breaker15 on Redis", () => {
  it("a worker process closed mid-message releases the job; another takes it over from the committed state and the message again", { timeout: 30_000 }, async () => {
    const prefix = uniquePrefix("b15-close");
    const client = processOf(prefix);
    const first = processOf(prefix);
    const second = processOf(prefix);
    const spec = JobSpec.define({ name: uniq("tally"), input: z.string(), state: z.record(z.string(), z.number()) });
    const startedFrom: Array<{ where: string; state: unknown }> = [];
    let holding: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const define = (env: LiveEnv, where: string) =>
      spec.defineWorker({
        liveEnv: env,
        initialState: (): Counts => ({}),
        processor: async ({ input, state, updateState, signal }) => {
          startedFrom.push({ where, state: state() });
          for await (const word of input) {
            updateState((counts) => {
              counts[word] = (counts[word] ?? 0) + 1;
            });
            if (where === "first" && word === "okra") {
              holding!();
              // Counted, not committed, when its process closes.
              await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
            }
          }
        },
      });
    define(first, "first");
    const job = await spec.enqueueJob({ liveEnv: client });
    for (const word of ["kale", "kale", "okra"]) await job.input.feed(word);
    await held;
    await first.close({ graceMs: 0 });
    define(second, "second");
    await feedAll(job, ["leek"]);
    await job.waitUntilFinish();
    expect(startedFrom).toEqual([
      { where: "first", state: {} },
      { where: "second", state: { kale: 2 } },
    ]);
    expect(await job.state()).toEqual({ kale: 2, okra: 1, leek: 1 });
  });

  it("thousands of messages fed before the worker starts (hundreds of ids per commit, two inputs merged) are each counted once", { timeout: 60_000 }, async () => {
    const prefix = uniquePrefix("b15-many");
    // Room for every message before the worker reads any (feed waits at highWaterMark otherwise).
    const client = processOf(prefix, 10_000);
    const worker = processOf(prefix, 10_000);
    const spec = JobSpec.define({ name: uniq("bulk"), input: { a: z.number(), b: z.number() } });
    const COUNT = 2_500;
    const job = await spec.enqueueJob({ liveEnv: client });
    const values = Array.from({ length: COUNT }, (_, i) => i);
    await Promise.all([feedAll(job, values, "a"), feedAll(job, values, "b")]);
    spec.defineWorker({
      liveEnv: worker,
      initialState: () => ({ a: 0, b: 0, sumA: 0, sumB: 0 }),
      processor: async ({ input, updateState }) => {
        for await (const { tag, data } of input.merge("a", "b")) {
          updateState((s) => {
            if (tag === "a") {
              s.a += 1;
              s.sumA += data as number;
            } else {
              s.b += 1;
              s.sumB += data as number;
            }
          });
        }
      },
    });
    await job.waitUntilFinish();
    const sum = (COUNT * (COUNT - 1)) / 2;
    expect(await job.state()).toEqual({ a: COUNT, b: COUNT, sumA: sum, sumB: sum });
  });

  it("a large state (a few MB) is committed and restored in the process that takes the job over", { timeout: 30_000 }, async () => {
    const prefix = uniquePrefix("b15-large");
    const client = processOf(prefix);
    const first = processOf(prefix);
    const second = processOf(prefix);
    const spec = JobSpec.define({ name: uniq("large"), input: z.number() });
    const big = "x".repeat(3_000_000);
    const restored: unknown[] = [];
    let holding: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const define = (env: LiveEnv, where: string) =>
      spec.defineWorker({
        liveEnv: env,
        initialState: () => ({ blob: "", count: 0 }),
        processor: async ({ input, state, updateState, signal }) => {
          if (where === "second") restored.push({ length: state().blob.length, count: state().count });
          for await (const value of input) {
            updateState((s) => {
              s.blob = big;
              s.count += value;
            });
            if (where === "first" && value === 2) {
              holding!();
              await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
            }
          }
        },
      });
    define(first, "first");
    const job = await spec.enqueueJob({ liveEnv: client });
    await job.input.feed(1);
    await job.input.feed(2);
    await held;
    await first.close({ graceMs: 0 });
    define(second, "second");
    await feedAll(job, [3]);
    await job.waitUntilFinish();
    expect(restored).toEqual([{ length: big.length, count: 1 }]);
    const final = (await job.state()) as { blob: string; count: number };
    expect(final.count).toBe(6);
    expect(final.blob.length).toBe(big.length);
  });
});
