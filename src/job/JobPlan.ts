import type { RetryOptions } from "../../machines/restartPolicy.js";
import type { SupervisionStrategy } from "../../machines/job.js";
import type { Defined } from "../definitionSite.js";
import type { SpecShape } from "../spec/types.js";

/** One worker of a job: a spec under a unique key (its label, or the spec name). */
export interface PlanNode {
  key: string;
  spec: SpecShape;
}

/** A tag of a node. */
export interface PlanPort {
  node: string;
  tag: string;
}

/** An output-to-input wire between two nodes. */
export interface PlanConnection {
  from: PlanPort;
  to: PlanPort;
  transform?: (data: any) => unknown;
  /** e.g. `dough.default → sauce.default`, used in error messages. */
  label: string;
}

/**
 * What a job runs: its nodes (upstream first), the wires between them, and
 * which node tags the job handle exposes under which alias. A plain
 * `spec.enqueueJob` is a plan of one node exposing all its tags.
 */
export interface JobPlan {
  /** A plain job of one spec, or a flow's job: which registry a record's `name` is found in. */
  kind: "spec" | "flow";
  /** The spec name, or the flow name. */
  name: string;
  /** Key the scheduler queues under (concurrency slots): see `queueKeyOf`. */
  queueKey: string;
  nodes: readonly PlanNode[];
  connections: readonly PlanConnection[];
  exposedInputs: ReadonlyMap<string, PlanPort>;
  exposedOutputs: ReadonlyMap<string, PlanPort>;
  strategy: SupervisionStrategy;
  /** The flow's restart policy; a single-spec job uses its worker def's. */
  retry?: RetryOptions;
  /** Whole-job timeout of a flow. */
  jobMs?: number;
  /** The flow this plan runs; absent for a plain job of one spec. Its name is one flow's per env. */
  flow?: Defined;
}

/**
 * The scheduler's queue key of a spec's or a flow's jobs. The kind and the
 * name are joined by `/`, which no id may contain (`assertValidId`), so a
 * spec named `flow:pipe` and a flow named `pipe` never share a queue.
 */
export function queueKeyOf(kind: "spec" | "flow", name: string): string {
  return `${kind}/${name}`;
}

/** Plans are immutable: one per spec serves all its plain jobs (no per-job maps). */
const singleSpecPlans = new WeakMap<SpecShape, JobPlan>();

/** The plan of a plain job of one spec (one shared object per spec). */
export function singleSpecPlan(spec: SpecShape): JobPlan {
  let plan = singleSpecPlans.get(spec);
  if (plan) return plan;
  const identity = (tags: Record<string, unknown>) =>
    new Map(Object.keys(tags).map((tag) => [tag, { node: spec.name, tag }]));
  plan = {
    kind: "spec",
    name: spec.name,
    queueKey: queueKeyOf("spec", spec.name),
    nodes: [{ key: spec.name, spec }],
    connections: [],
    exposedInputs: identity(spec.inputSchemas),
    exposedOutputs: identity(spec.outputSchemas),
    strategy: "one_for_one",
  };
  singleSpecPlans.set(spec, plan);
  return plan;
}

/** What the job machine's input takes from a plan, computed once per plan. */
export interface PlanShape {
  workers: readonly string[];
  downstream: Readonly<Record<string, readonly string[]>>;
  /** One node whose tags are all exposed under their own names: the job's ports are the node's. */
  identity: boolean;
}

const planShapes = new WeakMap<JobPlan, PlanShape>();

/** The plan's worker names, downstream map and exposure kind (cached: plans never change). */
export function planShape(plan: JobPlan): PlanShape {
  let shape = planShapes.get(plan);
  if (shape) return shape;
  const only = plan.nodes.length === 1 ? plan.nodes[0]! : undefined;
  const exposesAll = (exposed: ReadonlyMap<string, PlanPort>, tags: Record<string, unknown>) =>
    exposed.size === Object.keys(tags).length &&
    [...exposed].every(([alias, port]) => port.node === only!.key && port.tag === alias && Object.hasOwn(tags, alias));
  shape = {
    workers: plan.nodes.map((n) => n.key),
    downstream: downstreamOf(plan),
    identity:
      only !== undefined &&
      exposesAll(plan.exposedInputs, only.spec.inputSchemas) &&
      exposesAll(plan.exposedOutputs, only.spec.outputSchemas),
  };
  planShapes.set(plan, shape);
  return shape;
}

/** Node key → the node keys downstream of it, transitively. */
function downstreamOf(plan: Pick<JobPlan, "nodes" | "connections">): Record<string, string[]> {
  const direct = new Map<string, Set<string>>();
  for (const c of plan.connections) {
    if (!direct.has(c.from.node)) direct.set(c.from.node, new Set());
    direct.get(c.from.node)!.add(c.to.node);
  }
  const result = new Map<string, string[]>();
  for (const { key } of plan.nodes) {
    const seen = new Set<string>();
    const stack = [...(direct.get(key) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(direct.get(next) ?? []));
    }
    result.set(key, [...seen]);
  }
  // fromEntries defines own keys, whatever the node keys are.
  return Object.fromEntries(result);
}
