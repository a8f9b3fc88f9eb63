import { LAYOUT_OPTIONS, labelBox, runElk, textWidth, type Box } from "./diagramLayout.js";
import type { FlowWiring } from "./flowWiring.js";

/** A laid-out box of a flow's wiring graph: a node (a worker) or an exposed port. */
export interface FlowBox extends Box {
  id: string;
  kind: "node" | "input" | "output";
  /** A node's label and spec (`sauce (spec tomato)`), or a port's alias. */
  text: string;
  /** A node's key (its worker's name). */
  node?: string;
}

/** A laid-out wire: a connection (with its index in the plan, for its count) or an exposure. */
export interface FlowEdge {
  /** The connection's index in the plan; undefined for an exposure. */
  wire?: number;
  label: string;
  points: Array<{ x: number; y: number }>;
  /** Where the label (and, for a connection, its message count) goes; undefined for an exposure of the default tag, which has none. */
  labelBox?: Box;
}

/** A flow's wiring graph with every position computed. */
export interface FlowLayout {
  width: number;
  height: number;
  boxes: FlowBox[];
  edges: FlowEdge[];
}

/** Room reserved in a wire's label for its count (` · `, 7 digits and ` msg`). */
const COUNT_ROOM = " · 0000000 msg";

/** A wire's tags as its label: one tag when both ends use it, nothing for the default tag (the common case says nothing). */
function wireLabel(fromTag: string, toTag: string): string {
  if (fromTag === toTag) return fromTag === "default" ? "" : fromTag;
  return `${fromTag} → ${toTag}`;
}

/**
 * Lays out a flow's wiring (ELK, left to right): exposed inputs, the nodes,
 * exposed outputs; one labelled wire per connection (`tag → tag`, with room
 * for its message count) and one per exposure. Jobs of one flow share it:
 * counts are not part of the layout.
 */
export async function layoutFlow(wiring: FlowWiring): Promise<FlowLayout> {
  const boxes: Array<Omit<FlowBox, "x" | "y">> = [
    ...wiring.inputs.map((p) => ({ id: `in:${p.alias}`, kind: "input" as const, text: `▶ ${p.alias}`, width: Math.max(60, Math.ceil(textWidth(`▶ ${p.alias}`)) + 20), height: 24 })),
    ...wiring.nodes.map((n) => {
      const text = n.key === n.spec ? n.key : `${n.key} (${n.spec})`;
      return { id: `node:${n.key}`, kind: "node" as const, text, node: n.key, width: Math.max(90, Math.ceil(textWidth(text)) + 24), height: 34 };
    }),
    ...wiring.outputs.map((p) => ({ id: `out:${p.alias}`, kind: "output" as const, text: `${p.alias} ▶`, width: Math.max(60, Math.ceil(textWidth(`${p.alias} ▶`)) + 20), height: 24 })),
  ];
  const edges = [
    ...wiring.wires.map((w, i) => ({ wire: i, source: `node:${w.from}`, target: `node:${w.to}`, label: wireLabel(w.fromTag, w.toTag) })),
    ...wiring.inputs.map((p) => ({ wire: undefined, source: `in:${p.alias}`, target: `node:${p.node}`, label: wireLabel(p.tag, p.tag) })),
    ...wiring.outputs.map((p) => ({ wire: undefined, source: `node:${p.node}`, target: `out:${p.alias}`, label: wireLabel(p.tag, p.tag) })),
  ];
  // ELK places no label whose text is empty: a wire between default tags still needs room for its count.
  const laid = await runElk({
    id: "flow",
    layoutOptions: { ...LAYOUT_OPTIONS, "elk.direction": "RIGHT", "elk.padding": "[top=12,left=12,bottom=12,right=12]" },
    children: boxes.map((b) => ({ id: b.id, width: Math.ceil(b.width), height: b.height })),
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target], labels: e.wire === undefined && e.label === "" ? [] : [{ text: e.label || "count", ...labelBox(e.wire === undefined ? e.label : e.label + COUNT_ROOM) }] })),
  });
  const placed = new Map((laid.children ?? []).map((c) => [c.id, c]));
  const laidEdges = new Map((laid.edges ?? []).map((e) => [e.id, e]));
  return {
    width: Math.ceil(laid.width!),
    height: Math.ceil(laid.height!),
    boxes: boxes.map((b) => {
      const c = placed.get(b.id)!;
      return { ...b, x: c.x!, y: c.y!, width: c.width!, height: c.height! };
    }),
    edges: edges.map((e, i) => {
      const laidEdge = laidEdges.get(`e${i}`)!;
      const section = laidEdge.sections![0]!;
      const label = laidEdge.labels?.[0];
      return {
        ...(e.wire !== undefined ? { wire: e.wire } : {}),
        label: e.label,
        points: [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map(({ x, y }) => ({ x, y })),
        ...(label ? { labelBox: { x: label.x!, y: label.y!, width: label.width!, height: label.height! } } : {}),
      };
    }),
  };
}
