import type { MachineGraph } from "./machineGraph.js";

/** A box in a diagram, in SVG pixels from its top-left corner. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How a transition is taken, as the diagram's legend explains it. */
export type TransitionKind = "event" | "eventless" | "delayed";

/** A laid-out state. */
export interface StateLayout extends Box {
  path: string;
  key: string;
  final: boolean;
  /** A choice: left at once by an eventless transition (never a state of its own in snapshots). */
  transient: boolean;
}

/** A laid-out transition: its route and its label. */
export interface TransitionLayout {
  from: string;
  to: string;
  kind: TransitionKind;
  /** The event (`"STOP"`, `"done(execute)"`, `"after backoff"`, `"always"`) and, when guarded, `[guard]`. */
  label: string;
  /** The route: start, bend points, end (orthogonal segments). */
  points: Array<{ x: number; y: number }>;
  labelBox: Box;
}

/** A machine diagram with every position computed: what the viewer draws. */
export interface MachineLayout {
  id: string;
  width: number;
  height: number;
  states: StateLayout[];
  transitions: TransitionLayout[];
}

/** Label font: the viewer draws labels in a monospace font of this size, so their widths are known here. */
export const LABEL_FONT_PX = 10;
/** Width of one character of the label font (ui-monospace at 10 px: 6.0 px; a margin for fallbacks). */
const CHAR_PX = 6.4;
const LABEL_PAD = 8;
const LABEL_H = 14;
const STATE_H = 30;
const STATE_FONT_CHAR_PX = 7.4;

/** The kind of a transition, and its label for people, from `machineGraph`'s label. */
export function describeTransition(label: string): { kind: TransitionKind; label: string } {
  const [event, guard] = label.split(" if ") as [string, string | undefined];
  const kind: TransitionKind = event === "always" ? "eventless" : event.startsWith("after ") ? "delayed" : "event";
  return { kind, label: guard ? `${event} [${guard}]` : event };
}

/**
 * About how wide `text` is in the page's 12 px sans-serif (px), erring wide: capitals
 * and wide letters take more room than lower case (a name in capitals overflowed a
 * box sized at one width per character).
 */
export function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += /[MW@]/.test(char) ? 11.5 : /[A-Z%&]/.test(char) ? 9.4 : /[mw]/.test(char) ? 10 : /[\s.,:;'|!il]/.test(char) ? 4 : 7.6;
  return width;
}

/** The box a label of the label font needs. */
export const labelBox = (text: string) => ({ width: Math.ceil(text.length * CHAR_PX + LABEL_PAD), height: LABEL_H });

type ElkConstructor = new () => { layout(graph: unknown): Promise<unknown> };

/** Runs ELK on a graph (elkjs loaded on first use). */
export async function runElk(graph: unknown): Promise<ElkNode> {
  // A CommonJS module: its constructor is `default` (or, through some bundlers' interop, `default.default`).
  const loaded = (await import("elkjs/lib/elk.bundled.js")) as unknown as { default: ElkConstructor & { default?: ElkConstructor } };
  const elk = new (loaded.default.default ?? loaded.default)();
  return (await elk.layout(graph)) as ElkNode;
}

export interface ElkPoint {
  x: number;
  y: number;
}
export interface ElkLabel {
  text?: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
}
export interface ElkNode {
  id: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  children?: ElkNode[];
  edges?: ElkEdge[];
  layoutOptions?: Record<string, string>;
}
export interface ElkEdge {
  id: string;
  sources: string[];
  targets: string[];
  labels?: ElkLabel[];
  sections?: Array<{ startPoint: ElkPoint; endPoint: ElkPoint; bendPoints?: ElkPoint[] }>;
}

/**
 * The ELK options of every diagram: layered (states in columns by their
 * order along transitions), orthogonal edges, labels as part of the layout
 * (ELK places each label in the middle of its edge, in a layer of its own,
 * so it overlaps no state and no other label), left to right.
 */
export const LAYOUT_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.edgeLabels.placement": "CENTER",
  "elk.layered.edgeLabels.sideSelection": "SMART_UP",
  "elk.layered.spacing.nodeNodeBetweenLayers": "36",
  "elk.layered.spacing.edgeNodeBetweenLayers": "14",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "10",
  "elk.spacing.nodeNode": "24",
  "elk.spacing.edgeNode": "14",
  "elk.spacing.edgeEdge": "10",
  "elk.spacing.edgeLabel": "3",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.padding": "[top=28,left=12,bottom=12,right=12]",
};

/**
 * Lays a machine out with ELK (elkjs, the Eclipse Layout Kernel: the layout
 * engine Stately's own tools use): one box per state, sized to its name; one
 * routed, labelled edge per transition (parallel transitions each get their
 * own). elkjs is loaded on first use (it is large, and only the viewer needs
 * it). Pure: the same graph always gives the same layout.
 *
 * @example
 * const layout = await layoutMachine(machineGraph(workerMachine));
 * layout.transitions.find((t) => t.kind === "delayed")?.label; // "after initTimeout [hasInitTimeout]"
 */
export async function layoutMachine(graph: MachineGraph): Promise<MachineLayout> {
  const described = graph.transitions.map((t) => ({ ...t, ...describeTransition(t.label) }));
  const root: ElkNode = {
    id: "root",
    layoutOptions: LAYOUT_OPTIONS,
    children: graph.states.map((state) => ({
      id: state.path,
      // The initial state starts the diagram (ELK would otherwise break the machine's cycles anywhere).
      ...(state.path === graph.initial ? { layoutOptions: { "elk.layered.layering.layerConstraint": "FIRST" } } : {}),
      width: Math.max(state.transient ? 70 : 90, Math.ceil(state.key.length * STATE_FONT_CHAR_PX + 24)),
      height: STATE_H,
    })),
    edges: described.map((t, i) => ({ id: `t${i}`, sources: [t.from], targets: [t.to], labels: [{ text: t.label, ...labelBox(t.label) }] })),
  };
  const laid = await runElk(root);
  const nodes = new Map((laid.children ?? []).map((node) => [node.id, node]));
  const states: StateLayout[] = graph.states.map((state) => {
    const node = nodes.get(state.path)!;
    return { path: state.path, key: state.key, final: state.final, transient: state.transient, x: node.x!, y: node.y!, width: node.width!, height: node.height! };
  });
  const edges = new Map((laid.edges ?? []).map((edge) => [edge.id, edge]));
  const transitions: TransitionLayout[] = described.map((t, i) => {
    const edge = edges.get(`t${i}`)!;
    const section = edge.sections![0]!;
    const label = edge.labels![0]!;
    return {
      from: t.from,
      to: t.to,
      kind: t.kind,
      label: t.label,
      points: [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map(({ x, y }) => ({ x, y })),
      labelBox: { x: label.x!, y: label.y!, width: label.width!, height: label.height! },
    };
  });
  return { id: graph.id, width: Math.ceil(laid.width!), height: Math.ceil(laid.height!), states, transitions };
}
