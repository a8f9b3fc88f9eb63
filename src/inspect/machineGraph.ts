import type { AnyStateMachine } from "xstate";

/** One state of a machine, with its path from the root (`"running"`, `"a.b"`). */
export interface GraphState {
  path: string;
  key: string;
  /** Path of the parent state; `undefined` for top-level states. */
  parent: string | undefined;
  final: boolean;
  /** Initial child of a compound state. */
  initial: string | undefined;
  /**
   * Left at once by an unguarded eventless transition (a choice, like the
   * worker's `starting`): never a state of its own in snapshots.
   */
  transient: boolean;
}

/** One transition with a target, labelled for people (`"done(initialize)"`, `"after backoff"`). */
export interface GraphTransition {
  from: string;
  to: string;
  label: string;
}

/** A machine as plain data: what diagrams (Mermaid, the viewer's SVG) are drawn from. */
export interface MachineGraph {
  id: string;
  initial: string | undefined;
  states: GraphState[];
  transitions: GraphTransition[];
}

interface NodeLike {
  key: string;
  path: string[];
  type: string;
  states: Record<string, NodeLike>;
  initial?: { target: NodeLike[] };
  invoke: Array<{ id: string; src: unknown }>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
}

interface TransitionLike {
  eventType: string;
  target?: NodeLike[];
  guard?: unknown;
}

/**
 * Reads a machine's states and targeted transitions (targetless ones change
 * no state and are left out). Pure; used by `toMermaid` and the viewer.
 *
 * @example
 * import { workerMachine } from "liveworker/machines";
 * machineGraph(workerMachine).transitions.find((t) => t.from === "recovering");
 * // { from: "recovering", to: "starting", label: "after backoff" }
 */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root as unknown as NodeLike;
  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const visit = (node: NodeLike) => {
    for (const child of Object.values(node.states)) {
      states.push({
        path: pathOf(child),
        key: child.key,
        parent: node === root ? undefined : pathOf(node),
        final: child.type === "final",
        initial: child.initial?.target[0] ? pathOf(child.initial.target[0]) : undefined,
        transient: (child.always ?? []).some((transition) => transition.guard === undefined),
      });
      const sources = new Map<string, string>(child.invoke.map((invoke) => [invoke.id, srcName(invoke.src)]));
      const all = [...[...child.transitions.values()].flat(), ...(child.always ?? [])];
      for (const transition of all) {
        for (const target of transition.target ?? []) {
          transitions.push({ from: pathOf(child), to: pathOf(target), label: labelOf(transition, sources) });
        }
      }
      visit(child);
    }
  };
  visit(root);
  const initial = root.initial?.target[0];
  return { id: machine.id, initial: initial ? pathOf(initial) : undefined, states, transitions };
}

const pathOf = (node: NodeLike): string => node.path.join(".");

function srcName(src: unknown): string {
  if (typeof src === "string") return src;
  return (src as { id?: string } | undefined)?.id ?? "actor";
}

function labelOf(transition: TransitionLike, sources: Map<string, string>): string {
  const guard = guardName(transition.guard);
  const event = eventLabel(transition.eventType ?? "", sources);
  return guard ? `${event} if ${guard}` : event;
}

function eventLabel(eventType: string, sources: Map<string, string>): string {
  if (eventType === "") return "always";
  for (const kind of ["done", "error"] as const) {
    const prefix = `xstate.${kind}.actor.`;
    if (eventType.startsWith(prefix)) {
      const id = eventType.slice(prefix.length);
      return `${kind}(${id === "*" ? "any child" : (sources.get(id) ?? id)})`;
    }
  }
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === "string") return guard;
  const nested = (guard as { guards?: unknown[] }).guards;
  if (typeof guard === "function" && Array.isArray(nested)) {
    return `${guard.name}(${nested.map((g) => guardName(g) ?? "?").join(", ")})`;
  }
  if (typeof guard === "function") return guard.name && guard.name !== "guard" ? guard.name : "condition";
  return (guard as { type?: string }).type ?? "condition";
}
