/**
 * Stateful workers across processes on Redis (issue 15), with real child
 * processes on loopback: two worker processes (test/fixtures/counting-worker.ts)
 * count keys in their state; the test feeds three jobs known multisets of
 * keys and SIGKILLs the process running them at seeded random points (after
 * a random number of messages, so mostly mid-message: counted, not yet
 * committed), the other process always waiting to take the jobs over (the
 * killed one is started again). A second run also has the processor throw
 * at random points of a message (before its count, after it, after its emit).
 * After completion, `job.state()` read in this process equals the exact
 * counts; every attempt started from the state matching its first message;
 * every input is in the output (at least once). A third test pauses the
 * process (SIGSTOP) mid-message instead, past its lease: resumed after
 * another process completed the job, its commit of a stale state must not
 * land (the fencing token). Kills, restarts and redeliveries are test
 * annotations (`--reporter=verbose` shows them).
 *
 * `LW_STATEFUL_SEED=<n>` replays a schedule (the seed is printed); the
 * timing of the processes is not replayed, only what is done when.
 */
import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { LifecycleEvent, LiveEnv } from "../src/index.js";
import { COUNTING_ENV, counting } from "./fixtures/countingSpecs.js";
import { CHILD_ENV, LEASE_MS, multiProcessEnv } from "./fixtures/multiProcessSpecs.js";
import { within } from "./helpers/breaker.js";
import { startChild, stopChildren, type Child, type ChildLine } from "./helpers/childProcesses.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";
import { seededRandom } from "./helpers/seededRandom.js";
import { WorkerPool } from "./helpers/workerPool.js";

const fixture = fileURLToPath(new URL("./fixtures/counting-worker.ts", import.meta.url));
const JOBS = 3;
/** Messages fed to each job. */
const MESSAGES = 150;
const KEYS = ["leek", "kale", "fig", "pear", "plum", "lime"];
const WORKERS = 2;
/** Kills per run. */
const KILLS = 4;
/** How long a worker holds each message between its count and its commit (ms): a kill mostly lands there. */
const HOLD_MS = 20;
/** How long the jobs have to complete once the kills are over (ms). */
const DRAIN_MS = 30_000;

const pools: WorkerPool[] = [];
const children: Child[] = [];
const clients: LiveEnv[] = [];

afterEach(async () => {
  for (const pool of pools) {
    pool.stop();
    // A failed test leaves restarts under way: their processes end below, which is no error of the test.
    pool.settled().catch(() => {});
  }
  // Every process started, by its pid (a paused one too: SIGKILL ends it), even when the test failed; then the client env.
  await stopChildren([...pools.splice(0).flatMap((pool) => pool.started), ...children.splice(0)]);
  await Promise.all(clients.splice(0).map((env) => env.close()));
});

/** Starts a counting worker process named `name` in the env under `prefix` (see the fixture for its lines). */
function startCounter(name: string, prefix: string, options: { holdMs: number; busy?: boolean; throwRate?: number; seed?: number }): Child {
  return startChild(name, fixture, [], {
    [CHILD_ENV.url]: redisUrl(),
    [CHILD_ENV.prefix]: prefix,
    [CHILD_ENV.name]: name,
    [COUNTING_ENV.holdMs]: String(options.holdMs),
    [COUNTING_ENV.busy]: options.busy ? "1" : "0",
    [COUNTING_ENV.throwRate]: String(options.throwRate ?? 0),
    [COUNTING_ENV.seed]: String(options.seed ?? 0),
  });
}

/** This process's env under `prefix`: the client (no worker defs). */
function clientEnv(prefix: string): LiveEnv {
  const env = multiProcessEnv(redisUrl(), prefix);
  clients.push(env);
  return env;
}

const is =
  (event: string, jobId: string, i?: number) =>
  (line: ChildLine): boolean =>
    line.event === event && line.jobId === jobId && (i === undefined || line.i === i);

function statefulSeed(): number {
  const given = process.env.LW_STATEFUL_SEED;
  if (given === undefined || given === "") return randomInt(2 ** 31);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`LW_STATEFUL_SEED must be an integer in [0, 2^32); got "${given}"`);
  return seed;
}

type Counts = Record<string, number>;

function countsOf(keys: ReadonlyArray<{ key: string }>): Counts {
  const counts: Counts = {};
  for (const { key } of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

/** Each slot's current process (the last one the pool started for it). */
function currentProcesses(pool: WorkerPool): Child[] {
  const bySlot = new Map<number, Child>();
  for (const child of pool.started) bySlot.set(slotOf(child), child);
  return [...bySlot.values()];
}

/** A pool process's slot: `W<slot>.<generation>`. */
const slotOf = (child: Child) => Number(child.name.slice(1, child.name.indexOf(".")));

const handledSoFar = (child: Child) => Math.max(0, ...child.lines.filter((line) => line.event === "handled").map((line) => line.handled as number));

/** The first of `children` to be handed `count` more messages (of any job) than it had been so far. */
function firstToHandle(children: readonly Child[], count: number): Promise<Child> {
  return Promise.any(
    children.map((child) => {
      const from = handledSoFar(child);
      return child.waitFor(`${child.name} handles ${count} more messages`, (line) => line.event === "handled" && (line.handled as number) >= from + count, 60_000).then(() => child);
    }),
  );
}

interface Run {
  readonly seed: number;
  /** The chance that the processor throws at a message (0: only kills). */
  readonly throwRate: number;
}

/** Runs the jobs through kills (and throws), checks what the processes printed, each job's output and state, and reports the counts. */
async function run({ seed, throwRate }: Run, annotate: (message: string) => Promise<unknown>): Promise<void> {
  const random = seededRandom(seed);
  const prefix = uniquePrefix("stateful");
  const client = clientEnv(prefix);
  const restartEvents: LifecycleEvent[] = [];
  client.subscribe((event) => {
    if (event.type === "worker.restart") restartEvents.push(event);
  });
  let processes = 0;
  // Each process its own planned failures, replayed with the seed.
  const pool = new WorkerPool((name) => startCounter(name, prefix, { holdMs: HOLD_MS, throwRate, seed: (seed + 7_919 * ++processes) % 2 ** 32 }), WORKERS);
  pools.push(pool);
  await pool.ready();

  const jobIds = Array.from({ length: JOBS }, (_, j) => `count-${j + 1}`);
  const fed = jobIds.map(() => Array.from({ length: MESSAGES }, (_, i) => ({ i, key: random.pick(KEYS) })));
  const jobs = await Promise.all(jobIds.map((jobId) => counting.enqueueJob({ liveEnv: client, jobId })));
  const finished = Promise.allSettled(jobs.map((job) => job.waitUntilFinish()));
  // Input comes in one part per kill and a last one: no job can complete before the kills are over.
  const part = MESSAGES / (KILLS + 1);
  const feedPart = (index: number) =>
    Promise.all(
      jobs.map(async (job, j) => {
        for (const message of fed[j]!.slice(index * part, (index + 1) * part)) await job.input.feed(message);
      }),
    );

  // Each kill: once every slot runs (another process waits), the next part is fed, and the process first handed a
  // random number of messages (of any job) is killed, mostly in the middle of one.
  let kills = 0;
  for (; kills < KILLS; kills++) {
    await pool.settled();
    await feedPart(kills);
    const victim = await firstToHandle(currentProcesses(pool), random.int(2, 12));
    pool.kill(slotOf(victim), random.int(100, 500));
  }
  await feedPart(KILLS);
  await Promise.all(jobs.map((job) => job.input.terminate()));
  const completed = await within(finished, DRAIN_MS, "the jobs' completion after the kills").then(
    () => true,
    () => false,
  );
  // The last process killed runs again (a process started again is ready) before every process ends.
  await pool.settled();
  pool.stop();
  await stopChildren(pool.started);

  // In time order (one machine's clock; stable: a process's own order stays).
  const lines = pool.started.flatMap((child) => child.lines).sort((a, b) => (a.at as number) - (b.at as number));
  const linesOf = (event: string, jobId: string) => lines.filter(is(event, jobId));
  const callOf = (line: ChildLine) => `${line.name as string}#${line.run as number}`;
  // Every attempt that was handed a message started from the counts of the messages before it (checked first:
  // a job that never completes, restarting from a wrong place, shows it here).
  const wrongStarts = jobIds.flatMap((jobId, j) => {
    const handled = linesOf("handled", jobId);
    return linesOf("started", jobId).flatMap((start) => {
      const first = handled.find((line) => callOf(line) === callOf(start));
      if (!first) return [];
      const matching = countsOf(fed[j]!.slice(0, first.i as number));
      const same = JSON.stringify(Object.entries(start.state as Counts).sort()) === JSON.stringify(Object.entries(matching).sort());
      return same ? [] : [{ jobId, call: callOf(start), attempt: start.attempt, firstMessage: first.i, state: start.state, matching }];
    });
  });
  expect(wrongStarts, "attempts that did not start from the state of their first message").toEqual([]);
  expect(completed, `jobs completed within ${DRAIN_MS} ms after the kills: ${jobs.map((job) => `${job.jobId} ${job.status}`).join(", ")}`).toBe(true);

  let redelivered = 0;
  let duplicateOutputs = 0;
  let takeovers = 0;
  const finalCounts: string[] = [];
  for (const [j, job] of jobs.entries()) {
    const jobId = jobIds[j]!;
    const expected = countsOf(fed[j]!);
    expect(job.status, jobId).toBe("completed");
    // The exact counts, read from Redis by this process: every message counted once, across kills and restarts.
    expect(await job.state(), `${jobId}: the committed state`).toEqual(expected);
    finalCounts.push(`${jobId} ${JSON.stringify(expected)}`);

    const handled = linesOf("handled", jobId);
    const output: number[] = [];
    for await (const { data } of job.output) output.push(data.i);
    expect(new Set(output), `${jobId}: inputs in the output`).toEqual(new Set(fed[j]!.map(({ i }) => i)));
    duplicateOutputs += output.length - MESSAGES;
    redelivered += handled.length - new Set(handled.map((line) => line.i)).size;
    const starts = linesOf("started", jobId);
    takeovers += starts.filter((start, k) => k > 0 && start.name !== starts[k - 1]!.name).length;
  }
  const throws = lines.filter((line) => line.event === "threw").length;
  await annotate(
    `seed ${seed}: ${JOBS} jobs × ${MESSAGES} messages, ${WORKERS} worker processes (lease ${LEASE_MS} ms); ` +
      `${kills} kills (SIGKILL), ${pool.restarts} processes started again, ${takeovers} take-overs, ${throws} planned throws, ` +
      `${restartEvents.length} worker.restart events; ${redelivered} messages handed out again, ${duplicateOutputs} duplicate outputs; ` +
      `exact counts: ${finalCounts.join("; ")}`,
  );
  // The run tested something: messages were handed out again after kills (and throws), and still counted once.
  expect(takeovers, "take-overs").toBeGreaterThanOrEqual(1);
  expect(redelivered, "messages handed out again").toBeGreaterThan(0);
  if (throwRate > 0) expect(throws, "planned throws").toBeGreaterThan(0);
}

describe("stateful workers across processes: killed or paused mid-job, the state stays exact (child processes on Redis)", () => {
  it("job.state() equals the exact counts after worker processes are killed mid-message", { timeout: 120_000 }, async ({ annotate }) => {
    const seed = statefulSeed();
    console.log(`stateful kill seed ${seed} (replay: LW_STATEFUL_SEED=${seed})`);
    await run({ seed, throwRate: 0 }, annotate);
  });

  it("job.state() equals the exact counts when the processor also throws at random points of a message", { timeout: 120_000 }, async ({ annotate }) => {
    const seed = statefulSeed();
    console.log(`stateful kill-and-throw seed ${seed} (replay: LW_STATEFUL_SEED=${seed})`);
    await run({ seed, throwRate: 0.04 }, annotate);
  });

  it("a worker process paused mid-message past its lease (SIGSTOP) while another completes the job: resumed, it commits a stale state that does not land; job.state() stays exact", async ({ annotate }) => {
    const prefix = uniquePrefix("stateful");
    const client = clientEnv(prefix);
    const jobId = "paused-count";
    const fed = Array.from({ length: 12 }, (_, i) => ({ i, key: KEYS[(i * i) % KEYS.length]! }));
    const expected = countsOf(fed);
    // P1 holds each message 150 ms, busy, between its count and its commit: it is paused holding message 2 and,
    // resumed, goes on to its commit before it can learn that it lost the job (its process handles no I/O before).
    const first = startCounter("P1", prefix, { holdMs: 150, busy: true });
    children.push(first);
    const job = await counting.enqueueJob({ liveEnv: client, jobId });
    await first.waitFor("P1 runs the job", is("started", jobId));
    // Started once P1 holds the job: it waits for the job to be free.
    const second = startCounter("P2", prefix, { holdMs: 0 });
    children.push(second);
    await second.waitFor("P2 is ready", (line) => line.event === "ready");
    // P1 gets messages 0 to 2 only: its stale state (those counted) differs from the job's final one.
    for (const message of fed.slice(0, 3)) await job.input.feed(message);
    await first.waitFor("P1 counts message 2", is("handled", jobId, 2));
    first.signal("SIGSTOP");
    const pausedAt = Date.now();
    const takenOver = await second.waitFor("P2 takes the job over", is("started", jobId), 10 * LEASE_MS);
    for (const message of fed.slice(3)) await job.input.feed(message);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(await job.state(), "the state P2 committed last").toEqual(expected);

    // Read before the signal: the resumed child may log before this process runs again.
    const continuedAt = Date.now();
    first.signal("SIGCONT");
    // Its hold ran out while it was paused: it emits message 2, then asks for the next one, which commits its state
    // (messages 0 to 2 counted) with its stale fencing token: Redis must refuse it.
    const stale = await first.waitFor("P1 asks for the message after 2, after SIGCONT", is("emitted", jobId, 2));
    // Its queued writes are sent before it exits (env.close() on SIGTERM waits for them).
    first.signal("SIGTERM");
    await first.exited;
    expect(await job.state(), "the state after P1's stale commit").toEqual(expected);
    // P1 did not know yet that it had lost the job when it asked: its commit was sent (else this proves nothing).
    expect(stale.aborted, "P1's signal had aborted when it asked for the message after 2").toBe(false);
    expect(first.lines.filter((line) => is("handled", jobId)(line) && (line.i as number) > 2), "messages after 2 that P1 took").toEqual([]);
    await annotate(
      `paused ${continuedAt - pausedAt} ms (lease ${LEASE_MS} ms); P2 took over ${(takenOver.at as number) - pausedAt} ms after SIGSTOP; ` +
        `P1 asked for its next message ${(stale.at as number) - continuedAt} ms after SIGCONT (its signal aborted then: ${String(stale.aborted)}); ` +
        `exact counts ${JSON.stringify(expected)}`,
    );
  });
});
