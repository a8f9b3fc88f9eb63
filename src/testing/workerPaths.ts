import type { AnyStateNode } from "xstate";
import { getAdjacencyMap, getShortestPaths } from "xstate/graph";
import { workerMachine, type WorkerEvent } from "../../machines/worker.js";
import { assertKnownKeys } from "../options.js";
import type { WorkerState } from "../backend/events.js";

/** What happened in one step of a worker path, in the words of a fault script. */
export type WorkerStepKind =
  | "init resolves"
  | "init rejects"
  | "init timed out"
  | "processor returns"
  | "processor fails"
  | "abandoned attempt settles"
  | "abandoned attempt rejects"
  | "stop grace elapsed"
  | "backoff elapsed"
  | "restart granted"
  | "restart budget spent"
  | "cancel";

/** One step of a worker path: the machine event and the state it led to. */
export interface WorkerPathStep {
  /** The machine event type, e.g. `xstate.done.actor.0.worker.initializing`. */
  event: string;
  kind: WorkerStepKind;
  from: WorkerState;
  state: WorkerState;
}

/** A path through the worker machine, from its initial state. */
export interface WorkerPath {
  /** Readable: `initializing →[init rejects]→ error →[restart granted]→ recovering …`. */
  description: string;
  steps: WorkerPathStep[];
  /** Every state visited, the initial one first. */
  states: WorkerState[];
}

/** One transition of the worker machine, keyed `from --kind--> to`. */
export type WorkerTransitionKey = string;

/** The worker paths to replay, and what the machine allows. */
export interface WorkerModel {
  /** Where each attempt starts: `initializing`, or `executing` for a worker without `init`. */
  initial: WorkerState;
  /** Shortest paths to every state, then one path per transition (shortest path to its source, plus it). */
  paths: WorkerPath[];
  /** Every state the machine can reach with the events of its environment. */
  states: WorkerState[];
  /** Every transition the machine can take with the events of its environment. */
  transitions: WorkerTransitionKey[];
}

/**
 * Transitions of the worker machine that no job's runtime produces (spec job
 * or flow), with the reason. Model suites exclude them from replay and report them.
 */
export const UNREACHABLE_FROM_RUNTIME: ReadonlyMap<WorkerTransitionKey, string> = new Map([
  [
    "error --cancel--> stopped",
    "the supervisor answers WORKER.FAILED synchronously, so a cancel always queues behind its RESTART / GIVE_UP",
  ],
  [
    "stopping --abandoned attempt rejects--> stopped",
    "the runtime's abandon awaits the attempt's promise with its rejection caught: it never rejects",
  ],
  [
    "restarting --abandoned attempt rejects--> recovering",
    "the runtime's abandon awaits the attempt's promise with its rejection caught: it never rejects",
  ],
]);

/**
 * Transitions only a flow produces: a healthy worker (initializing, or
 * executing while it waits for input) restarted together with a failing
 * sibling under `one_for_all` / `rest_for_one`, through `restarting` (its
 * attempt stops first). A spec job has one worker.
 */
export const ONLY_IN_A_FLOW: ReadonlyMap<WorkerTransitionKey, string> = new Map(
  [
    "initializing --restart granted--> restarting",
    "executing --restart granted--> restarting",
    "restarting --abandoned attempt settles--> recovering",
    "restarting --stop grace elapsed--> recovering",
    "restarting --cancel--> stopping",
  ].map((key) => [key, "a healthy worker is restarted only with its siblings (one_for_all / rest_for_one flows); a spec job has one worker"]),
);

/**
 * Transitions of the worker machine that a single-spec job's runtime cannot
 * produce, with the reason: those only a flow produces, and those no runtime does.
 */
export const UNREACHABLE_IN_SINGLE_WORKER_JOB: ReadonlyMap<WorkerTransitionKey, string> = new Map([
  ...ONLY_IN_A_FLOW,
  ...UNREACHABLE_FROM_RUNTIME,
]);

/** Timeouts the traversal enables, so the guarded `initTimeout` transition is reachable. */
const traversalInput = (hasInit: boolean) => ({ jobId: "model", workerName: "model", timeouts: { initMs: 1_000, stopMs: 1_000 }, hasInit });

/** Options of `workerModel`. */
export interface WorkerModelOptions {
  /** Model a worker with an `init` step (default) or one without (its attempts start in `executing`). */
  hasInit?: boolean;
}

/** Names each event the worker machine accepts, read from the machine itself (invoke ids, delays). */
function eventKinds(): Map<string, WorkerStepKind> {
  const kinds = new Map<string, WorkerStepKind>([
    ["RESTART", "restart granted"],
    ["GIVE_UP", "restart budget spent"],
    ["STOP", "cancel"],
  ]);
  const invokeKinds: Record<string, [WorkerStepKind, WorkerStepKind]> = {
    initialize: ["init resolves", "init rejects"],
    execute: ["processor returns", "processor fails"],
    abandon: ["abandoned attempt settles", "abandoned attempt rejects"],
  };
  const delayKinds: Record<string, WorkerStepKind> = {
    initTimeout: "init timed out",
    backoff: "backoff elapsed",
    stopTimeout: "stop grace elapsed",
  };
  for (const node of Object.values(workerMachine.root.states) as AnyStateNode[]) {
    for (const invoke of node.invoke) {
      const [done, error] = invokeKinds[String(invoke.src)] ?? [];
      if (!done || !error) throw new Error(`worker model: unknown invoked actor "${String(invoke.src)}" in state "${node.key}"`);
      kinds.set(`xstate.done.actor.${invoke.id}`, done);
      kinds.set(`xstate.error.actor.${invoke.id}`, error);
    }
    for (const after of node.after) {
      const delay = after.eventType.split(".")[2] ?? "";
      const kind = delayKinds[delay];
      if (!kind) throw new Error(`worker model: unknown delay "${delay}" in state "${node.key}"`);
      kinds.set(after.eventType, kind);
    }
  }
  return kinds;
}

const stateOf = (snapshot: { value: unknown }): WorkerState => snapshot.value as WorkerState;

/** `from --kind--> to`. */
export function transitionKey(step: Pick<WorkerPathStep, "from" | "kind" | "state">): WorkerTransitionKey {
  return `${step.from} --${step.kind}--> ${step.state}`;
}

/**
 * Traverses the real worker machine (`machines/worker`) with the events its
 * environment sends: each attempt actor's done/error event, each delay's
 * `xstate.after.*` event, and the supervisor's `RESTART` / `GIVE_UP` / `STOP`.
 * States are told apart by their value only (the attempt counter would make
 * the graph infinite).
 *
 * @param excluded transition kinds (`from --kind--> to`) to leave out of the
 *   paths, e.g. those the runtime cannot produce.
 * @example
 * const { paths } = workerModel();
 * paths[0].description; // "initializing"
 * workerModel(new Set(), { hasInit: false }).paths[0].description; // "executing"
 */
export function workerModel(excluded: ReadonlySet<WorkerTransitionKey> = new Set(), options: WorkerModelOptions = {}): WorkerModel {
  assertKnownKeys("workerModel options", options, ["hasInit"]);
  const input = traversalInput(options.hasInit ?? true);
  const kinds = eventKinds();
  const events = [...kinds.keys()].map((type) => (type === "RESTART" ? { type, delayMs: 100 } : { type })) as WorkerEvent[];
  const kindOf = (type: string): WorkerStepKind => kinds.get(type)!;
  const serializeState = (snapshot: { value: unknown }) => String(snapshot.value);
  // Only events the state handles: an unhandled event would show up as a self-loop.
  const handled = (snapshot: { can(event: WorkerEvent): boolean }, event: WorkerEvent) => snapshot.can(event);
  const adjacency = getAdjacencyMap(workerMachine, {
    input,
    events,
    serializeState: serializeState as never,
    filterEvents: handled as never,
  });
  const transitions: WorkerTransitionKey[] = [];
  const states = new Set<WorkerState>();
  type Entry = { state: unknown; transitions: Record<string, { event: { type: string }; state: unknown }> };
  for (const { state, transitions: out } of Object.values(adjacency) as Entry[]) {
    states.add(stateOf(state as { value: unknown }));
    for (const { event, state: next } of Object.values(out)) {
      transitions.push(
        transitionKey({ from: stateOf(state as { value: unknown }), kind: kindOf(event.type), state: stateOf(next as { value: unknown }) }),
      );
    }
  }
  const shortest = getShortestPaths(workerMachine, {
    input,
    events,
    serializeState: serializeState as never,
    // Exclusions are looked up in the adjacency map: it knows each event's target.
    filterEvents: (snapshot, event) => handled(snapshot, event) && !excluded.has(nextKey(adjacency as never, snapshot, event, kindOf)),
  });
  // getShortestPaths' steps start with the initial state reached by `xstate.init`.
  const initial = stateOf(shortest[0]!.steps[0]!.state);
  const describe = (steps: WorkerPathStep[]) => describePath(initial, steps);
  const toPath = (steps: Array<{ event: { type: string }; state: { value: unknown } }>): WorkerPath => {
    const pathSteps: WorkerPathStep[] = [];
    let from: WorkerState = initial;
    for (const step of steps) {
      const state = stateOf(step.state);
      pathSteps.push({ event: step.event.type, kind: kindOf(step.event.type), from, state });
      from = state;
    }
    return describe(pathSteps);
  };
  const byState = new Map<WorkerState, WorkerPath>();
  for (const path of shortest) {
    byState.set(stateOf(path.state), toPath(path.steps.slice(1)));
  }
  const paths = new Map<string, WorkerPath>();
  for (const path of byState.values()) paths.set(path.description, path);
  for (const key of transitions) {
    if (excluded.has(key)) continue;
    const [from, rest] = key.split(" --") as [WorkerState, string];
    const [kind, to] = rest.split("--> ") as [WorkerStepKind, WorkerState];
    const prefix = byState.get(from);
    const event = [...kinds].find(([, k]) => k === kind)![0];
    if (!prefix) continue;
    const path = describe([...prefix.steps, { event, kind, from, state: to }]);
    paths.set(path.description, path);
  }
  // Recovery journeys: each way into `error`, then restart and run to completion (resume, nothing lost).
  const toDone = byState.get("done");
  const eventOf = (kind: WorkerStepKind) => [...kinds].find(([, k]) => k === kind)![0];
  const recoverySteps: WorkerPathStep[] = [
    { event: eventOf("restart granted"), kind: "restart granted", from: "error", state: "recovering" },
    { event: eventOf("backoff elapsed"), kind: "backoff elapsed", from: "recovering", state: initial },
  ];
  const recoveryAllowed = recoverySteps.every((step) => transitions.includes(transitionKey(step)) && !excluded.has(transitionKey(step)));
  for (const path of [...paths.values()]) {
    if (!toDone || !recoveryAllowed || path.states.at(-1) !== "error") continue;
    const journey = describe([...path.steps, ...recoverySteps, ...toDone.steps]);
    paths.set(journey.description, journey);
    const crash = describe([...path.steps, { event: eventOf("restart budget spent"), kind: "restart budget spent", from: "error", state: "crashed" }]);
    paths.set(crash.description, crash);
  }
  return { initial, paths: [...paths.values()], states: [...states], transitions };
}

function nextKey(
  adjacency: Record<string, unknown>,
  snapshot: { value: unknown },
  event: { type: string },
  kindOf: (type: string) => WorkerStepKind,
): WorkerTransitionKey {
  const from = stateOf(snapshot);
  const entry = adjacency[from as never] as { transitions: Record<string, { event: unknown; state: unknown }> } | undefined;
  const next = entry && Object.values(entry.transitions).find((t) => (t.event as { type: string }).type === event.type);
  return next ? transitionKey({ from, kind: kindOf(event.type), state: stateOf(next.state as { value: unknown }) }) : "";
}

function describePath(initial: WorkerState, steps: WorkerPathStep[]): WorkerPath {
  const states: WorkerState[] = [initial, ...steps.map((step) => step.state)];
  const description = [initial, ...steps.map((step) => `→[${step.kind}]→ ${step.state}`)].join(" ");
  return { description, steps, states };
}
