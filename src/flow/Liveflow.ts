import type { SupervisionStrategy } from "../../machines/job.js";
import { RETRY_KEYS, resolveRetryPolicy, type RetryOptions } from "../../machines/restartPolicy.js";
import { DefinitionSite } from "../definitionSite.js";
import { ConfigurationError, ValidationError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys, checkDuration } from "../options.js";
import { enqueueTarget } from "../env/enqueueTarget.js";
import { resolveEnv } from "../env/resolveEnv.js";
import type { LiveEnv } from "../env/LiveEnv.js";
import { LiveJob } from "../job/LiveJob.js";
import { queueKeyOf, type JobPlan } from "../job/JobPlan.js";
import { defineFlowPlan } from "../job/definedFlows.js";
import { checkFlow } from "./checkFlow.js";
import { validateJobOptions } from "../spec/validateJobOptions.js";
import type { Connection, Direction, Exposure } from "./wiring.js";
import type { Schema } from "../schema.js";

/** How a flow job supervises its workers. */
export interface SupervisionOptions extends RetryOptions {
  /**
   * `one_for_one` (default): restart only the failed worker.
   * `one_for_all`: restart every running worker of the job.
   * `rest_for_one`: restart the failed worker and those downstream of it.
   * Restarts count per job against `maxRestarts` within `withinMs`.
   */
  strategy?: SupervisionStrategy;
}

/** What `Liveflow.define` takes. */
export interface LiveflowDefinition<X extends readonly Exposure[] = readonly Exposure[]> {
  name: string;
  connections: readonly Connection[];
  exposures: X;
  /**
   * Default: one_for_one with the defaults of `DEFAULT_RETRY` (the same
   * fields, ranges and defaults as a worker's `retry`). Unknown keys are a
   * `ConfigurationError`.
   */
  supervision?: SupervisionOptions;
  /** Whole-job timeout of a flow job: 1 … 2³¹−1 ms, or `Infinity` (or left out) for none. Default: none. */
  timeouts?: { jobMs?: number };
}

/** Options of `flow.enqueueJob`. */
export interface FlowEnqueueOptions {
  liveEnv?: LiveEnv;
  jobId?: string;
  /** Node key (the label, or the spec name) → that spec's job options. */
  jobOptions?: Record<string, unknown>;
}

/** The loose tag map of a flow job whose aliases are not known statically. */
export type AnyTags = Record<string, any>;

/**
 * Alias → schema of the exposures `X` in direction `D`, as `LiveJob` takes it.
 * Falls back to `AnyTags` when an alias is not a literal (exposures built
 * dynamically); an untyped tag (`Schema`) maps to `any`.
 */
export type ExposedTags<X extends readonly Exposure[], D extends Direction> =
  string extends X[number]["alias"]
    ? AnyTags
    : { [E in X[number] as E extends Exposure<infer A, D, any> ? A : never]: E extends Exposure<string, D, infer S> ? (Schema extends S ? any : S) : never };


const STRATEGIES: readonly SupervisionStrategy[] = ["one_for_one", "one_for_all", "rest_for_one"];

/**
 * A menu: several specs wired output to input, run as one job whose
 * supervisor spawns one worker per node. Data moves on the data plane
 * (streams), never as XState events; every hop validates against the
 * receiving schema.
 *
 * @example
 * const pizza = Liveflow.define({
 *   name: "pizza",
 *   connections: [conn({ from: dough, to: sauce }), conn({ from: sauce, to: bake })],
 *   exposures: [expose(dough.input.default, "flour"), expose(bake.output.default, "pizza")],
 *   supervision: { strategy: "rest_for_one", maxRestarts: 5 },
 * });
 * const job = await pizza.enqueueJob({ liveEnv: env });
 * await job.input("flour").feed({ grams: 500 });
 */
export class Liveflow<I = AnyTags, O = AnyTags> {
  readonly name: string;
  /** @internal Where `Liveflow.define` was called: errors about two flows of one name show both places. */
  readonly definedAt: DefinitionSite;
  private readonly plan: JobPlan;

  private constructor(definition: LiveflowDefinition) {
    this.definedAt = new DefinitionSite(Liveflow.define);
    assertKnownKeys("Liveflow.define", definition, ["name", "connections", "exposures", "supervision", "timeouts"]);
    assertValidId("flow name", definition?.name);
    const owner = `Liveflow "${definition.name}"`;
    assertKnownKeys(`supervision of ${owner}`, definition.supervision, ["strategy", ...RETRY_KEYS]);
    const { strategy = "one_for_one", ...retryOptions } = definition.supervision ?? {};
    if (!STRATEGIES.includes(strategy)) {
      throw new ConfigurationError(`Unknown supervision strategy "${String(strategy)}" in ${owner}; known: ${STRATEGIES.join(", ")}`);
    }
    // Checked now, not at run time; the plan keeps the resolved policy.
    const retry = resolveRetryPolicy(retryOptions, "supervision", owner);
    assertKnownKeys(`timeouts of ${owner}`, definition.timeouts, ["jobMs"]);
    const given = definition.timeouts?.jobMs;
    const jobMs = given === undefined ? undefined : checkDuration(`timeouts.jobMs of ${owner}`, given, { min: 1, allowInfinity: true });
    this.name = definition.name;
    const checked = checkFlow(definition.name, definition.connections, definition.exposures);
    this.plan = {
      name: definition.name,
      kind: "flow",
      queueKey: queueKeyOf("flow", definition.name),
      ...checked,
      strategy,
      retry,
      // Infinity is no job timeout: no timer is armed.
      ...(jobMs !== undefined && jobMs !== Infinity ? { jobMs } : {}),
      flow: this,
    };
    // Found by name by any env of this process that runs its jobs, whether or not it enqueues them.
    defineFlowPlan(this.plan);
  }

  /** Defines a flow; throws at once on any wiring mistake. */
  static define<const X extends readonly Exposure[]>(
    definition: LiveflowDefinition<X>,
  ): Liveflow<ExposedTags<X, "input">, ExposedTags<X, "output">> {
    return new Liveflow(definition);
  }

  /** Node keys, upstream first. */
  get nodes(): string[] {
    return this.plan.nodes.map((n) => n.key);
  }

  /**
   * Creates a flow job. It runs once every spec of the flow has a worker def
   * in the env. `job.input(alias)` / `job.output(alias)` are the exposed tags.
   */
  async enqueueJob(options: FlowEnqueueOptions = {}): Promise<LiveJob<I, O>> {
    const { env, jobId } = enqueueTarget(`Liveflow "${this.name}"`, options, ["liveEnv", "jobId", "jobOptions"]);
    const given = options.jobOptions === undefined ? {} : options.jobOptions;
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
      const got = given === null ? "null" : Array.isArray(given) ? "an array" : typeof given;
      throw new ValidationError(`jobOptions of Liveflow "${this.name}" must be an object of node key → options; got ${got}`);
    }
    for (const key of Object.keys(given)) {
      if (!this.plan.nodes.some((n) => n.key === key)) {
        throw new ValidationError(`jobOptions of Liveflow "${this.name}" name an unknown node "${key}"; nodes: ${this.nodes.join(", ")}`);
      }
    }
    // The job's place in its queue is taken at once, before (maybe async) validation: jobs start in call order.
    return env.enqueue(this.plan, jobId, async () => {
      const jobOptions = new Map<string, unknown>();
      for (const { key, spec } of this.plan.nodes) {
        // Own keys only: a node labelled `constructor` has no options unless they are given.
        jobOptions.set(key, await validateJobOptions(spec, Object.hasOwn(given, key) ? given[key] : undefined));
      }
      return jobOptions;
    }) as Promise<LiveJob<I, O>>;
  }

  /**
   * The handle of an existing job of this flow, by id, from any process
   * whose env shares the backend (see `JobSpec.getJob`). Resolves
   * `undefined` when the backend knows no job of that id.
   *
   * @throws ValidationError (a rejection) for an invalid job id; ConfigurationError (a rejection) for an unknown option key or a job of another spec or flow.
   */
  async getJob(jobId: string, options: { liveEnv?: LiveEnv } = {}): Promise<LiveJob<I, O> | undefined> {
    assertKnownKeys(`getJob options of Liveflow "${this.name}"`, options, ["liveEnv"]);
    assertValidId("job id", jobId);
    const env = resolveEnv(options.liveEnv, `getJob of Liveflow "${this.name}"`);
    return (await env.findJob(this.plan, jobId)) as LiveJob<I, O> | undefined;
  }
}
