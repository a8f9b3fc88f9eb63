import type { JobStartEvent } from "../../machines/job.js";
import { resolveRetryPolicy } from "../../machines/restartPolicy.js";
import type { WorkerDefinition } from "../worker/options.js";
import type { JobPlan } from "./JobPlan.js";

/** START events of plain jobs, per worker def: a plain job's START depends on its def alone. */
const shared = new WeakMap<WorkerDefinition, JobStartEvent>();

/**
 * The START event of a job: what its worker defs (and a flow's plan) say
 * about retries and timeouts. `defs` lists the def of each plan node, in order.
 */
export function startEvent(plan: JobPlan, defs: readonly WorkerDefinition[]): JobStartEvent {
  const single = plan.nodes.length === 1;
  const only = defs[0]!;
  const cacheable = single && plan.retry === undefined && plan.jobMs === undefined;
  const cached = cacheable ? shared.get(only) : undefined;
  if (cached) return cached;
  // fromEntries defines own keys (an assignment to a `__proto__` key would set the prototype).
  const workerTimeouts = Object.fromEntries(plan.nodes.map((node, i) => [node.key, { initMs: defs[i]!.timeouts.initMs, stopMs: defs[i]!.timeouts.stopMs }]));
  const withoutInit = plan.nodes.filter((_, i) => !defs[i]!.init).map((node) => node.key);
  const start: JobStartEvent = {
    type: "START",
    retry: plan.retry || !single ? resolveRetryPolicy(plan.retry) : only.retry,
    timeouts: { jobMs: plan.jobMs ?? (single ? only.timeouts.jobMs : undefined) },
    workerTimeouts,
    withoutInit,
  };
  if (cacheable) shared.set(only, start);
  return start;
}
