import type { AnyStateMachine } from "xstate";
import { machineGraph, type GraphState, type MachineGraph } from "./machineGraph.js";

/**
 * Draws a machine as a Mermaid `stateDiagram-v2` (compound states nested,
 * final states linked to `[*]`, transient states drawn as `<<choice>>`). Deterministic: the same machine gives the
 * same text, so generated docs can be checked for staleness.
 *
 * @example
 * import { workerMachine } from "liveworker/machines";
 * console.log(toMermaid(workerMachine));
 * // stateDiagram-v2
 * //   state starting <<choice>>
 * //   [*] --> starting
 * //   starting --> initializing : always if hasInit
 * //   …
 */
export function toMermaid(machine: AnyStateMachine): string {
  const graph = machineGraph(machine);
  const lines = ["stateDiagram-v2"];
  writeLevel(graph, undefined, "  ", lines);
  return lines.join("\n") + "\n";
}

function writeLevel(graph: MachineGraph, parent: string | undefined, indent: string, lines: string[]): void {
  const level = graph.states.filter((state) => state.parent === parent);
  const initial = parent === undefined ? graph.initial : graph.states.find((s) => s.path === parent)?.initial;
  for (const state of level) if (state.transient) lines.push(`${indent}state ${idOf(state.path)} <<choice>>`);
  if (initial) lines.push(`${indent}[*] --> ${idOf(initial)}`);
  for (const state of level) {
    if (graph.states.some((child) => child.parent === state.path)) {
      lines.push(`${indent}state ${idOf(state.path)} {`);
      writeLevel(graph, state.path, indent + "  ", lines);
      lines.push(`${indent}}`);
    }
  }
  const inLevel = new Set(level.map((state: GraphState) => state.path));
  for (const transition of graph.transitions) {
    if (!inLevel.has(transition.from)) continue;
    lines.push(`${indent}${idOf(transition.from)} --> ${idOf(transition.to)} : ${transition.label}`);
  }
  for (const state of level) if (state.final) lines.push(`${indent}${idOf(state.path)} --> [*]`);
}

/** Mermaid ids cannot hold dots; nested paths join with `_`. */
const idOf = (path: string): string => path.replace(/\./g, "_");
