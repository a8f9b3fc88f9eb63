/**
 * Chaos across processes on Redis (issue 14): 3 worker processes run 50
 * streaming jobs that the test process feeds over time, while a seeded
 * random schedule kills worker processes (SIGKILL, started again after a
 * while) and pauses them past their lease (SIGSTOP, then SIGCONT). Then:
 * every job ends exactly once (one final status recorded, completed), no
 * input of a completed job is missing from its output, and nothing from a
 * fenced processor call is delivered. The counts are test annotations.
 *
 * Its own run (`npm run test:chaos`, in .ci/run): it takes about 40 s.
 * `LW_CHAOS_SEED=<n>` replays a schedule (the seed is printed); the timing
 * of the processes is not replayed, only what is done when.
 */
import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { LifecycleEvent, LiveEnv } from "../src/index.js";
import { decode } from "../src/redis/codec.js";
import { LEASE_MS, numbers } from "./fixtures/multiProcessSpecs.js";
import { stopChildren } from "./helpers/childProcesses.js";
import { tallyChaos, type NumbersMessage } from "./helpers/chaosTally.js";
import { numbersClient, numbersKeys, startNumbersWorker } from "./helpers/numbersWorkers.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";
import { seededRandom } from "./helpers/seededRandom.js";
import { WorkerPool } from "./helpers/workerPool.js";

const JOBS = 50;
const WORKERS = 3;
/** Inputs fed to each job, spread over the chaos phase. */
const INPUTS = 12;
/** How long processes are disrupted while input is fed (ms). */
const CHAOS_MS = 20_000;
/** How long every job has to end once the disruptions are over and its input is terminated (ms). */
const DRAIN_MS = 25_000;
/** How long each worker holds an input before emitting it (ms): calls are often mid-input when disrupted. */
const HOLD_MS = 300;

const pools: WorkerPool[] = [];
const clients: LiveEnv[] = [];
const redises: Redis[] = [];

afterEach(async () => {
  for (const pool of pools) pool.stop();
  // Every process started, by its pid (paused ones too: SIGKILL ends them), then the client.
  await stopChildren(pools.splice(0).flatMap((pool) => pool.started));
  await Promise.all(clients.splice(0).map((env) => env.close()));
  await Promise.all(redises.splice(0).map((redis) => redis.quit()));
});

function chaosSeed(): number {
  const given = process.env.LW_CHAOS_SEED;
  if (given === undefined || given === "") return randomInt(2 ** 31);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`LW_CHAOS_SEED must be an integer in [0, 2^32); got "${given}"`);
  return seed;
}

describe("chaos: worker processes killed and paused while 50 jobs stream (child processes on Redis)", () => {
  it("every job ends exactly once, completed; every input is in its output; nothing from a fenced call is delivered", { timeout: 90_000 }, async ({ annotate }) => {
    const random = seededRandom(chaosSeed());
    console.log(`chaos seed ${random.seed} (replay: LW_CHAOS_SEED=${random.seed} npm run test:chaos)`);
    const began = Date.now();
    const prefix = uniquePrefix("chaos");
    const keys = numbersKeys(prefix);
    const client = numbersClient(prefix);
    clients.push(client);
    const pool = new WorkerPool((name) => startNumbersWorker(name, prefix, HOLD_MS), WORKERS);
    pools.push(pool);
    await pool.ready();
    const jobIds = Array.from({ length: JOBS }, (_, i) => `soup-${i + 1}`);
    const jobs = await Promise.all(jobIds.map((jobId) => numbers.enqueueJob({ liveEnv: client, jobId })));

    const feeding = (async () => {
      for (let n = 1; n <= INPUTS; n++) {
        await sleep(CHAOS_MS / INPUTS);
        await Promise.all(jobs.map((job) => job.input.feed(n)));
      }
    })();
    // One disruption every 1 to 2.5 s, of a process that runs, while another one runs too.
    const chaosEnds = Date.now() + CHAOS_MS;
    let kills = 0;
    let pauses = 0;
    while (Date.now() < chaosEnds) {
      await sleep(random.int(1_000, 2_500));
      const up = pool.up;
      if (up.length < 2) continue;
      const victim = random.pick(up);
      // The first two disruptions are one of each kind.
      const kill = kills === 0 ? pauses > 0 || random.next() < 0.5 : pauses === 0 ? false : random.next() < 0.5;
      if (kill) {
        pool.kill(victim, random.int(200, 2_000));
        kills += 1;
      } else {
        pool.pause(victim, random.int(1.5 * LEASE_MS, 3 * LEASE_MS));
        pauses += 1;
      }
    }
    await feeding;
    await pool.settled();
    const drainFrom = Date.now();
    await Promise.all(jobs.map((job) => job.input.terminate()));
    const ended = await Promise.race([
      Promise.allSettled(jobs.map((job) => job.waitUntilFinish())).then(() => true),
      sleep(DRAIN_MS).then(() => false),
    ]);
    expect(ended, `jobs not ended ${DRAIN_MS} ms after their input: ${jobs.filter((job) => job.status !== "completed").map((job) => `${job.jobId} (${job.status})`).join(", ")}`).toBe(true);
    const drainMs = Date.now() - drainFrom;

    // Every process ends now, so nothing is written after what is read below.
    pool.stop();
    await stopChildren(pool.started);
    const outputs = new Map<string, NumbersMessage[]>();
    for (const job of jobs) {
      const messages: NumbersMessage[] = [];
      for await (const { data } of job.output) messages.push(data);
      outputs.set(job.jobId, messages);
    }
    const redis = new Redis(redisUrl());
    redises.push(redis);
    const events = (await redis.xrangeBuffer(keys.events, "-", "+")).map(([, fields]) => decode(fields[1]!) as LifecycleEvent);
    const finalEvents = new Map<string, string[]>();
    for (const event of events) {
      if (event.type !== "job.status" || !["completed", "failed", "cancelled"].includes(event.status)) continue;
      finalEvents.set(event.jobId, [...(finalEvents.get(event.jobId) ?? []), event.status]);
    }

    const tally = tallyChaos({ jobIds, inputs: INPUTS, outputs, lines: pool.started.flatMap((child) => child.lines), finalEvents, disruptions: pool.disruptions });
    const restartEvents = events.filter((event) => event.type === "worker.restart").length;
    await annotate(
      `seed ${random.seed}: ${JOBS} jobs × ${INPUTS} inputs, ${WORKERS} worker processes (lease ${LEASE_MS} ms); ` +
        `${kills} kills, ${pauses} pauses, ${pool.restarts} restarts; ${tally.takeovers} take-overs, ${restartEvents} worker.restart events, ` +
        `${tally.fencedCalls} fenced calls; ${tally.duplicates} duplicate messages; ` +
        `recovery max ${Math.max(0, ...tally.recoveriesMs)} ms over ${tally.recoveriesMs.length} disruptions holding jobs; ` +
        `drain ${drainMs} ms; total ${Date.now() - began} ms`,
    );
    expect(jobs.filter((job) => job.status !== "completed").map((job) => `${job.jobId}: ${job.status}`), "jobs not completed").toEqual([]);
    expect(tally.notOneFinal, "jobs without exactly one final status (completed)").toEqual([]);
    expect(tally.missing, "inputs missing from a completed job's output").toEqual([]);
    expect(tally.staleLanded, "messages of a processor call after another call's (a fenced call's write landed)").toEqual([]);
    expect(tally.abortedDelivered, "emits made after the call's signal aborted, delivered").toEqual([]);
    expect(kills + pauses, "disruptions").toBeGreaterThan(1);
  });
});
