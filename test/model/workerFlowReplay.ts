/**
 * Replays a worker path that restarts a HEALTHY worker (the transitions of
 * `ONLY_IN_A_FLOW`) on the real runtime, through a two-node Liveflow on a
 * LiveEnv with a SimulatedClock: `sibling → observed`, the exposed input
 * feeding `sibling` and the exposed output reading `observed`. The observed
 * worker is held healthy (its init pending in `initializing`, its processor
 * waiting for input in `executing`, since the failing sibling forwards
 * nothing), then the sibling's scripted failure makes the supervisor restart
 * both (`one_for_all`, or `rest_for_one`: `observed` is downstream of
 * `sibling`). The observed worker's `worker.state` events must equal the
 * path's states; then it runs on to `done` (or the job ends cancelled, when
 * the path cancels), with one final status and every input delivered.
 */
import { z } from "zod";
import type { SupervisionStrategy } from "../../machines/job.js";
import { JobSpec, Liveflow, conn, expose, type JobStatus, type LifecycleEvent, type LiveJob, type WorkerState } from "../../src/index.js";
import { createTestEnv, flush, InjectedFault, ONLY_IN_A_FLOW, transitionKey, type WorkerPath, type WorkerPathStep } from "../../src/testing/index.js";

const INIT_MS = 10_000;
const BACKOFF = { initialMs: 100, factor: 1, maxMs: 100, jitter: 0 };
const FINAL_STATUS: Partial<Record<WorkerState, JobStatus>> = { done: "completed", crashed: "failed", stopped: "cancelled" };
/** Stop grace of the observed worker (simulated ms). */
const STOP_MS = 1_000;
/** How the observed worker runs on from where a path leaves it: to `done`, or (from `stopping`) to `stopped`. */
const ON_TO_DONE: Partial<Record<WorkerState, WorkerState[]>> = {
  initializing: ["executing", "done"],
  executing: ["done"],
  restarting: ["recovering", "initializing", "executing", "done"],
  recovering: ["initializing", "executing", "done"],
  stopping: ["stopped"],
};
/** The step kinds this replay can script; any other is refused loudly, never skipped. */
const SCRIPTED = new Set<WorkerPathStep["kind"]>([
  "init resolves",
  "restart granted",
  "backoff elapsed",
  "cancel",
  "abandoned attempt settles",
  "stop grace elapsed",
]);

let counter = 0;

/** The paths of `paths` that restart a healthy worker: the ones this replay is for. */
export function restartsHealthyWorker(path: WorkerPath): boolean {
  return path.steps.some((step) => ONLY_IN_A_FLOW.has(transitionKey(step)));
}

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Waits for `promise`, rejecting with the signal's reason when the attempt is fenced. */
function unlessAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const abort = () => reject(signal.reason ?? new InjectedFault("attempt aborted"));
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject);
  });
}

/** Rejects with a readable message when `promise` takes longer than `ms` of real time (a bound, not a sleep). */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * Replays `path` for the observed node of a `sibling → observed` flow under
 * `strategy`; throws a readable error, naming the path, on any broken invariant.
 */
export async function replayInFlow(
  path: WorkerPath,
  strategy: SupervisionStrategy,
  { sampleInput = [1, 2, 3], waitMs = 5_000 }: { sampleInput?: readonly number[]; waitMs?: number } = {},
): Promise<void> {
  const unscripted = path.steps.filter((step) => !SCRIPTED.has(step.kind) || (step.kind === "restart granted" && step.from === "error"));
  if (unscripted.length > 0) {
    throw new Error(`Path: ${path.description}\n  the flow replay has no script for: ${unscripted.map(transitionKey).join(", ")}`);
  }
  const n = ++counter;
  const t = createTestEnv();
  const siblingSpec = JobSpec.define({ name: `sibling-${n}`, input: z.number(), output: z.number() });
  const observedSpec = JobSpec.define({ name: `observed-${n}`, input: z.number(), output: z.number() });
  const healthyRestarts = path.steps.filter((step) => step.kind === "restart granted" && ONLY_IN_A_FLOW.has(transitionKey(step))).length;

  // The sibling: its first `healthyRestarts` attempts fail on command, without reading input; later ones forward.
  const siblingFailure = new Map<number, Gate>();
  for (let attempt = 1; attempt <= healthyRestarts; attempt++) siblingFailure.set(attempt, gate());
  siblingSpec.defineWorker({
    liveEnv: t.env,
    processor: async ({ input, output, attempt, signal }) => {
      const failure = siblingFailure.get(attempt);
      if (failure) {
        await unlessAborted(failure.promise, signal);
        throw new InjectedFault(`injected: the sibling's attempt ${attempt} fails`);
      }
      for await (const value of input) await output.emit(value);
    },
  });

  // The observed worker: each attempt's init waits for its gate; its processor echoes, noting when it waits for input.
  // An attempt the path keeps in `restarting` (cancelled there, or past its stop grace) ignores its signal.
  const ignoresSignal = new Set<number>();
  {
    let attempt = 1;
    for (const step of path.steps) {
      if (step.from === "restarting" && (step.kind === "cancel" || step.kind === "stop grace elapsed")) ignoresSignal.add(attempt);
      if (step.kind === "backoff elapsed") attempt++;
    }
  }
  const stuck = gate();
  const initGates = new Map<number, Gate>();
  let releaseEveryInit = false;
  const initGate = (attempt: number): Gate => {
    let g = initGates.get(attempt);
    if (!g) initGates.set(attempt, (g = gate()));
    if (releaseEveryInit) g.open();
    return g;
  };
  const wakers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...wakers]) wake();
  };
  /** Where the observed worker is held: `<attempt>:init`, `<attempt>:waiting for input`. */
  const holds = new Set<string>();
  const hold = (key: string) => {
    holds.add(key);
    wakeAll();
  };
  const processed: number[] = [];
  observedSpec.defineWorker({
    liveEnv: t.env,
    timeouts: { initMs: INIT_MS, stopMs: STOP_MS },
    init: async ({ attempt, signal }) => {
      hold(`${attempt}:init`);
      if (ignoresSignal.has(attempt)) await Promise.race([initGate(attempt).promise, stuck.promise]);
      else await unlessAborted(initGate(attempt).promise, signal);
    },
    processor: async ({ input, output, attempt }) => {
      const iterator = input[Symbol.asyncIterator]();
      if (ignoresSignal.has(attempt)) {
        hold(`${attempt}:waiting for input`);
        await stuck.promise;
        return;
      }
      for (;;) {
        hold(`${attempt}:waiting for input`);
        const next = await iterator.next();
        if (next.done) return;
        processed.push(next.value);
        await output.emit(next.value);
      }
    },
  });

  const flow = Liveflow.define({
    name: `healthy-restart-${n}`,
    connections: [conn({ from: siblingSpec, to: observedSpec })],
    exposures: [expose(siblingSpec.input.default, "in"), expose(observedSpec.output.default, "out")],
    supervision: { strategy, maxRestarts: healthyRestarts + 1, withinMs: 2 ** 31 - 1, backoff: BACKOFF },
  });

  type StateEvent = LifecycleEvent & { type: "worker.state" };
  const states: StateEvent[] = [];
  const siblingStates: StateEvent[] = [];
  const statuses: JobStatus[] = [];
  let restartDelay = BACKOFF.initialMs;
  let job: LiveJob<Record<string, any>, Record<string, any>> | undefined;
  t.env.subscribe((event) => {
    if (job && event.jobId !== job.jobId) return; // the env is fresh: events before enqueueJob returns are this job's
    if (event.type === "worker.state" && event.workerName === observedSpec.name) states.push(event);
    if (event.type === "worker.state" && event.workerName === siblingSpec.name) siblingStates.push(event);
    if (event.type === "worker.restart" && event.workerName === observedSpec.name) restartDelay = event.delayMs;
    if (event.type === "job.status") statuses.push(event.status);
    wakeAll();
  });
  const until = (done: () => boolean, what: () => string): Promise<void> => {
    const arrived = new Promise<void>((resolve) => {
      const check = () => {
        if (!done()) return;
        wakers.delete(check);
        resolve();
      };
      wakers.add(check);
      check();
    });
    return within(arrived, waitMs, () => `Path: ${path.description} (${strategy})\n  ${what()}`);
  };
  const observedText = () => states.map((event) => event.state).join(" → ");
  const nextState = async (index: number, expected: string): Promise<WorkerState> => {
    await until(
      () => states.length > index,
      () => `expected ${expected} as state #${index}, but the observed worker stayed in: ${observedText()}`,
    );
    return states[index]!.state;
  };
  const mismatch = (step: WorkerPathStep | undefined, expected: WorkerState, actual: string) =>
    new Error(
      `Path: ${path.description} (${strategy})\n  after ${step ? `[${step.kind}] from ${step.from}` : "start"} the model expects ${expected}, ` +
        `the runtime went to ${actual}\n  observed: ${observedText()}`,
    );
  const reached = (key: string) => until(() => holds.has(key), () => `the observed worker never reached ${key}`);

  try {
    job = await flow.enqueueJob({ liveEnv: t.env });
    const running = job;
    const finished = running.waitUntilFinish().then(
      () => undefined,
      (error: unknown) => error,
    );
    const reader = (async () => {
      const data: number[] = [];
      try {
        for await (const message of running.output("out") as AsyncIterable<{ data: number }>) data.push(message.data);
        return { data, error: undefined as unknown };
      } catch (error) {
        return { data, error };
      }
    })();
    // Everything is fed at once: it waits in the flow's input while the restarts happen, and must all come out.
    const feeding = (async () => {
      for (const value of sampleInput) await running.input("in").feed(value);
      await running.input("in").terminate();
    })().catch(() => {}); // a cancelled job closes its input: later feeds are refused, as they should be

    const first = await nextState(0, "initializing");
    if (first !== "initializing") throw mismatch(undefined, "initializing", first);
    for (const [i, step] of path.steps.entries()) {
      const attempt = states.at(-1)!.attempt;
      const holding = `${attempt}:${step.from === "initializing" ? "init" : "waiting for input"}`;
      switch (step.kind) {
        case "init resolves":
          await reached(`${attempt}:init`);
          initGate(attempt).open();
          break;
        case "restart granted": {
          await reached(holding);
          const siblingAttempt = siblingStates.at(-1)?.attempt ?? 1;
          const failure = siblingFailure.get(siblingAttempt);
          if (!failure) throw new Error(`Path: ${path.description} (${strategy})\n  no failure scripted for the sibling's attempt ${siblingAttempt}`);
          const before = siblingStates.length;
          failure.open();
          // The supervisor sends RESTART to its whole restart set at once: once the sibling recovers, the observed worker has its RESTART too.
          await until(
            () => siblingStates.slice(before).some((event) => event.state === "recovering"),
            () => `the sibling never recovered from its failure: ${siblingStates.map((event) => event.state).join(" → ")}`,
          );
          await flush();
          if (states.length === i + 1) throw mismatch(step, step.state, `nothing: it stayed in ${states.at(-1)!.state} while its sibling restarted`);
          break;
        }
        case "backoff elapsed":
          await t.advance(restartDelay);
          break;
        case "stop grace elapsed":
          await t.advance(STOP_MS);
          break;
        case "cancel":
          if (step.from === "initializing" || step.from === "executing") await reached(holding);
          void running.cancel("cancelled by the model path");
          break;
        default:
          break; // abandoned attempt settles: the held attempt settles on its signal
      }
      const actual = await nextState(i + 1, step.state);
      if (actual !== step.state) throw mismatch(step, step.state, actual);
    }

    const last = path.states.at(-1)!;
    const onward = FINAL_STATUS[last] ? [] : ON_TO_DONE[last];
    if (!onward) throw new Error(`Path: ${path.description} (${strategy})\n  the flow replay cannot run on from ${last}`);
    releaseEveryInit = true;
    for (const g of initGates.values()) g.open();
    stuck.open();
    for (const [j, expected] of onward.entries()) {
      if (states.at(-1)!.state === "recovering") await t.advance(restartDelay);
      const actual = await nextState(path.states.length + j, expected);
      if (actual !== expected) throw mismatch(undefined, expected, `${actual} on its way to done`);
    }
    const expectedStatus = FINAL_STATUS[onward.at(-1) ?? last] ?? FINAL_STATUS[last] ?? "completed";
    const error = await within(finished, waitMs, () => `Path: ${path.description} (${strategy})\n  the job never finished (status ${running.status})`);
    await flush();
    const problems: string[] = [];
    if (states.length !== path.states.length + onward.length) problems.push(`the observed worker went on after done: ${observedText()}`);
    const finals = statuses.filter((status) => status === "completed" || status === "failed" || status === "cancelled");
    if (finals.length !== 1) problems.push(`the job reported ${finals.length} final statuses (${finals.join(", ")}); expected exactly one`);
    if (running.status !== expectedStatus) problems.push(`the job ended ${running.status}; expected ${expectedStatus}`);
    if ((running.status === "completed") !== (error === undefined)) problems.push(`waitUntilFinish disagrees with status ${running.status}`);
    const out = await within(reader, waitMs, () => `Path: ${path.description} (${strategy})\n  the output reader never settled`);
    await feeding;
    if (running.status === "completed") {
      if (out.error !== undefined) problems.push(`the output reader threw on a completed job: ${String(out.error)}`);
      const lost = sampleInput.filter((value) => !processed.includes(value));
      if (lost.length > 0) problems.push(`input never reached the observed worker: ${lost.join(", ")}`);
      const missing = sampleInput.filter((value) => !out.data.includes(value));
      if (missing.length > 0) problems.push(`input never came out of the flow: ${missing.join(", ")} (out: ${out.data.join(", ")})`);
    } else if (out.error === undefined) problems.push(`the output reader ended normally on a ${running.status} job`);
    if (problems.length > 0) throw new Error(`Path: ${path.description} (${strategy})\n  ${problems.join("\n  ")}`);
  } finally {
    await t.close(); // cancels what still runs: held attempts settle on their signal
  }
}
