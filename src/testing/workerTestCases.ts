import type { AnyJobSpec, JobSpec, StateOf } from "../spec/JobSpec.js";
import { MAX_TIMER_MS } from "../options.js";
import { rejectOnThrow } from "../thenable.js";
import { isFinalStatus, type JobStatus, type LifecycleEvent, type WorkerState } from "../backend/events.js";
import type { LiveJob } from "../job/LiveJob.js";
import { injectFaults, type AttemptPlan, type FaultHarness } from "./attemptFaults.js";
import { caseDeadline, closeWithin } from "./caseDeadline.js";
import { caseSettings, type CaseSettings, type WorkerTestCasesOptions, type WorkerUnderTest } from "./caseSettings.js";
import { createTestEnv, flush, type TestEnv } from "./createTestEnv.js";
import { isDeepStrictEqual } from "node:util";
import { lostOutputs, readOutputs, runFaultFree, type FaultFreeResult } from "./faultFreeRun.js";
import { describeValue, feedSamples } from "./sampleInput.js";
import { UNREACHABLE_IN_SINGLE_WORKER_JOB, workerModel, type WorkerPath, type WorkerPathStep } from "./workerPaths.js";

/** One generated test: give `name` and `run` to your test runner (`it(c.name, c.run)`). */
export interface WorkerTestCase {
  name: string;
  /** The model path this case replays. */
  path: WorkerPath;
  run(): Promise<void>;
}

const INIT_MS = 10_000;
const STOP_MS = 5_000;
const BACKOFF = { initialMs: 100, factor: 1, maxMs: 100, jitter: 0 };
/** Where the harness stops a processor it fails, for messages about a processor that never got there. */
const STRIKE_POINTS = "the harness holds the processor at an emit, a read or its return once it has taken message k; it never got there";
const FINAL_STATUS: Partial<Record<WorkerState, JobStatus>> = { done: "completed", crashed: "failed", stopped: "cancelled" };

/** A spec, a worker and checked options: what every case of one `workerTestCases` call shares. */
interface Subject {
  spec: AnyJobSpec;
  worker: WorkerUnderTest<any, any, any, any>;
  settings: CaseSettings;
  /** The fault-free run's outputs (and final state), run on first need and then shared. */
  faultFree(): Promise<FaultFreeResult>;
}

function subjectOf(spec: AnyJobSpec, worker: WorkerUnderTest<any, any, any, any>, options: unknown, where: string): Subject {
  const settings = caseSettings(spec, worker, options, where);
  // Once per call: the comparison already assumes the worker's outputs follow from its input
  // alone, so one run is the reference. Lazily, so workerTestCases stays synchronous and cheap
  // while the runner collects tests; but before the first case runs (see replaySubject), so no
  // case can have left process-wide state behind that the reference would then see.
  let outputs: Promise<FaultFreeResult> | undefined;
  return {
    spec,
    worker,
    settings,
    faultFree: () => (outputs ??= runFaultFree(spec, worker, settings, { initMs: INIT_MS, stopMs: STOP_MS })),
  };
}

/** The fault script of a path: what each attempt's init and processor do, and the restart budget. */
function planOf(path: WorkerPath): { attempts: Map<number, AttemptPlan>; maxRestarts: number } {
  const attempts = new Map<number, AttemptPlan>();
  let attempt = 1;
  const current = () => {
    let plan = attempts.get(attempt);
    if (!plan) attempts.set(attempt, (plan = { init: "hang", processor: "hang", onAbort: "settle" }));
    return plan;
  };
  let restarts = 0;
  let givesUp = false;
  for (const step of path.steps) {
    const plan = current();
    switch (step.kind) {
      case "init resolves": plan.init = "pass"; break;
      case "init rejects": plan.init = "throw"; break;
      case "processor returns": plan.processor = "pass"; break;
      case "processor fails": plan.processor = "throw"; break;
      case "stop grace elapsed": plan.onAbort = "ignore"; break;
      case "restart granted": restarts++; break;
      case "restart budget spent": givesUp = true; break;
      case "backoff elapsed": attempt++; break;
      default: break; // init timed out, cancel, settles: the attempt hangs (the default)
    }
  }
  current();
  return { attempts, maxRestarts: givesUp ? restarts : restarts + 1 };
}

/**
 * Model-based tests for your worker. Generates one case per lifecycle path of
 * the worker machine (`machines/worker`): fault in init, init timeout, fault
 * at message k, stall past the heartbeat, cancel during init, processing or
 * backoff, restart budget spent, recovery to completion, happy path…
 * Each case runs your worker in a fresh test env (simulated clock) with faults
 * injected around it, replays the path, and checks the library's invariants:
 * the worker goes through exactly the path's states, the job ends in one
 * final status that matches, output readers settle, no emit is accepted after
 * fencing and, when the job completes, nothing was lost: every sample message
 * reached the processor, and every output of a fault-free run of the same
 * sample (run once per call, on first need) appears among the case's outputs;
 * for a stateful worker (`initialState`), its final committed state
 * (`job.state()`) equals the fault-free run's (deep equality): every
 * redelivered message changed it once.
 *
 * Faults wrap your code: `init` throws or hangs; the processor fails while
 * handling message k (k = 1 for the first failing attempt, 2 for a stateful
 * worker's, so that one message was committed before it; one more for each
 * next): at its first emit after taking message k, at its second read after
 * it (the first is let through), or at its return, whichever comes first. Every
 * way of reading input is wrapped: the default tag, `input(tag)` and `merge`.
 * Retry and timeouts are the harness's (small budget, fixed backoff).
 *
 * Throws at once `ConfigurationError` for options that cannot work (unknown
 * keys, an array `sampleInput` for a spec without a `default` input tag, a
 * sample tag the spec lacks) and `ValidationError` for a bad `timeoutMs` /
 * `heartbeatMs`. Each case fails within `timeoutMs` (default 4 000 ms of real
 * time) with a message that names its path and what it waited for.
 *
 * @example
 * import { describe, it } from "vitest";
 * import { workerTestCases } from "liveworker/testing";
 * describe("upper worker", () => {
 *   for (const c of workerTestCases(upper, { processor }, { sampleInput: [{ text: "a" }, { text: "b" }] })) it(c.name, c.run);
 * });
 * // A spec with input tags veg and spice: sampleInput: { veg: [{ name: "leek" }], spice: ["salt"] }
 */
export function workerTestCases<I, O, Opt, R, St = undefined>(
  spec: JobSpec<I, O, Opt, St>,
  worker: WorkerUnderTest<I, O, Opt, R, StateOf<St, any>>,
  options: WorkerTestCasesOptions<Opt, I>,
): WorkerTestCase[] {
  const subject = subjectOf(spec as AnyJobSpec, worker as WorkerUnderTest<any, any, any, any>, options, "workerTestCases");
  // A worker without init starts each attempt in executing: model that lifecycle, not one it never has.
  const { paths } = workerModel(new Set(UNREACHABLE_IN_SINGLE_WORKER_JOB.keys()), { hasInit: worker.init !== undefined });
  const cases: WorkerTestCase[] = [];
  for (const path of paths) {
    cases.push({ name: path.description, path, run: () => replaySubject(subject, path, false) });
    if (subject.settings.stalls && path.steps.some((step) => step.kind === "processor fails")) {
      cases.push({ name: `${path.description} (failing by stall)`, path, run: () => replaySubject(subject, path, true) });
    }
  }
  return cases;
}

/**
 * Replays one path against the real runtime; throws a readable error on any
 * broken invariant (see `workerTestCases`, which checks the options the same
 * way). A path that starts in `initializing` runs with an `init` (the
 * harness's, around the worker's own if any); one that starts in `executing`
 * runs without. `stall`: the processor fails by a stall, not a throw.
 */
export function replay<I, O, Opt, R, St = undefined>(
  spec: JobSpec<I, O, Opt, St>,
  worker: WorkerUnderTest<I, O, Opt, R, StateOf<St, any>>,
  options: WorkerTestCasesOptions<Opt, I>,
  path: WorkerPath,
  stall: boolean,
): Promise<void> {
  return rejectOnThrow(() => replaySubject(subjectOf(spec as AnyJobSpec, worker as WorkerUnderTest<any, any, any, any>, options, "replay"), path, stall));
}

async function replaySubject(subject: Subject, path: WorkerPath, stall: boolean): Promise<void> {
  const { spec, worker, settings } = subject;
  // The reference run comes first (its failure is reported where outputs are compared).
  if (settings.checkNothingLost) await subject.faultFree().catch(() => {});
  const { attempts, maxRestarts } = planOf(path);
  const t: TestEnv = createTestEnv();
  const releases = new Set<() => void>();
  const reached = new Map<string, () => void>();
  const reachedPromises = new Map<string, Promise<void>>();
  const whenReached = (attempt: number, stage: "init" | "processor"): Promise<void> => {
    const key = `${attempt}:${stage}`;
    let promise = reachedPromises.get(key);
    if (!promise) {
      promise = new Promise<void>((resolve) => reached.set(key, resolve));
      reachedPromises.set(key, promise);
    }
    return promise;
  };
  const harness: FaultHarness = {
    planFor: (attempt) => attempts.get(attempt) ?? { init: "pass", processor: "pass", onAbort: "settle" },
    stall,
    sampleSize: settings.sampleSize,
    hang: (signal, onAbort) =>
      new Promise<never>((_, reject) => {
        const release = () => reject(signal.reason ?? new Error("released by the harness"));
        releases.add(release);
        if (onAbort === "settle") {
          if (signal.aborted) release();
          else signal.addEventListener("abort", release, { once: true });
        }
      }),
    reached: (attempt, stage) => {
      void whenReached(attempt, stage);
      reached.get(`${attempt}:${stage}`)!();
    },
    processed: new Map(),
    problems: [],
  };
  const { init, processor } = injectFaults(worker, harness);

  const initial = path.states[0]!;
  spec.defineWorker({
    liveEnv: t.env,
    concurrency: 1,
    ...(initial === "initializing" ? { init: init as never } : {}),
    processor: processor as never,
    ...(worker.dispose ? { dispose: worker.dispose as never } : {}),
    ...(worker.initialState ? { initialState: worker.initialState as never } : {}),
    retry: { maxRestarts, withinMs: MAX_TIMER_MS, backoff: BACKOFF },
    timeouts: { initMs: INIT_MS, stopMs: STOP_MS, ...(stall ? { heartbeatMs: settings.heartbeatMs } : {}) },
  });

  const states: Array<LifecycleEvent & { type: "worker.state" }> = [];
  const statuses: JobStatus[] = [];
  let restartDelay = BACKOFF.initialMs;
  let wake: (() => void) | undefined;
  let job: LiveJob<any, any> | undefined;
  t.env.subscribe((event) => {
    if (job && event.jobId !== job.jobId) return;
    if (event.type === "worker.state") states.push(event);
    if (event.type === "job.status") statuses.push(event.status);
    if (event.type === "worker.restart") restartDelay = event.delayMs;
    wake?.();
  });
  const observedText = () => (states.length > 0 ? states.map((event) => event.state).join(" → ") : "(no state yet)");
  const header = () => `Path: ${path.description}${stall ? " (failing by stall)" : ""}`;
  const deadline = caseDeadline(settings.timeoutMs, header);
  const nextState = async (index: number, expected: string): Promise<WorkerState> => {
    const arrived = new Promise<void>((resolve) => {
      if (states.length > index) resolve();
      else wake = resolve;
    });
    await deadline.wait(arrived, () => `the worker to reach ${expected} (state #${index}); observed: ${observedText()}`);
    return states[index]!.state;
  };

  let failure: unknown;
  try {
    const running: LiveJob<any, any> = await deadline.wait(
      spec.enqueueJob({ liveEnv: t.env, ...(settings.jobOptions !== undefined ? { jobOptions: settings.jobOptions } : {}) }),
      () => "enqueueJob",
    );
    job = running;
    const finished = running.waitUntilFinish().then(
      () => undefined,
      (error: unknown) => error,
    );
    const readers = readOutputs(spec, running);
    // A cancelled or failed job closes its input: later feeds are refused, as they should be.
    const feeding = feedSamples(running, settings.samples);

    const mismatch = (index: number, step: WorkerPathStep | undefined, actual: WorkerState) =>
      new Error(
        `${header()}\n  after ${step ? `[${step.kind}] from ${step.from}` : "start"} the model expects ${step?.state ?? initial}, ` +
          `the runtime went to ${actual}\n  observed: ${observedText()}`,
      );
    const first = await nextState(0, initial);
    if (first !== initial) throw mismatch(0, undefined, first);
    for (const [i, step] of path.steps.entries()) {
      const attempt = states.at(-1)!.attempt;
      const stage = step.from === "initializing" ? "init" : "processor";
      switch (step.kind) {
        case "init timed out":
          await deadline.wait(whenReached(attempt, "init"), () => `init of attempt ${attempt} to start (it never did)`);
          await t.advance(INIT_MS);
          break;
        case "backoff elapsed":
          await t.advance(restartDelay);
          break;
        case "stop grace elapsed":
          await t.advance(STOP_MS);
          break;
        case "processor fails":
          if (stall) {
            await deadline.wait(
              whenReached(attempt, "processor"),
              () => `the processor of attempt ${attempt} to reach its stall (${STRIKE_POINTS})`,
            );
            await t.advance(settings.heartbeatMs);
          }
          break;
        case "cancel":
          if (step.from !== "recovering") {
            await deadline.wait(whenReached(attempt, stage), () => `the ${stage} of attempt ${attempt} to reach its hang${stage === "processor" ? ` (${STRIKE_POINTS})` : ""}`);
          }
          void running.cancel("cancelled by the model path");
          break;
        default:
          break;
      }
      const actual = await nextState(i + 1, step.state);
      if (actual !== step.state) throw mismatch(i + 1, step, actual);
    }

    const last = path.states.at(-1)!;
    const expectedStatus = FINAL_STATUS[last];
    // A path that ends short of a final state is cancelled (one ending in `stopping` already was).
    if (!expectedStatus && last !== "stopping") void running.cancel("end of the model path");
    const error = await deadline.wait(finished, () => {
      const stopping = states.at(-1)?.state === "stopping" ? " (the attempt was stopped but never settled: does the worker ignore its signal?)" : "";
      return `the job to finish (status ${running.status}); observed: ${observedText()}${stopping}`;
    });
    await flush();
    const problems = harness.problems;
    if (expectedStatus && states.length !== path.states.length) {
      problems.push(`the worker went on after the path's final state: ${observedText()}`);
    }
    const finals = statuses.filter(isFinalStatus);
    if (finals.length !== 1) problems.push(`the job reported ${finals.length} final statuses (${finals.join(", ")}); expected exactly one`);
    if (expectedStatus && running.status !== expectedStatus) problems.push(`the job ended ${running.status}; the worker ended ${last}, so it should be ${expectedStatus}`);
    if ((running.status === "completed") !== (error === undefined)) problems.push(`waitUntilFinish disagrees with status ${running.status}`);
    const outcomes = await deadline.wait(Promise.all(readers), () => "the output readers to end");
    for (const outcome of outcomes) {
      if (running.status === "completed" && outcome.error !== undefined) problems.push(`the reader of "${outcome.tag}" threw on a completed job: ${String(outcome.error)}`);
      if (running.status !== "completed" && outcome.error === undefined) problems.push(`the reader of "${outcome.tag}" ended normally on a ${running.status} job`);
    }
    const fedError = await feeding;
    if (running.status === "completed" && fedError !== undefined) problems.push(`feeding the sample failed: ${String(fedError)}`);
    if (running.status === "completed" && settings.checkNothingLost) {
      for (const [tag, messages] of settings.samples) {
        const seen = new Set(harness.processed.get(tag));
        const lost = messages.map(describeValue).filter((message) => !seen.has(message));
        if (lost.length > 0) problems.push(`input never reached the processor on "${tag}": ${lost.join(", ")}`);
      }
      const expected = await deadline.wait(
        subject.faultFree().then(
          (result) => ({ result, error: undefined }),
          (error: unknown) => ({ result: undefined, error }),
        ),
        () => "the fault-free run (run once per workerTestCases call, to compare outputs with)",
      );
      if (expected.result) {
        problems.push(...lostOutputs(expected.result.outputs, new Map(outcomes.map((o) => [o.tag, o.outputs]))));
        if (worker.initialState) {
          const state = await deadline.wait(running.state(), () => "job.state()");
          if (!isDeepStrictEqual(state, expected.result.state)) {
            problems.push(`the final state differs from the fault-free run's: ${describeValue(state)}, not ${describeValue(expected.result.state)} (a redelivered message changed it twice, or an acknowledged one not at all)`);
          }
        }
      } else problems.push(`cannot compare outputs: ${expected.error instanceof Error ? expected.error.message : String(expected.error)}`);
    }
    if (problems.length > 0) throw new Error(`${header()}\n  ${problems.join("\n  ")}`);
  } catch (error) {
    failure = error;
  } finally {
    deadline.clear();
    for (const release of releases) release();
  }
  const closed = await closeWithin(t, STOP_MS);
  if (failure !== undefined) throw failure;
  if (!closed) throw new Error(`${header()}\n  the case's env did not close within 500 ms: an init or processor ignores its signal and never settles`);
}
