import { describe, expect, it } from "vitest";
import { jobMachine } from "../machines/job.js";
import { workerMachine } from "../machines/worker.js";
import { describeTransition, layoutMachine, type Box, type MachineLayout } from "../src/inspect/diagramLayout.js";
import { machineGraph } from "../src/inspect/machineGraph.js";
import { layoutFlow } from "../src/inspect/flowLayout.js";
import type { FlowWiring } from "../src/inspect/flowWiring.js";

/** True when two boxes share any interior point (touching edges do not count). */
const intersects = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** True when the axis-parallel segment p→q passes through the interior of `box`. */
function crosses(p: { x: number; y: number }, q: { x: number; y: number }, box: Box): boolean {
  const inner = { x: box.x + 1, y: box.y + 1, width: box.width - 2, height: box.height - 2 };
  const segment = { x: Math.min(p.x, q.x), y: Math.min(p.y, q.y), width: Math.abs(p.x - q.x) || 0.01, height: Math.abs(p.y - q.y) || 0.01 };
  return intersects(segment, inner);
}

/** Every overlap a person would see: label on label, label on state, an edge through a state. */
function overlaps(layout: MachineLayout): string[] {
  const found: string[] = [];
  const { states, transitions } = layout;
  transitions.forEach((t, i) => {
    for (const other of transitions.slice(i + 1)) if (intersects(t.labelBox, other.labelBox)) found.push(`label "${t.label}" overlaps label "${other.label}"`);
    for (const state of states) if (intersects(t.labelBox, state)) found.push(`label "${t.label}" overlaps state ${state.key}`);
    for (const state of states) {
      for (let k = 0; k + 1 < t.points.length; k++) {
        if (crosses(t.points[k]!, t.points[k + 1]!, state)) found.push(`edge ${t.from} → ${t.to} ("${t.label}") crosses state ${state.key}`);
      }
    }
  });
  return found;
}

/** How far (px) a label box is from its edge's polyline: 0 when the edge touches or crosses it. */
function labelDistance(points: Array<{ x: number; y: number }>, box: Box): number {
  let best = Infinity;
  for (let k = 0; k + 1 < points.length; k++) {
    const p = points[k]!;
    const q = points[k + 1]!;
    const steps = Math.max(1, Math.ceil(Math.hypot(q.x - p.x, q.y - p.y) / 2));
    for (let i = 0; i <= steps; i++) {
      const x = p.x + ((q.x - p.x) * i) / steps;
      const y = p.y + ((q.y - p.y) * i) / steps;
      const dx = Math.max(box.x - x, 0, x - (box.x + box.width));
      const dy = Math.max(box.y - y, 0, y - (box.y + box.height));
      best = Math.min(best, Math.hypot(dx, dy));
    }
  }
  return best;
}
/** A label this far from its edge reads as another edge's (ELK's label spacing is 3 px; a label sits beside its edge). */
const MAX_LABEL_DISTANCE = 12;

describe("machine diagrams laid out with ELK", () => {
  for (const machine of [jobMachine, workerMachine]) {
    it(`the ${machine.id} machine: no label overlaps a label or a state, no edge crosses a state, every transition drawn once`, async () => {
      const graph = machineGraph(machine);
      const layout = await layoutMachine(graph);
      expect(overlaps(layout)).toEqual([]);
      expect(layout.transitions.map((t) => `${t.from}>${t.to}:${t.label}`)).toEqual(graph.transitions.map((t) => `${t.from}>${t.to}:${describeTransition(t.label).label}`));
      expect(layout.states.map((s) => s.path)).toEqual(graph.states.map((s) => s.path));
      for (const t of layout.transitions) expect(t.points.length).toBeGreaterThanOrEqual(2);
      const far = layout.transitions.filter((t) => labelDistance(t.points, t.labelBox) > MAX_LABEL_DISTANCE).map((t) => `${t.from} → ${t.to} "${t.label}": ${labelDistance(t.points, t.labelBox).toFixed(0)} px`);
      expect(far).toEqual([]);
    });
  }

  it("tells eventless, delayed and guarded transitions apart", () => {
    expect(describeTransition("always if hasInit")).toEqual({ kind: "eventless", label: "always [hasInit]" });
    expect(describeTransition("after backoff")).toEqual({ kind: "delayed", label: "after backoff" });
    expect(describeTransition("JOB.TIMEOUT if hasJobTimeout")).toEqual({ kind: "event", label: "JOB.TIMEOUT [hasJobTimeout]" });
  });

  it("the overlap check finds a planted overlap (it can fail)", async () => {
    const layout = await layoutMachine(machineGraph(workerMachine));
    const [first, second, third] = layout.transitions;
    second!.labelBox = { ...first!.labelBox };
    const state = layout.states.find((s) => s.path !== third!.from && s.path !== third!.to)!;
    third!.labelBox = { x: state.x + 2, y: state.y + 2, width: 10, height: 10 };
    // An edge straight through a state it does not connect.
    third!.points = [{ x: state.x - 10, y: state.y + state.height / 2 }, { x: state.x + state.width + 10, y: state.y + state.height / 2 }];
    const found = overlaps(layout);
    expect(found).toContain(`label "${first!.label}" overlaps label "${second!.label}"`);
    expect(found).toContain(`label "${third!.label}" overlaps state ${state.key}`);
    expect(found).toContain(`edge ${third!.from} → ${third!.to} ("${third!.label}") crosses state ${state.key}`);
  });

  it("a flow's wiring (a fan-out and a fan-in, exposed ports): no label overlaps a label or a box, no wire crosses a box", async () => {
    const wiring: FlowWiring = {
      jobActorId: "job:pipeline/j1",
      flow: "pipeline",
      nodes: [
        { key: "split", spec: "splitter" },
        { key: "left", spec: "worker" },
        { key: "right", spec: "worker" },
        { key: "join", spec: "joiner" },
      ],
      wires: [
        { from: "split", fromTag: "a", to: "left", toTag: "default", messages: 0 },
        { from: "split", fromTag: "b", to: "right", toTag: "default", messages: 0 },
        { from: "left", fromTag: "default", to: "join", toTag: "l", messages: 0 },
        { from: "right", fromTag: "default", to: "join", toTag: "r", messages: 0 },
      ],
      inputs: [{ alias: "items", node: "split", tag: "default" }],
      outputs: [{ alias: "joined", node: "join", tag: "default" }],
    };
    const layout = await layoutFlow(wiring);
    const asMachine: MachineLayout = {
      id: "pipeline",
      width: layout.width,
      height: layout.height,
      states: layout.boxes.map((b) => ({ path: b.id, key: b.text, final: false, transient: false, x: b.x, y: b.y, width: b.width, height: b.height })),
      transitions: layout.edges.flatMap((e) => (e.labelBox ? [{ from: "", to: "", kind: "event" as const, label: e.label, points: e.points, labelBox: e.labelBox }] : [])),
    };
    expect(overlaps(asMachine)).toEqual([]);
    expect(layout.edges.filter((e) => e.wire !== undefined).map((e) => e.wire)).toEqual([0, 1, 2, 3]);
    // Every connection has a label (room for its count), beside its wire; exposures of the default tag have none to place.
    expect(layout.edges.filter((e) => e.labelBox).length).toBe(4);
    for (const e of layout.edges) if (e.labelBox) expect(labelDistance(e.points, e.labelBox)).toBeLessThanOrEqual(MAX_LABEL_DISTANCE);
    expect(layout.boxes.map((b) => b.kind).sort()).toEqual(["input", "node", "node", "node", "node", "output"]);
  });
  it("a wire between two default tags has no tag text, yet its count's label is placed beside it", async () => {
    const layout = await layoutFlow({
      jobActorId: "job:kitchen/k1",
      flow: "kitchen",
      nodes: [{ key: "chop", spec: "chop" }, { key: "cook", spec: "cook" }],
      wires: [{ from: "chop", fromTag: "default", to: "cook", toTag: "default", messages: 0 }],
      inputs: [{ alias: "orders", node: "chop", tag: "default" }],
      outputs: [{ alias: "dishes", node: "cook", tag: "default" }],
    });
    const wire = layout.edges.find((e) => e.wire === 0)!;
    expect(wire.label).toBe("");
    expect(labelDistance(wire.points, wire.labelBox!)).toBeLessThanOrEqual(MAX_LABEL_DISTANCE);
    expect(layout.edges.filter((e) => e.wire === undefined).map((e) => e.labelBox)).toEqual([undefined, undefined]);
  });
});
