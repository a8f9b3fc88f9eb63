import fc from "fast-check";
import { SimulatedClock } from "xstate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  EnvClosedError,
  JobCancelledError,
  JobFailedError,
  JobSpec,
  LiveEnv,
  LiveworkerError,
  TimeoutError,
  ValidationError,
  type JobStatus,
} from "../src/index.js";
import { flushMicrotasks } from "./helpers/drive.js";
import { expectSameError } from "./helpers/sameError.js";
import { suiteBackend } from "./helpers/backends.js";

/** Fixed seed, overridable to replay a failure: FAULT_SEED=… FAULT_RUNS=… npx vitest run test/fault_injection.property.test.ts */
const SEED = Number(process.env.FAULT_SEED ?? 0x5eed_2026);
/**
 * On a shared backend (Redis) `env.close()` releases the job rather than cancelling it
 * (README, Running on Redis): it waits for another process, and this test has one. There
 * the scenarios disrupt the job by cancels only; the checks are the same.
 */
const CLOSE_CANCELS = suiteBackend().name !== "redis";
const RUNS = Number(process.env.FAULT_RUNS ?? 200);

const STEP_MS = 50;
const MAX_STEPS = 2_000;
/**
 * Real time the driver gives the job besides its steps before it calls it hung. Memory: none
 * (a step does all there is to do). Redis: its round trips take real time, which a few
 * thousand steps of a simulated clock (each a few event-loop turns) may not span.
 */
const MIN_REAL_MS = CLOSE_CANCELS ? 0 : 10_000;
const HEARTBEAT_MS = 500;
const INIT_MS = 1_000;
const STOP_MS = 300;
/** Steps a hung processor or init stays stuck: well past its timeout. */
const HANG_STEPS = 30;
/** Emits of a woken, abandoned attempt carry n >= STALE. */
const STALE = 1_000_000;

type Fault =
  | { kind: "none" }
  | { kind: "initThrow"; times: number }
  | { kind: "initHang" }
  | { kind: "throwAt"; index: number; times: number }
  | { kind: "hangAt"; index: number }
  | { kind: "invalidEmitAt"; index: number };

type Disruption =
  | { kind: "none" }
  /** Before input is terminated: after feeding `afterFed` messages. */
  | { kind: "cancel" | "close"; afterFed: number }
  /** After input is terminated, `steps` driver steps later: may race completion. */
  | { kind: "lateCancel" | "lateClose"; steps: number };

interface Scenario {
  payloads: string[];
  gaps: number[];
  fault: Fault;
  disruption: Disruption;
  maxRestarts: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    payloads: fc.array(fc.string({ maxLength: 8 }), { maxLength: 12 }),
    gapSeed: fc.array(fc.nat({ max: 3 }), { minLength: 13, maxLength: 13 }),
    fault: fc.oneof(
      fc.constant<Fault>({ kind: "none" }),
      fc.record({ kind: fc.constant("initThrow" as const), times: fc.integer({ min: 1, max: 4 }) }),
      fc.constant<Fault>({ kind: "initHang" }),
      fc.record({ kind: fc.constant("throwAt" as const), index: fc.nat({ max: 12 }), times: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant("hangAt" as const), index: fc.nat({ max: 12 }) }),
      fc.record({ kind: fc.constant("invalidEmitAt" as const), index: fc.nat({ max: 12 }) }),
    ),
    disruption: fc.oneof(
      { weight: 2, arbitrary: fc.constant<Disruption>({ kind: "none" }) },
      fc.record({ kind: fc.constantFrom("cancel" as const, "close" as const), afterFed: fc.nat({ max: 12 }) }),
      fc.record({ kind: fc.constantFrom("lateCancel" as const, "lateClose" as const), steps: fc.nat({ max: 40 }) }),
    ),
    maxRestarts: fc.nat({ max: 4 }),
  })
  .map(({ payloads, gapSeed, fault, disruption, maxRestarts }) => ({
    payloads,
    gaps: gapSeed.slice(0, payloads.length + 1),
    fault,
    disruption:
      disruption.kind === "cancel" || disruption.kind === "close"
        ? { ...disruption, afterFed: Math.min(disruption.afterFed, payloads.length) }
        : disruption,
    maxRestarts,
  }));

/** What the job must end as without a cancel or close. */
function predicted({ fault, payloads, maxRestarts }: Scenario): "completed" | "failed" {
  const reached = (index: number) => index < payloads.length;
  switch (fault.kind) {
    case "none":
      return "completed";
    case "initThrow":
      return fault.times <= maxRestarts ? "completed" : "failed";
    case "initHang":
      return maxRestarts >= 1 ? "completed" : "failed";
    case "throwAt":
      return !reached(fault.index) || fault.times <= maxRestarts ? "completed" : "failed";
    case "hangAt":
      return !reached(fault.index) || maxRestarts >= 1 ? "completed" : "failed";
    case "invalidEmitAt":
      return reached(fault.index) ? "failed" : "completed";
  }
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
const FINAL: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/** Promise state without awaiting it. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown; rejected: boolean } = { settled: false, rejected: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, rejected: true, error }),
  );
  return state;
}

let runCount = 0;
/** Late emits of a hung, fenced attempt tried while its job still ran: only the fence can stop those. */
let staleEmitsWhileRunning = 0;

async function runScenario(scenario: Scenario): Promise<void> {
  const clock = new SimulatedClock();
  const env = LiveEnv.create({ clock, logger: silentLogger, streams: { highWaterMark: 3 } });
  // ——— the driver: simulated time advances only here ———
  let step = 0;
  const wakeups: Array<{ at: number; resolve: () => void }> = [];
  const stepsLater = (n: number) => new Promise<void>((resolve) => wakeups.push({ at: step + n, resolve }));
  const wakeDue = (all = false) => {
    for (const w of [...wakeups]) {
      if (all || w.at <= step) {
        wakeups.splice(wakeups.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const driveUntil = async (done: () => boolean, what: string) => {
    const realDeadline = Date.now() + MIN_REAL_MS;
    for (;;) {
      await flushMicrotasks();
      if (done()) return;
      if (step >= MAX_STEPS && Date.now() >= realDeadline) throw new Error(`${what} did not settle within ${MAX_STEPS} steps of ${STEP_MS} ms`);
      clock.increment(STEP_MS);
      step++;
      wakeDue();
    }
  };

  // ——— the worker under test: records what it saw and what it emitted while fenced ———
  const spec = JobSpec.define({
    name: `faulty-${++runCount}`,
    input: z.object({ seq: z.number().int().nonnegative(), payload: z.string() }),
    output: z.object({ n: z.number().int().nonnegative(), attempt: z.number().int() }),
  });
  const { fault } = scenario;
  const seen = new Set<number>();
  const emittedWhileFenced = new Set<string>();
  // The hung attempt's late emit: input stays open until it was tried, so the
  // fence (not a closed stream) is what must stop it.
  let staleEmitTried!: () => void;
  const staleEmit = new Promise<void>((resolve) => (staleEmitTried = resolve));
  const key = (n: number, attempt: number) => `${n}@${attempt}`;
  spec.defineWorker({
    liveEnv: env,
    retry: {
      maxRestarts: scenario.maxRestarts,
      withinMs: 1e9,
      backoff: { initialMs: 20, factor: 2, maxMs: 200, jitter: 0.5 },
    },
    timeouts: { heartbeatMs: HEARTBEAT_MS, initMs: INIT_MS, stopMs: STOP_MS },
    init: async ({ attempt }) => {
      if (fault.kind === "initThrow" && attempt <= fault.times) throw new Error(`init failure ${attempt}`);
      if (fault.kind === "initHang" && attempt === 1) await stepsLater(HANG_STEPS); // ignores its signal
      return { attempt };
    },
    processor: async ({ input, output, attempt, signal }) => {
      const emit = async (n: number) => {
        if (signal.aborted) emittedWhileFenced.add(key(n, attempt));
        await output.emit({ n, attempt });
      };
      for await (const { seq } of input) {
        seen.add(seq);
        if (fault.kind === "throwAt" && seq === fault.index && attempt <= fault.times) throw new Error(`fault at ${seq}`);
        if (fault.kind === "hangAt" && seq === fault.index && attempt === 1) {
          await stepsLater(HANG_STEPS); // stuck, ignoring its signal
          if (job.status === "running") staleEmitsWhileRunning++;
          try {
            await emit(STALE + seq);
          } finally {
            staleEmitTried();
          }
          return;
        }
        if (fault.kind === "invalidEmitAt" && seq === fault.index) {
          await output.emit({ n: -1, attempt } as never);
        }
        await emit(seq);
      }
    },
  });

  // ——— the user side ———
  const statusEvents: JobStatus[] = [];
  const job = await spec.enqueueJob({ liveEnv: env, jobId: `job-${runCount}` });
  job.subscribe((event) => {
    if (event.type === "job.status" && FINAL.includes(event.status)) statusEvents.push(event.status);
  });
  const read = async () => {
    const all: Array<{ n: number; attempt: number }> = [];
    for await (const { data } of job.output) all.push(data);
    return all;
  };
  const earlyReader = watch(read());
  const finished = watch(job.waitUntilFinish());
  const fedBeforeTerminate: number[] = [];
  let disrupted: ReturnType<typeof watch> | undefined;
  let enqueueAfterClose: ReturnType<typeof watch> | undefined;
  const disrupt = (kind: "cancel" | "close") => {
    if (kind === "cancel") disrupted = watch(job.cancel("fault injection"));
    else {
      disrupted = watch(env.close());
      enqueueAfterClose = watch(spec.enqueueJob({ liveEnv: env }));
    }
  };
  const { disruption, payloads, gaps } = scenario;
  const scriptRun = (async () => {
      for (let seq = 0; seq <= payloads.length; seq++) {
        if ((disruption.kind === "cancel" || disruption.kind === "close") && disruption.afterFed === seq) disrupt(disruption.kind);
        await stepsLater(gaps[seq] ?? 0);
        if (seq === payloads.length) break;
        try {
          await job.input.feed({ seq, payload: payloads[seq]! });
          fedBeforeTerminate.push(seq);
        } catch (error) {
          // Only a job that already ended may refuse input, with a typed error.
          expect(error).toBeInstanceOf(LiveworkerError);
          expect(FINAL).toContain(job.status);
        }
      }
      if (fault.kind === "hangAt" && fault.index < payloads.length) await Promise.race([staleEmit, job.waitUntilFinish().catch(() => {})]);
      await job.input.terminate().catch((error: unknown) => expect(error).toBeInstanceOf(LiveworkerError));
      if (disruption.kind === "lateCancel" || disruption.kind === "lateClose") {
        await stepsLater(disruption.steps);
        disrupt(disruption.kind === "lateCancel" ? "cancel" : "close");
      }
    })();
  const script = watch(scriptRun);
  // A reader that attaches once input is terminated (or the script failed).
  const lateReader = watch(scriptRun.then(read, read));
  await driveUntil(
    () => script.settled && finished.settled && earlyReader.settled && lateReader.settled && (disrupted?.settled ?? true),
    "the job",
  );
  if (script.rejected) throw script.error;

  // Exactly one final status, the one the job reports, and it fits the fault. (On Redis the
  // journal's events arrive after round trips, so after the outcome: wait for the final one.)
  await driveUntil(() => statusEvents.length > 0, "the final job.status event");
  expect(statusEvents).toHaveLength(1);
  const status = job.status;
  expect(statusEvents[0]).toBe(status);
  const expected = predicted(scenario);
  if (disruption.kind === "none") expect(status).toBe(expected);
  else if (disruption.kind === "cancel" || disruption.kind === "close") {
    expect(expected === "failed" ? ["failed", "cancelled"] : ["cancelled"]).toContain(status);
  } else expect([expected, "cancelled"]).toContain(status);

  // waitUntilFinish and every reader settled consistently with the status.
  if (status === "completed") {
    expect(finished.rejected).toBe(false);
    expect(earlyReader.rejected).toBe(false);
    expect(lateReader.rejected).toBe(false);
    // At-least-once: every message fed before terminate was processed and its result emitted.
    for (const seq of fedBeforeTerminate) expect(seen.has(seq)).toBe(true);
    const emitted = new Set((earlyReader.value as Array<{ n: number }>).map((m) => m.n));
    for (const seq of fedBeforeTerminate) expect(emitted.has(seq)).toBe(true);
  } else {
    expect(finished.rejected).toBe(true);
    expect(finished.error).toBeInstanceOf(status === "failed" ? JobFailedError : JobCancelledError);
    expectSameError(earlyReader.error, finished.error);
    expectSameError(lateReader.error, finished.error);
    if (status === "failed" && disruption.kind === "none") {
      const cause = (finished.error as JobFailedError).cause;
      if (fault.kind === "invalidEmitAt") expect(cause).toBeInstanceOf(ValidationError);
      if (fault.kind === "hangAt") expect(cause).toMatchObject({ kind: "heartbeat" });
      if (fault.kind === "initHang") expect(cause).toBeInstanceOf(TimeoutError);
    }
  }
  if (enqueueAfterClose) {
    await driveUntil(() => enqueueAfterClose!.settled, "enqueue after close");
    expect(enqueueAfterClose.error).toBeInstanceOf(EnvClosedError);
  }

  // Let every stuck processor wake and try to emit: nothing of a fenced attempt shows.
  wakeDue(true);
  await flushMicrotasks(10);
  const observed = [...((earlyReader.value as Array<{ n: number; attempt: number }>) ?? []), ...((lateReader.value as Array<{ n: number; attempt: number }>) ?? [])];
  for (const { n, attempt } of observed) {
    expect(n).toBeLessThan(STALE);
    expect(emittedWhileFenced.has(key(n, attempt))).toBe(false);
  }

  // Closing leaves nothing behind: no job, no pending timer on the env's clock.
  const closed = watch(env.close());
  await driveUntil(() => closed.settled, "env.close()");
  expect(closed.rejected).toBe(false);
  expect(env.liveJobCount).toBe(0);
  expect((clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBe(0);
}

describe("fault injection (property-based, simulated clock)", () => {
  const unexpected: unknown[] = [];
  const onUnhandled = (reason: unknown) => unexpected.push(reason);
  const onUncaught = (error: unknown) => unexpected.push(error);
  beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUncaught);
  });
  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUncaught);
  });

  it(`every run ends in exactly one fitting status with nothing hung, lost, leaked or fenced-through (seed ${SEED}, ${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(CLOSE_CANCELS ? scenarioArb : scenarioArb.filter(({ disruption }) => disruption.kind !== "close" && disruption.kind !== "lateClose"), async (scenario) => {
        await runScenario(scenario);
        // Give stray rejections a turn to surface, then fail the run that caused them.
        await flushMicrotasks(2);
        expect(unexpected).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The fencing check is exercised where it matters, not only after the job ended.
    console.log(`fault injection: ${RUNS} runs, ${staleEmitsWhileRunning} late emits of a fenced attempt while its job ran`);
    expect(staleEmitsWhileRunning).toBeGreaterThan(0);
  }, 120_000);

  it("the predictor is not trivial: the scenarios cover every outcome", () => {
    const samples = fc.sample(scenarioArb, { seed: SEED, numRuns: RUNS });
    const outcomes = new Set(samples.map(predicted));
    expect(outcomes).toEqual(new Set(["completed", "failed"]));
    const kinds = new Set(samples.map((s) => `${s.fault.kind}/${s.disruption.kind}`));
    expect(kinds.size).toBeGreaterThan(20);
  });
});
