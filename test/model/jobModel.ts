import type { AnyStateNode } from "xstate";
import { getAdjacencyMap, getShortestPaths } from "xstate/graph";
import { JobFailedError } from "../../src/errors.js";
import { jobMachine, workerActorId, type JobContext, type JobEvent } from "../../machines/job.js";
import type { RetryPolicy } from "../../machines/restartPolicy.js";

/** A job machine state, as named in `machines/job`. */
export type JobState = "queued" | "running" | "stopping" | "completed" | "failed" | "cancelled";

/** What happened in one step, worker-agnostic: the job machine treats its workers alike. */
export type JobStepKind =
  | "start"
  | "cancel"
  | "job timeout"
  | "worker fails, restart granted"
  | "worker fails, budget spent"
  | "worker fails, stopped instead"
  | "worker done"
  | "worker crashed"
  | "worker stopped"
  | "worker actor errors";

/** One step of a job path: the machine event, which worker it concerns, and the state it led to. */
export interface JobPathStep {
  kind: JobStepKind;
  /** The worker a worker event concerns. */
  worker?: string;
  from: JobState;
  state: JobState;
}

/** A path through the job machine from `queued`. */
export interface JobPath {
  /** Readable: `queued →[start]→ running →[a: worker done]→ running …`. */
  description: string;
  /** The workers of the job the path was found with (one: a spec job; two: a flow). */
  workers: readonly string[];
  steps: JobPathStep[];
  states: JobState[];
}

/** The job machine's states and transitions, and the paths that cover them. */
export interface JobModel {
  paths: JobPath[];
  states: JobState[];
  /** Every transition, `from --kind--> to`, that the machine takes on the events given to it. */
  transitions: string[];
}

/** Snapshot fields the model reads. */
type Snapshot = { value: unknown; context: JobContext; can(event: JobEvent): boolean };

/** The restart budget of the traversal: one restart, so both answers to a failure appear. */
export const TRAVERSAL_RETRY: RetryPolicy = {
  maxRestarts: 1,
  withinMs: 60_000,
  resetAfterMs: 60_000,
  backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 0 },
};
const TRAVERSAL_JOB_ID = "model";

/** The delayed event of the job timeout (raised only when `jobMs` is set), checked against the machine. */
export const JOB_TIMEOUT_EVENT: string = (() => {
  const running = jobMachine.root.states.running as AnyStateNode;
  const event = "JOB.TIMEOUT";
  if (!running.on[event]) throw new Error(`job model: the running state does not handle ${event}`);
  return event;
})();

/** The worker a traversal failure was injected for (the cause of the job's error once it gives up). */
const injected = (workerName: string) => ({ injectedFailureOf: workerName });
const injectedWorker = (error: unknown): string | undefined =>
  error instanceof JobFailedError ? (error.cause as { injectedFailureOf?: string } | undefined)?.injectedFailureOf : undefined;

/** Every event the job's environment sends it: the env's START / CANCEL, its delay, and its workers' reports. */
function eventsFor(workers: readonly string[]): JobEvent[] {
  const events: JobEvent[] = [
    { type: "START", retry: TRAVERSAL_RETRY, timeouts: { jobMs: 60_000 } },
    { type: "CANCEL", reason: "model" },
    { type: JOB_TIMEOUT_EVENT } as unknown as JobEvent,
  ];
  for (const workerName of workers) {
    const actorId = workerActorId(workerName);
    events.push({ type: "WORKER.FAILED", workerName, attempt: 1, error: injected(workerName) });
    for (const outcome of ["done", "crashed", "stopped"] as const) {
      events.push({ type: `xstate.done.actor.${actorId}`, actorId, output: { workerName, outcome, attempt: 1 } });
    }
    events.push({ type: `xstate.error.actor.${actorId}`, actorId, error: new Error("injected actor error") });
  }
  return events;
}

const workerOf = (event: JobEvent): string | undefined => {
  if (event.type === "WORKER.FAILED") return event.workerName;
  const actorId = (event as { actorId?: string }).actorId;
  return actorId?.split(":")[1];
};

/**
 * Names a step from the event and the contexts before and after it. The same
 * function names the steps the runtime takes, so model and runtime agree on names.
 */
export function classify(eventType: string, event: unknown, before: JobContext, after: JobContext): JobStepKind {
  if (eventType === "START") return "start";
  if (eventType === "CANCEL") return "cancel";
  if (eventType === JOB_TIMEOUT_EVENT) return "job timeout";
  if (eventType === "WORKER.FAILED") {
    if (after.restarts.length > before.restarts.length) return "worker fails, restart granted";
    if (after.error !== undefined && before.error === undefined) return "worker fails, budget spent";
    return "worker fails, stopped instead";
  }
  if (eventType.startsWith("xstate.error.actor.")) return "worker actor errors";
  const outcome = (event as { output?: { outcome?: string } }).output?.outcome;
  return `worker ${outcome}` as JobStepKind;
}

/**
 * What the runtime can send the job in a given snapshot (the environment model):
 * a finished worker sends nothing; a worker the supervisor gave up on crashes next
 * (only a cancel can come between); a failure or a `done` reaches a stopping job
 * only while the cancel that stopped it raced the report (nothing finished yet).
 */
function environmentAllows(snapshot: Snapshot, event: JobEvent): boolean {
  const { context } = snapshot;
  const state = snapshot.value as JobState;
  const worker = workerOf(event);
  if (worker !== undefined && worker in context.finished) return false;
  const givenUpOn = injectedWorker(context.error);
  const pendingCrash = givenUpOn !== undefined && !(givenUpOn in context.finished);
  const isCrash = (event as { output?: { outcome?: string } }).output?.outcome === "crashed";
  if (pendingCrash) return (isCrash && worker === givenUpOn) || (state === "running" && event.type === "CANCEL");
  if (isCrash) return false;
  const justStopped = state === "stopping" && Object.keys(context.finished).length === 0 && context.error === undefined;
  const isDone = (event as { output?: { outcome?: string } }).output?.outcome === "done";
  if (state === "stopping" && (event.type === "WORKER.FAILED" || isDone)) return justStopped;
  return true;
}

const stateOf = (snapshot: { value: unknown }): JobState => snapshot.value as JobState;

/** `from --kind--> to`. */
export const transitionKey = (step: Pick<JobPathStep, "from" | "kind" | "state">): string => `${step.from} --${step.kind}--> ${step.state}`;

// Distinguishes what decides the next steps: which workers finished, the restarts, whether (and why) it fails.
const serialize = (snapshot: Snapshot): string =>
  JSON.stringify([
    snapshot.value,
    Object.entries(snapshot.context.finished).sort(),
    snapshot.context.restarts.length,
    snapshot.context.error === undefined ? null : (injectedWorker(snapshot.context.error) ?? "timeout"),
  ]);

function describePath(workers: readonly string[], steps: JobPathStep[]): JobPath {
  const label = (step: JobPathStep) => (step.worker && workers.length > 1 ? `${step.worker}: ${step.kind}` : step.kind);
  const description = [`[${workers.length} worker${workers.length > 1 ? "s" : ""}] queued`, ...steps.map((s) => `→[${label(s)}]→ ${s.state}`)].join(" ");
  return { description, workers, steps, states: ["queued", ...steps.map((s) => s.state)] };
}

type Entry = { state: Snapshot; transitions: Record<string, { event: JobEvent; state: Snapshot }> };

/**
 * Traverses the real `jobMachine` with `xstate/graph` for a job of `workers`.
 * `environment` false: every event the machine handles (what the machine can do);
 * true: only what the runtime can send (see `environmentAllows`), minus `excluded`.
 */
function traverse(workers: readonly string[], environment: boolean, excluded: ReadonlySet<string>) {
  const options = {
    input: { jobId: TRAVERSAL_JOB_ID, specName: "model", workers },
    events: eventsFor(workers),
    serializeState: serialize as never,
  };
  const stepOf = (from: Snapshot, event: JobEvent, to: Snapshot): JobPathStep => {
    const worker = workerOf(event);
    return { kind: classify(event.type, event, from.context, to.context), ...(worker ? { worker } : {}), from: stateOf(from), state: stateOf(to) };
  };
  const plain = getAdjacencyMap(jobMachine, { ...options, filterEvents: ((s: Snapshot, e: JobEvent) => s.can(e)) as never });
  const keyOf = (snapshot: Snapshot, event: JobEvent): string => {
    const entry = (plain as unknown as Record<string, Entry>)[serialize(snapshot)];
    const next = entry && Object.values(entry.transitions).find((t) => JSON.stringify(t.event) === JSON.stringify(event));
    return next ? transitionKey(stepOf(snapshot, event, next.state)) : "";
  };
  const allowed = (snapshot: Snapshot, event: JobEvent) =>
    snapshot.can(event) && (!environment || (environmentAllows(snapshot, event) && !excluded.has(keyOf(snapshot, event))));
  const adjacency = (environment
    ? getAdjacencyMap(jobMachine, { ...options, filterEvents: allowed as never })
    : plain) as unknown as Record<string, Entry>;
  const shortest = getShortestPaths(jobMachine, { ...options, filterEvents: allowed as never });
  const prefixes = new Map<string, JobPathStep[]>();
  for (const path of shortest) {
    const steps: JobPathStep[] = [];
    let from = path.steps[0]!.state as unknown as Snapshot;
    for (const step of path.steps.slice(1)) {
      steps.push(stepOf(from, step.event as JobEvent, step.state as unknown as Snapshot));
      from = step.state as unknown as Snapshot;
    }
    prefixes.set(serialize(path.state as unknown as Snapshot), steps);
  }
  const transitions: Array<{ key: string; steps: JobPathStep[]; leavesWorkersRunning: boolean }> = [];
  for (const [source, { state, transitions: out }] of Object.entries(adjacency)) {
    for (const { event, state: next } of Object.values(out)) {
      const step = stepOf(state, event, next);
      transitions.push({
        key: transitionKey(step),
        steps: [...(prefixes.get(source) ?? []), step],
        leavesWorkersRunning: (["completed", "failed", "cancelled"] as string[]).includes(step.state) && next.context.workers.some((w) => !(w in next.context.finished)) && step.from !== "queued",
      });
    }
  }
  return { prefixes, transitions, states: Object.values(adjacency).map((entry) => stateOf(entry.state)) };
}

/**
 * The job model: traversals of the real job machine for a spec job (one
 * worker) and a flow job (two workers). Paths: the shortest path to every
 * state, then one path per transition (the shortest path to its source plus it).
 *
 * @param excluded transitions (`from --kind--> to`) the runtime cannot produce.
 */
export function jobModel(excluded: ReadonlySet<string> = new Set()): JobModel & { machine: string[]; endsWithWorkersRunning: JobPath[] } {
  const shapes = [["solo"], ["up", "down"]] as const;
  const paths = new Map<string, JobPath>();
  const states = new Set<JobState>();
  const transitions = new Set<string>();
  const machine = new Set<string>();
  const byState = new Map<string, JobPath>();
  const endsWithWorkersRunning: JobPath[] = [];
  const byTransition = new Map<string, JobPath>();
  for (const workers of shapes) {
    for (const { key } of traverse(workers, false, excluded).transitions) machine.add(key);
    const model = traverse(workers, true, excluded);
    for (const state of model.states) states.add(state);
    for (const steps of model.prefixes.values()) {
      const path = describePath(workers, steps);
      const state = `${workers.length}|${path.states.at(-1)!}`;
      if (!byState.has(state) || byState.get(state)!.steps.length > steps.length) byState.set(state, path);
    }
    // One path per transition and job shape: a flow reaches some transitions with a sibling still to drain.
    for (const { key, steps, leavesWorkersRunning } of model.transitions) {
      transitions.add(key);
      const path = describePath(workers, steps);
      if (leavesWorkersRunning) endsWithWorkersRunning.push(path);
      const shapeKey = `${workers.length}|${key}`;
      if (!byTransition.has(shapeKey) || byTransition.get(shapeKey)!.steps.length > steps.length) byTransition.set(shapeKey, path);
    }
  }
  for (const path of [...byState.values(), ...byTransition.values()]) paths.set(path.description, path);
  return { paths: [...paths.values()], states: [...states], transitions: [...transitions], machine: [...machine], endsWithWorkersRunning };
}

/** Transitions of the job machine the runtime cannot produce, with the reason. */
export const UNREACHABLE_FROM_RUNTIME: ReadonlyMap<string, string> = new Map([
  ["queued --cancel--> cancelled", "a job gets its supervisor only when the queue hands it to a runner, which starts it at once: a job cancelled while queued is cancelled by the queue, before any actor exists"],
  ["running --worker stopped--> stopping", "a worker stops only on STOP, and the supervisor sends STOP only once it is stopping"],
  ["running --worker stopped--> failed", "a worker stops only on STOP, and the supervisor sends STOP only once it is stopping"],
  ...(["running --worker actor errors--> stopping", "running --worker actor errors--> failed", "stopping --worker actor errors--> stopping", "stopping --worker actor errors--> failed"].map(
    (key) => [key, "a worker actor never errors: its attempt actors' failures go to onError, and its actions cannot throw"] as [string, string],
  )),
  ["running --worker fails, stopped instead--> running", "a second failure cannot arrive while a give-up is pending: the worker given up on crashes in the same synchronous step"],
  ["stopping --worker crashed--> cancelled", "a worker crashes only on GIVE_UP, and the supervisor records the job's error when it gives up"],
  ["stopping --worker done--> cancelled", "a `done` reaches a stopping job only when the cancel raced that report, so it comes before any worker was stopped"],
  ["stopping --worker done--> failed", "a `done` reaches a stopping job only when a cancel raced it; a failing job (timeout, give-up) stops its workers before any report can race"],
]);
