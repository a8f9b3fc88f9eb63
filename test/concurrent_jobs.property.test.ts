import fc from "fast-check";
import { SimulatedClock } from "xstate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  EnvClosedError,
  JobSpec,
  LiveEnv,
  LiveworkerError,
  StreamClosedError,
  ValidationError,
  type LiveJob,
  type OutputMessage,
} from "../src/index.js";
import { flushMicrotasks } from "./helpers/drive.js";
import { suiteBackend } from "./helpers/backends.js";
import { createStepDriver } from "./helpers/stepDriver.js";
import { ConcurrencyWatch } from "./helpers/concurrencyWatch.js";
import { scenarioArb, withoutMidwayClose, type DefPlan, type Scenario } from "./helpers/concurrentJobsScenario.js";
import { createTally } from "./helpers/concurrentJobsTally.js";
import { checkJob, describeJob, isFinal, newJobRecord, watch, type AttemptLog, type JobRecord, type Output, type Watched } from "./helpers/concurrentJobRecord.js";

/**
 * Many jobs of several worker defs at once, on a simulated clock: random
 * feeds, terminations, cancels, `env.close()`, processors and inits that
 * throw, hang (until aborted, or ignoring their signal) and emit after being
 * fenced. Checks concurrency, FIFO start order, one final status, at-least-once
 * delivery and fencing, from the lifecycle events and from inside user code.
 * `scripts/mutation-proof.sh` shows it failing on an off-by-one slot, a LIFO
 * queue and removed emit fencing. Left out for now: async input schemas (see
 * `asyncInput` in the scenario generator).
 *
 * Fixed seed and run count, overridable to replay a failure:
 * CONCURRENT_SEED=… CONCURRENT_RUNS=… npx vitest run test/concurrent_jobs.property.test.ts
 */
const SEED = Number(process.env.CONCURRENT_SEED ?? 0x11_c0_b5);
/**
 * On a shared backend (Redis) `env.close()` releases the jobs it leaves (README, Running on Redis): they wait
 * for another process, and this test has one. There the env closes only at the end; the checks are the same.
 */
const CLOSE_MIDWAY = suiteBackend().name !== "redis";
/** Memory: about 10–20 s on a 2-core machine. Redis: round trips per job (BullMQ, streams, events), so fewer runs; same properties. */
const RUNS = Number(process.env.CONCURRENT_RUNS ?? (CLOSE_MIDWAY ? 1_500 : 60));
/** Redis: its round trips take real time, which the driver's steps (a few event-loop turns each) may outrun. */
const MIN_REAL_MS = CLOSE_MIDWAY ? 0 : 10_000;

const STEP_MS = 20;
/** Driver steps a hang that ignores its signal lasts: past every timeout a def gets (≤ 1 000 ms). */
const HANG_STEPS = 60;
/** Steps the jobs get to end once every input is terminated (and `close` to settle): far more than they need. */
const SETTLE_STEPS = 20_000;

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Counts over all runs, to show the scenarios reach what the checks are about. */
const tally = createTally();

async function runScenario({ defs, actions }: Scenario): Promise<string[]> {
  const run = ++tally.runs;
  const violations: string[] = [];
  const violation = (message: string) => violations.push(message);
  const clock = new SimulatedClock();
  const env = LiveEnv.create({ clock, logger: silentLogger, streams: { highWaterMark: 2 } });

  const driver = createStepDriver(clock, { stepMs: STEP_MS, maxSteps: SETTLE_STEPS, minRealMs: MIN_REAL_MS });
  const { stepsLater } = driver;

  // ——— what the test sees ———
  const jobs: JobRecord[] = [];
  const byId = new Map<string, JobRecord>();
  const recordOf = (jobId: string) => byId.get(jobId)!;
  const waitedQueued = new Set<JobRecord>();
  const watcher = new ConcurrencyWatch(
    defs.map((plan) => plan.concurrency),
    jobs,
    violation,
  );
  const enter = watcher.enter.bind(watcher);

  env.subscribe((event) => {
    if (event.type === "timeout") {
      if (event.kind === "stop") tally.stopTimeouts++;
      if (event.kind === "heartbeat") tally.heartbeatTimeouts++;
      if (event.kind === "init") tally.initTimeouts++;
    }
    if (event.type !== "job.status") return;
    const job = byId.get(event.jobId);
    if (!job) return violation(`job.status "${event.status}" for job ${event.jobId}, which the test never enqueued`);
    watcher.status(job, event.status);
    if (event.status === "running" && waitedQueued.has(job)) tally.startedAfterWaiting++;
  });

  /** True when the job's planned fault strikes at this point of this attempt (counted in the tally). */
  const strikes = (job: JobRecord, attempt: number, at: "init" | "start" | number): boolean => {
    const { fault } = job;
    let hit = false;
    switch (fault.kind) {
      case "initThrow":
        hit = at === (defs[job.def]!.withInit ? "init" : "start") && attempt <= fault.times;
        break;
      case "initHang":
        hit = at === "init" && attempt === 1;
        break;
      case "throwAt":
        hit = at === fault.seq && attempt <= fault.times;
        break;
      case "hangAt":
      case "emitLate":
        hit = at === fault.seq && attempt === 1;
        break;
    }
    if (hit) tally.faultsHit[fault.kind] = (tally.faultsHit[fault.kind] ?? 0) + 1;
    return hit;
  };

  /** Emits, remembering emits made after the attempt's signal aborted: none of them may reach a reader. */
  const emitRecorded = (job: JobRecord, emit: (data: Output) => Promise<void>, seq: number, attempt: number, signal: AbortSignal) => {
    const emitId = ++job.emitCount;
    const fenced = signal.aborted;
    const written = emit({ seq, attempt, emitId });
    if (fenced) {
      tally.fencedEmits++;
      // Only the fence stands between this emit and the readers: the job runs and its output is open.
      if (!isFinal(job.handle?.status)) tally.fencedEmitsWhileJobRuns++;
      job.fencedEmits.set(emitId, `message ${seq} emitted by attempt ${attempt} after its signal aborted`);
      written.then(
        () => job.fencedEmitsResolved.push(emitId),
        () => {},
      );
    }
    return written;
  };
  const aborted = (signal: AbortSignal) =>
    new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

  let closing: Watched<void> | undefined;

  // ——— the worker defs: one spec each ———
  const message = z.object({ seq: z.number().int().nonnegative() });
  /** An async check whose latency varies per message, as a lookup's would. */
  const slowCheck = async ({ seq }: { seq: number }) => {
    for (let turn = (seq * 7) % 4; turn > 0; turn--) await null;
    return true;
  };
  const specs = defs.map((plan: DefPlan, def) =>
    JobSpec.define({
      name: `d${def}`,
      input: plan.asyncInput ? message.refine(slowCheck) : message,
      output: z.object({ seq: z.number().int(), attempt: z.number().int(), emitId: z.number().int() }),
    }),
  );
  const defined = defs.map(() => false);
  const defineWorker = (def: number) => {
    const plan = defs[def]!;
    defined[def] = true;
    specs[def]!.defineWorker({
      liveEnv: env,
      concurrency: plan.concurrency,
      retry: { maxRestarts: plan.maxRestarts, withinMs: 1e9, backoff: plan.backoff },
      timeouts: { heartbeatMs: plan.heartbeatMs, initMs: plan.initMs, stopMs: plan.stopMs },
      init: plan.withInit
        ? async ({ jobId, attempt, signal }) => {
            const job = recordOf(jobId);
            const activity = enter(job, "init", attempt, signal);
            try {
              const { fault } = job;
              if (!strikes(job, attempt, "init")) return;
              if (fault.kind === "initThrow") throw new Error(`init of ${jobId} fails on attempt ${attempt}`);
              if (fault.kind === "initHang" && fault.ignoreSignal) await stepsLater(HANG_STEPS);
              else if (fault.kind === "initHang") {
                await aborted(signal);
                throw signal.reason;
              }
            } finally {
              activity.done = true;
            }
          }
        : undefined,
      processor: async ({ input, output, attempt, signal, jobId }) => {
        const job = recordOf(jobId);
        const activity = enter(job, "processor", attempt, signal);
        const log: AttemptLog = { received: [], processed: new Set() };
        job.attempts.set(attempt, log);
        const { fault } = job;
        try {
          if (strikes(job, attempt, "start")) throw new Error(`processor of ${jobId} (no init) fails at its start on attempt ${attempt}`);
          for await (const { seq } of input) {
            if (seq < 0) violation(`validation: attempt ${attempt} of ${describeJob(job)} got the invalid message ${seq}`);
            log.received.push(seq);
            if (strikes(job, attempt, seq)) {
              if (fault.kind === "throwAt") throw new Error(`processor of ${jobId} throws at ${seq}`);
              if (fault.kind === "hangAt" && !fault.ignoreSignal) {
                await aborted(signal);
                throw signal.reason;
              }
              if (fault.kind === "hangAt") {
                await stepsLater(HANG_STEPS);
                await emitRecorded(job, output.emit, seq, attempt, signal);
                return;
              }
              if (fault.kind === "emitLate") {
                const keptEmit = output.emit;
                const emitLate = () => void emitRecorded(job, keptEmit, seq, attempt, signal).catch(() => {});
                const { afterSteps } = fault;
                signal.addEventListener("abort", () => (afterSteps === 0 ? emitLate() : void stepsLater(afterSteps).then(emitLate)), { once: true });
                throw new Error(`processor of ${jobId} throws at ${seq}, leaving a late emitter behind`);
              }
            }
            await emitRecorded(job, output.emit, seq, attempt, signal);
            log.processed.add(seq);
          }
        } finally {
          activity.done = true;
        }
      },
    });
  };
  defs.forEach((plan, def) => plan.definedLate || defineWorker(def));
  /** Defines the late defs; once the env is closed, that must fail with `EnvClosedError`. */
  const defineLateWorkers = () => {
    defs.forEach((_, def) => {
      if (defined[def]) return;
      try {
        defineWorker(def);
        if (closing) violation(`defineWorker of def d${def} after env.close() succeeded`);
      } catch (error) {
        if (!closing || !(error instanceof EnvClosedError)) violation(`defineWorker of def d${def} threw ${String(error)}`);
      }
    });
  };

  /** Reads a job's output to its end, keeping what came even when the reader then throws (a failed job). */
  const readAll = async (handle: LiveJob, into: Output[], slow = false) => {
    for await (const { data } of handle.output as AsyncIterable<OutputMessage<Output>>) {
      into.push(data);
      if (slow) await stepsLater(1);
    }
  };
  const pick = (index: number) => (jobs.length === 0 ? undefined : jobs[index % jobs.length]);
  const enqueuesAfterClose: Watched<unknown>[] = [];

  // ——— the user's script ———
  for (const action of actions) {
    switch (action.kind) {
      case "enqueue": {
        if (closing) {
          enqueuesAfterClose.push(watch(specs[action.def]!.enqueueJob({ liveEnv: env, jobId: `late-${run}-${enqueuesAfterClose.length}` })));
          break;
        }
        const job = newJobRecord(jobs.length, action.def, `r${run}-d${action.def}-j${jobs.length}`, action.fault);
        jobs.push(job);
        byId.set(job.jobId, job);
        job.handle = await specs[action.def]!.enqueueJob({ liveEnv: env, jobId: job.jobId });
        if (job.statuses.at(-1) === "queued") waitedQueued.add(job);
        job.finished = watch(job.handle.waitUntilFinish());
        job.reader = watch(readAll(job.handle, job.readerGot, action.slowReader));
        break;
      }
      case "feed": {
        const job = pick(action.job);
        if (!job) break;
        for (let i = 0; i < action.count; i++) {
          const seq = job.nextSeq++;
          const terminatedBefore = job.terminated;
          job.feeds.push(
            watch(job.handle!.input.feed({ seq }), (state) => {
              if (!state.rejected) {
                job.fed.add(seq);
                tally.messagesFed++;
              } else if (!(state.error instanceof LiveworkerError) || !(terminatedBefore || isFinal(job.handle!.status))) {
                violation(
                  `${describeJob(job)}: feed of message ${seq} rejected (${String(state.error)}) though the input was open when it was called and the job is ${job.handle!.status}`,
                );
              }
            }),
          );
        }
        break;
      }
      case "feedInvalid": {
        const job = pick(action.job);
        if (!job) break;
        const terminatedBefore = job.terminated;
        job.feeds.push(
          watch(job.handle!.input.feed({ seq: -1 }), (state) => {
            const closed = terminatedBefore || isFinal(job.handle!.status);
            if (!(state.error instanceof ValidationError || (closed && state.error instanceof StreamClosedError))) {
              violation(`${describeJob(job)}: feed of an invalid message gave ${String(state.error ?? "success")}, not ValidationError`);
            }
          }),
        );
        break;
      }
      case "define":
        defineLateWorkers();
        break;
      case "terminate": {
        const job = pick(action.job);
        if (!job) break;
        job.terminated = true;
        await job.handle!.input.terminate();
        break;
      }
      case "cancel": {
        const job = pick(action.job);
        if (!job) break;
        job.cancelRequested = true;
        job.cancels.push(watch(job.handle!.cancel("cancelled by the script")));
        break;
      }
      case "advance":
        for (let i = 0; i < action.steps; i++) await driver.tick();
        break;
      case "close":
        tally.closes++;
        // Its cancels happen inside close: every job may be cancelled from then on.
        for (const job of jobs) job.cancelRequested ||= !isFinal(job.statuses.at(-1));
        closing = watch(env.close({ graceMs: action.graceMs }));
        break;
    }
    await flushMicrotasks();
  }

  // ——— the end: every def is defined and every input ends; every job must then end on its own (timeouts bound every hang) ———
  defineLateWorkers();
  for (const job of jobs) {
    job.terminated = true;
    await job.handle!.input.terminate();
  }
  const notFinal = () => jobs.filter((job) => !isFinal(job.statuses.at(-1)) || !job.finished!.settled || !job.reader!.settled);
  await driver.driveUntil(
    () => notFinal().length === 0 && (closing?.settled ?? true),
    () =>
      `jobs did not end after their inputs were terminated${closing ? " and env.close() was called" : ""}: ${notFinal()
        .map((job) => `${describeJob(job)} ${job.handle!.status} (events: ${job.statuses.join(" → ") || "none"})`)
        .join("; ")}`,
  );
  // Every stuck user function wakes and tries to emit; then late readers read the whole history.
  driver.wakeAll();
  await flushMicrotasks();
  for (const job of jobs) job.lateReader = watch(readAll(job.handle!, job.lateReaderGot));
  closing ??= watch(env.close());
  await driver.driveUntil(
    () => closing!.settled && jobs.every((job) => job.lateReader!.settled && [...job.cancels, ...job.feeds].every((call) => call.settled)),
    () => "env.close(), a late reader, a cancel() or a feed() did not settle",
  );
  if (closing.rejected) violation(`env.close() rejected: ${String(closing.error)}`);
  if (env.liveJobCount !== 0) violation(`env.close() settled with ${env.liveJobCount} jobs still live`);
  const timers = (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
  if (timers !== 0) violation(`env.close() settled with ${timers} timers still armed on the env's clock`);
  for (const late of enqueuesAfterClose) {
    if (!(late.error instanceof EnvClosedError)) violation(`enqueueJob after env.close() gave ${String(late.error ?? late.value)}, not EnvClosedError`);
  }

  for (const job of jobs) {
    tally.jobs++;
    checkJob(job, violation, (what) => tally[what]++);
  }
  return violations;
}

describe("many concurrent jobs of several defs (property-based, simulated clock)", () => {
  const unexpected: unknown[] = [];
  const onUnhandled = (reason: unknown) => unexpected.push(reason);
  beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUnhandled);
  });
  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUnhandled);
  });

  it(`concurrency, FIFO, one final status, at-least-once and fencing hold (seed ${SEED}, ${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(CLOSE_MIDWAY ? scenarioArb : scenarioArb.map(withoutMidwayClose), async (scenario) => {
        const violations = await runScenario(scenario);
        // Give stray rejections a turn to surface, then fail the run that caused them.
        await flushMicrotasks(2);
        for (const error of unexpected.splice(0)) violations.push(`unhandled rejection or uncaught exception: ${String(error)}`);
        if (violations.length > 0) {
          const shown = violations.slice(0, 8).join("\n  ");
          throw new Error(`${violations.length} violation(s):\n  ${shown}${violations.length > 8 ? "\n  …" : ""}`);
        }
      }),
      // Redis: no shrinking (each run costs real seconds; shrinking outlasted the test's timeout and hid the failure).
      { seed: SEED, numRuns: RUNS, endOnFailure: !CLOSE_MIDWAY },
    );
    console.log(`concurrent jobs property: ${RUNS} runs (seed ${SEED}), ${tally.jobs} jobs checked`, tally);
    // The scenarios reach what the checks are about.
    expect(tally.completed).toBeGreaterThan(0);
    expect(tally.failed).toBeGreaterThan(0);
    expect(tally.cancelledWhileQueued).toBeGreaterThan(0);
    expect(tally.startedAfterWaiting).toBeGreaterThan(RUNS);
    expect(tally.fencedEmitsWhileJobRuns).toBeGreaterThan(0);
    expect(tally.stopTimeouts).toBeGreaterThan(0);
    expect(tally.redeliveries).toBeGreaterThan(0);
    if (CLOSE_MIDWAY) expect(tally.closes).toBeGreaterThan(0);
  }, 120_000);
});
