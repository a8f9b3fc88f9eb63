import type { AnyJobSpec, JobSpec } from "../spec/JobSpec.js";
import type { InitContext, LiveWorkerOptions, ProcessorContext } from "../worker/options.js";
import type { JobStatus, LifecycleEvent, WorkerState } from "../job/events.js";
import type { LiveJob } from "../job/LiveJob.js";
import { createTestEnv, flush, type TestEnv } from "./createTestEnv.js";
import { UNREACHABLE_IN_SINGLE_WORKER_JOB, workerModel, type WorkerPath, type WorkerPathStep } from "./workerPaths.js";

/** One generated test: give `name` and `run` to your test runner (`it(c.name, c.run)`). */
export interface WorkerTestCase {
  name: string;
  /** The model path this case replays. */
  path: WorkerPath;
  run(): Promise<void>;
}

/** The worker under test: what you pass to `defineWorker`, minus env, retry and concurrency. */
export type WorkerUnderTest<I, O, Opt, R> = Pick<LiveWorkerOptions<I, O, Opt, R>, "processor" | "init">;

/** Options of `workerTestCases`. */
export interface WorkerTestCasesOptions<Opt> {
  /** Messages fed to the `default` input before the input is terminated. */
  sampleInput: readonly unknown[];
  /** Job options of every case. Default: none. */
  jobOptions?: Opt extends undefined ? Record<string, unknown> : unknown;
  /** Heartbeat timeout of the stall cases. Default 1 000 ms (simulated). */
  heartbeatMs?: number;
  /** Add a stall variant (heartbeat timeout) of every path with a processor failure. Default true. */
  stalls?: boolean;
  /** Check that every sample input reached the processor when the job completes. Default true. */
  checkNothingLost?: boolean;
  /** Real-time bound on each wait, so a hang fails with the path instead of timing out the runner. Default 5 000 ms. */
  waitMs?: number;
}

/** The error injected into `init` and the processor by generated cases. */
export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
}

const INIT_MS = 10_000;
const STOP_MS = 5_000;
const BACKOFF = { initialMs: 100, factor: 1, maxMs: 100, jitter: 0 };
const FINAL_STATUS: Partial<Record<WorkerState, JobStatus>> = { done: "completed", crashed: "failed", stopped: "cancelled" };

type Fault = "pass" | "throw" | "hang";
interface AttemptPlan {
  init: Fault;
  processor: Fault;
  /** What a hung attempt does when its signal aborts: settle (reject) or ignore it. */
  onAbort: "settle" | "ignore";
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

/** Rejects with a readable message when `promise` takes longer than `ms` of real time. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * Model-based tests for your worker. Generates one case per lifecycle path of
 * the worker machine (`machines/worker`): fault in init, init timeout, fault
 * after k messages, stall past the heartbeat, cancel during init, processing
 * or backoff, restart budget spent, recovery to completion, happy path…
 * Each case runs your processor in a fresh test env with faults injected
 * around it, replays the path, and checks the library's invariants: the
 * worker goes through exactly the path's states, the job ends in one final
 * status that matches, output readers settle, every sample input reached the
 * processor when the job completes, and no emit is accepted after fencing.
 * Faults wrap your code: `init` and the `default` input's iterator throw or
 * hang; a processor that never reads input meets its fault when it returns.
 * Retry and timeouts are the harness's (small budget, fixed backoff).
 *
 * @example
 * import { describe, it } from "vitest";
 * import { workerTestCases } from "liveworker/testing";
 * describe("upper worker", () => {
 *   for (const c of workerTestCases(upper, { processor }, { sampleInput: [{ text: "a" }, { text: "b" }] })) it(c.name, c.run);
 * });
 */
export function workerTestCases<I, O, Opt, R>(
  spec: JobSpec<I, O, Opt>,
  worker: WorkerUnderTest<I, O, Opt, R>,
  options: WorkerTestCasesOptions<Opt>,
): WorkerTestCase[] {
  // A worker without init starts each attempt in executing: model that lifecycle, not one it never has.
  const { paths } = workerModel(new Set(UNREACHABLE_IN_SINGLE_WORKER_JOB.keys()), { hasInit: worker.init !== undefined });
  const cases: WorkerTestCase[] = [];
  for (const path of paths) {
    cases.push({ name: path.description, path, run: () => replay(spec, worker, options, path, false) });
    if (options.stalls !== false && path.steps.some((step) => step.kind === "processor fails")) {
      cases.push({ name: `${path.description} (failing by stall)`, path, run: () => replay(spec, worker, options, path, true) });
    }
  }
  return cases;
}

/**
 * Replays one path against the real runtime; throws a readable error on any
 * broken invariant. A path that starts in `initializing` runs with an `init`
 * (the harness's, around the worker's own if any); one that starts in
 * `executing` runs without.
 */
export async function replay<I, O, Opt, R>(
  spec: JobSpec<I, O, Opt>,
  worker: WorkerUnderTest<I, O, Opt, R>,
  options: WorkerTestCasesOptions<Opt>,
  path: WorkerPath,
  stall: boolean,
): Promise<void> {
  const waitMs = options.waitMs ?? 5_000;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const sample = options.sampleInput;
  const { attempts, maxRestarts } = planOf(path);
  const t: TestEnv = createTestEnv();
  const problems: string[] = [];
  const releases = new Set<() => void>();
  const reached = new Map<string, () => void>();
  const reachedPromises = new Map<string, Promise<void>>();
  const reachedKey = (attempt: number, stage: "init" | "processor") => `${attempt}:${stage}`;
  const whenReached = (key: string): Promise<void> => {
    let promise = reachedPromises.get(key);
    if (!promise) {
      promise = new Promise<void>((resolve) => reached.set(key, resolve));
      reachedPromises.set(key, promise);
    }
    return promise;
  };
  const markReached = (key: string) => {
    void whenReached(key);
    reached.get(key)!();
  };
  const hang = (signal: AbortSignal, onAbort: AttemptPlan["onAbort"]): Promise<never> =>
    new Promise<never>((_, reject) => {
      const release = () => reject(signal.reason ?? new InjectedFault("released by the harness"));
      releases.add(release);
      if (onAbort === "settle") {
        if (signal.aborted) release();
        else signal.addEventListener("abort", release, { once: true });
      }
    });
  const planFor = (attempt: number): AttemptPlan => attempts.get(attempt) ?? { init: "pass", processor: "pass", onAbort: "settle" };
  const processed: string[] = [];
  let faultsSoFar = 0;

  const init = async (context: InitContext<any>): Promise<R> => {
    const plan = planFor(context.attempt);
    if (plan.init === "throw") throw new InjectedFault(`injected: init of attempt ${context.attempt} rejects`);
    if (plan.init === "hang") {
      markReached(reachedKey(context.attempt, "init"));
      await hang(context.signal, plan.onAbort);
    }
    return (worker.init ? await worker.init(context) : undefined) as R;
  };

  const processor = async (context: ProcessorContext<I, O, Opt, R>): Promise<void> => {
    const plan = planFor(context.attempt);
    const faultAt = plan.processor === "pass" ? Infinity : Math.min(faultsSoFar++ + 1, sample.length);
    let taken = 0;
    let struck = false;
    const strike = async (): Promise<never> => {
      struck = true;
      if (plan.processor === "throw" && !stall) throw new InjectedFault(`injected: processor of attempt ${context.attempt} fails after ${taken} message(s)`);
      markReached(reachedKey(context.attempt, "processor"));
      return hang(context.signal, plan.onAbort);
    };
    const inner = context.input as any;
    const wrappedIterator = (): AsyncIterator<unknown> => {
      const iterator = inner[Symbol.asyncIterator]() as AsyncIterator<unknown>;
      return {
        next: async () => {
          if (taken >= faultAt && !struck) await strike();
          const result = await iterator.next();
          if (!result.done) {
            taken++;
            processed.push(JSON.stringify(result.value));
          }
          return result;
        },
        return: async () => iterator.return?.() ?? { done: true, value: undefined },
      };
    };
    const input =
      typeof inner === "function"
        ? Object.assign((tag: string) => inner(tag), { merge: inner.merge, [Symbol.asyncIterator]: wrappedIterator })
        : { [Symbol.asyncIterator]: wrappedIterator };
    const wrapEmit = (tag: string, emit: (data: unknown) => Promise<void>) => async (data: unknown) => {
      const fencedBefore = context.signal.aborted;
      await emit(data);
      if (fencedBefore) problems.push(`an emit on "${tag}" by attempt ${context.attempt} was accepted after the attempt was fenced`);
    };
    const rawOutput = context.output as any;
    const output = Object.assign(
      (tag: string) => {
        const emitter = rawOutput(tag);
        return { tag: emitter.tag, emit: wrapEmit(tag, (data) => emitter.emit(data)) };
      },
      typeof rawOutput.emit === "function" ? { emit: wrapEmit("default", (data) => rawOutput.emit(data)) } : {},
    );
    await worker.processor({ ...context, input: input as never, output: output as never });
    if (plan.processor !== "pass" && !struck) await strike();
  };

  const initial = path.states[0]!;
  spec.defineWorker({
    liveEnv: t.env,
    concurrency: 1,
    ...(initial === "initializing" ? { init: init as never } : {}),
    processor: processor as never,
    retry: { maxRestarts, withinMs: 2 ** 31 - 1, backoff: BACKOFF },
    timeouts: { initMs: INIT_MS, stopMs: STOP_MS, ...(stall ? { heartbeatMs } : {}) },
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
  const observedText = () => states.map((event) => event.state).join(" → ");
  const nextState = async (index: number, expected: string): Promise<WorkerState> => {
    const arrived = new Promise<void>((resolve) => {
      if (states.length > index) resolve();
      else wake = resolve;
    });
    await within(arrived, waitMs, () => `Path: ${path.description}\n  expected ${expected} as state #${index}, but the worker stayed in: ${observedText()}`);
    return states[index]!.state;
  };

  try {
    const running: LiveJob<any, any> = await (spec as AnyJobSpec).enqueueJob({
      liveEnv: t.env,
      ...(options.jobOptions !== undefined ? { jobOptions: options.jobOptions } : {}),
    });
    job = running;
    const finished = running.waitUntilFinish().then(
      () => undefined,
      (error: unknown) => error,
    );
    const readers = Object.keys(spec.outputSchemas).map(async (tag) => {
      let count = 0;
      try {
        for await (const _message of (running.output as any)(tag) as AsyncIterable<unknown>) count++;
        return { tag, count, error: undefined as unknown };
      } catch (error) {
        return { tag, count, error };
      }
    });
    const feeding = (async () => {
      for (const message of sample) await (running.input as any).feed(message);
      await (running.input as any).terminate();
    })().catch(() => {}); // a cancelled or failed job closes its input: later feeds are refused, as they should be

    const mismatch = (index: number, step: WorkerPathStep | undefined, actual: WorkerState) =>
      new Error(
        `Path: ${path.description}\n  after ${step ? `[${step.kind}] from ${step.from}` : "start"} the model expects ${step?.state ?? initial}, ` +
          `the runtime went to ${actual}\n  observed: ${observedText()}`,
      );
    const first = await nextState(0, initial);
    if (first !== initial) throw mismatch(0, undefined, first);
    for (const [i, step] of path.steps.entries()) {
      const attempt = states.at(-1)!.attempt;
      const stage = step.from === "initializing" ? "init" : "processor";
      switch (step.kind) {
        case "init timed out":
          await within(whenReached(reachedKey(attempt, "init")), waitMs, () => `Path: ${path.description}\n  init never started`);
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
            await within(whenReached(reachedKey(attempt, "processor")), waitMs, () => `Path: ${path.description}\n  the processor never reached its stall`);
            await t.advance(heartbeatMs);
          }
          break;
        case "cancel":
          if (step.from !== "recovering") {
            await within(whenReached(reachedKey(attempt, stage)), waitMs, () => `Path: ${path.description}\n  the ${stage} of attempt ${attempt} never reached its hang`);
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
    const error = await within(finished, waitMs, () => `Path: ${path.description}\n  the job never finished (status ${running.status})`);
    await flush();
    if (expectedStatus && states.length !== path.states.length) {
      problems.push(`the worker went on after the path's final state: ${observedText()}`);
    }
    const finals = statuses.filter((status) => status === "completed" || status === "failed" || status === "cancelled");
    if (finals.length !== 1) problems.push(`the job reported ${finals.length} final statuses (${finals.join(", ")}); expected exactly one`);
    if (expectedStatus && running.status !== expectedStatus) problems.push(`the job ended ${running.status}; the worker ended ${last}, so it should be ${expectedStatus}`);
    if ((running.status === "completed") !== (error === undefined)) problems.push(`waitUntilFinish disagrees with status ${running.status}`);
    const outcomes = await within(Promise.all(readers), waitMs, () => `Path: ${path.description}\n  an output reader never settled`);
    for (const outcome of outcomes) {
      if (running.status === "completed" && outcome.error !== undefined) problems.push(`the reader of "${outcome.tag}" threw on a completed job: ${String(outcome.error)}`);
      if (running.status !== "completed" && outcome.error === undefined) problems.push(`the reader of "${outcome.tag}" ended normally on a ${running.status} job`);
    }
    await feeding;
    if (running.status === "completed" && options.checkNothingLost !== false) {
      const seen = new Set(processed);
      const lost = sample.filter((message) => !seen.has(JSON.stringify(message)));
      if (lost.length > 0) problems.push(`input never reached the processor: ${lost.map((m) => JSON.stringify(m)).join(", ")}`);
    }
    if (problems.length > 0) throw new Error(`Path: ${path.description}\n  ${problems.join("\n  ")}`);
  } finally {
    for (const release of releases) release();
    await t.close();
  }
}
