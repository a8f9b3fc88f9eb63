import type { JobPlan } from "./JobPlan.js";

/**
 * The flows defined in this process, by name (`Liveflow.define` adds each).
 * A job record names its flow; a process that runs jobs, and may never have
 * enqueued that flow itself, finds the flow's plan here.
 */
const byName = new Map<string, JobPlan[]>();
const watchers = new Set<(plan: JobPlan) => void>();

/** Adds a flow's plan, and tells the watchers (the envs, which may now consume its queue). */
export function defineFlowPlan(plan: JobPlan): void {
  const plans = byName.get(plan.name);
  if (plans) plans.push(plan);
  else byName.set(plan.name, [plan]);
  for (const watcher of [...watchers]) watcher(plan);
}

/** The plans of the flows of `name` defined in this process (usually one). */
export function flowPlansNamed(name: string): readonly JobPlan[] {
  return byName.get(name) ?? [];
}

/** Every flow plan defined in this process. */
export function allFlowPlans(): JobPlan[] {
  return [...byName.values()].flat();
}

/** Calls `watcher` with each flow defined from now on. Returns a function that stops it. */
export function watchFlowPlans(watcher: (plan: JobPlan) => void): () => void {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}
