import type { JobPlan } from "../job/JobPlan.js";

/** A flow job's wiring as the viewer draws it: its nodes, the wires between them with message counts, its exposed ports. */
export interface FlowWiring {
  /** The job's actor id, `job:<flow>/<jobId>` (the viewer's rows and actors use it). */
  jobActorId: string;
  flow: string;
  /** Node label and the spec it runs, upstream first. */
  nodes: Array<{ key: string; spec: string }>;
  /** One per connection, in the plan's order, with the messages it delivered so far (sampled). */
  wires: Array<{ from: string; fromTag: string; to: string; toTag: string; messages: number }>;
  /** Exposed inputs (alias → node tag) and outputs. */
  inputs: Array<{ alias: string; node: string; tag: string }>;
  outputs: Array<{ alias: string; node: string; tag: string }>;
  /** False for a job another process runs: its wires are counted there, not here (every `messages` is 0). */
  counted?: false;
}

/** The wiring of a flow job's plan, with its wires' counts now (`counts` by connection index; zeros when absent). */
export function flowWiring(plan: JobPlan, jobId: string, counts: ArrayLike<number> | undefined): FlowWiring {
  const ports = (exposed: ReadonlyMap<string, { node: string; tag: string }>) => [...exposed].map(([alias, { node, tag }]) => ({ alias, node, tag }));
  return {
    jobActorId: `job:${plan.name}/${jobId}`,
    flow: plan.name,
    nodes: plan.nodes.map(({ key, spec }) => ({ key, spec: spec.name })),
    wires: plan.connections.map((c, i) => ({ from: c.from.node, fromTag: c.from.tag, to: c.to.node, toTag: c.to.tag, messages: counts?.[i] ?? 0 })),
    inputs: ports(plan.exposedInputs),
    outputs: ports(plan.exposedOutputs),
  };
}

/** Identifies a wiring's shape (not its counts): jobs of one flow share one layout. */
export function wiringShape(wiring: FlowWiring): string {
  return JSON.stringify([wiring.flow, wiring.nodes, wiring.wires.map(({ from, fromTag, to, toTag }) => [from, fromTag, to, toTag]), wiring.inputs, wiring.outputs]);
}
