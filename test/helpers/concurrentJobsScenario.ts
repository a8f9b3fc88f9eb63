import fc from "fast-check";

/**
 * Scenarios of the concurrent-jobs property test: a few worker defs, many
 * jobs enqueued among random feeds, terminations, cancels, clock advances and,
 * in half the runs, an `env.close()` midway; each job with one planned fault.
 */

/** One worker def: its own spec, concurrency, retry budget and timeouts. */
export interface DefPlan {
  concurrency: number;
  /** The def is defined only when the script's `define` action (or its end) comes: its jobs wait queued until then. */
  definedLate: boolean;
  /** The spec's input schema validates asynchronously. */
  asyncInput: boolean;
  withInit: boolean;
  maxRestarts: number;
  backoff: { initialMs: number; factor: number; maxMs: number; jitter: number };
  heartbeatMs: number;
  initMs: number;
  stopMs: number;
}

/** What one job's user code does wrong (at most once per job; `times` counts attempts). */
export type Fault =
  | { kind: "none" }
  /** The processor throws when it gets message `seq`, on attempts 1 … `times`. */
  | { kind: "throwAt"; seq: number; times: number }
  /** Attempt 1 stops at message `seq`: until its signal aborts, or for good (ignoring the signal, then emitting late). */
  | { kind: "hangAt"; seq: number; ignoreSignal: boolean }
  /**
   * Attempt 1 keeps `output.emit`, throws at message `seq`, and emits once its
   * signal aborted (`afterSteps` driver steps later; 0: in the abort listener),
   * while the job goes on restarting and reading.
   */
  | { kind: "emitLate"; seq: number; afterSteps: number }
  /** `init` throws on attempts 1 … `times`. */
  | { kind: "initThrow"; times: number }
  /** `init` of attempt 1 hangs: until its signal aborts, or for good. */
  | { kind: "initHang"; ignoreSignal: boolean };

/** One step of the user's script. `job` picks a job enqueued so far (modulo their count). */
export type Action =
  /** `slowReader`: the job's first reader takes a driver step per message, so emits wait for it (backpressure). */
  | { kind: "enqueue"; def: number; fault: Fault; slowReader: boolean }
  | { kind: "feed"; job: number; count: number }
  /** A message the schema rejects: `ValidationError`, and it never reaches the processor. */
  | { kind: "feedInvalid"; job: number }
  /** Defines the worker of every def planned `definedLate` (once). */
  | { kind: "define" }
  | { kind: "terminate"; job: number }
  | { kind: "cancel"; job: number }
  | { kind: "advance"; steps: number }
  | { kind: "close"; graceMs: number };

export interface Scenario {
  defs: DefPlan[];
  actions: Action[];
}

/** Faults only need a small range of message numbers: most jobs get a handful. */
const SEQ = fc.nat({ max: 2 });

const defArb: fc.Arbitrary<DefPlan> = fc.record({
  concurrency: fc.integer({ min: 1, max: 3 }),
  definedLate: fc.boolean(),
  // An async input schema whose latency varies per message: feeds called without awaiting must still
  // reach the processor in call order, and `terminate()` must wait for them (issue 11 §3).
  asyncInput: fc.boolean(),
  withInit: fc.boolean(),
  maxRestarts: fc.nat({ max: 3 }),
  backoff: fc.record({
    initialMs: fc.integer({ min: 0, max: 100 }),
    factor: fc.constantFrom(1, 2),
    maxMs: fc.constant(400),
    jitter: fc.constantFrom(0, 0.2, 0.5),
  }),
  heartbeatMs: fc.integer({ min: 100, max: 1_000 }),
  initMs: fc.integer({ min: 100, max: 400 }),
  stopMs: fc.integer({ min: 40, max: 300 }),
});

// Cross-shrinking lets a counterexample's faults shrink to "none" (and actions to feeds).
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { withCrossShrink: true },
  { weight: 2, arbitrary: fc.constant<Fault>({ kind: "none" }) },
  fc.record({ kind: fc.constant("throwAt" as const), seq: SEQ, times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("hangAt" as const), seq: SEQ, ignoreSignal: fc.boolean() }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("emitLate" as const), seq: SEQ, afterSteps: fc.nat({ max: 3 }) }) },
  fc.record({ kind: fc.constant("initThrow" as const), times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("initHang" as const), ignoreSignal: fc.boolean() }),
);

const enqueueArb = fc.record({ kind: fc.constant("enqueue" as const), def: fc.nat({ max: 3 }), fault: faultArb, slowReader: fc.boolean() });

const JOB = fc.nat({ max: 29 });
const otherArb: fc.Arbitrary<Exclude<Action, { kind: "enqueue" | "close" }>> = fc.oneof(
  { withCrossShrink: true },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("feed" as const), job: JOB, count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("feedInvalid" as const), job: JOB }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("define" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("terminate" as const), job: JOB }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), job: JOB }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), steps: fc.integer({ min: 1, max: 20 }) }) },
);

/**
 * 2–4 defs; 5–30 enqueues with up to 80 other actions interleaved (each
 * placed after the `after`-th enqueue, so shrinking moves actions earlier).
 * Lengths span their whole range (`size: "max"`), not fast-check's small default.
 */
export const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    defs: fc.array(defArb, { minLength: 2, maxLength: 4 }),
    enqueues: fc.array(enqueueArb, { minLength: 5, maxLength: 30, size: "max" }),
    others: fc.array(fc.record({ after: fc.nat({ max: 30 }), action: otherArb }), { maxLength: 80, size: "max" }),
    // Half the runs close the env midway (with some grace); the others only at the end.
    close: fc.option(fc.record({ after: fc.nat({ max: 30 }), graceMs: fc.constantFrom(0, 100, 600, 3_000) }), { freq: 2 }),
  })
  .map(({ defs, enqueues, others, close }) => {
    const actions: Action[] = [];
    const closing = close ? [{ after: close.after, action: { kind: "close" as const, graceMs: close.graceMs } }] : [];
    const placed = [...others, ...closing].sort((a, b) => a.after - b.after);
    let next = 0;
    enqueues.forEach((enqueue, index) => {
      while (next < placed.length && placed[next]!.after < index) actions.push(placed[next++]!.action);
      actions.push({ ...enqueue, def: enqueue.def % defs.length });
    });
    while (next < placed.length) actions.push(placed[next++]!.action);
    return { defs, actions };
  });

/** A scenario without its `env.close()` midway (the test still closes the env at the end). */
export function withoutMidwayClose(scenario: Scenario): Scenario {
  return { ...scenario, actions: scenario.actions.filter((action) => action.kind !== "close") };
}
