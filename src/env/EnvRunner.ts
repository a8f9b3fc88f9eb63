import { ConfigurationError, describeError } from "../errors.js";
import type { Backend, JobLease, JobRecord, QueueConsumer } from "../backend/Backend.js";
import { JobRuntime } from "../job/JobRuntime.js";
import { queueKeyOf, singleSpecPlan, type JobPlan } from "../job/JobPlan.js";
import { finishUnstarted } from "../job/finishUnstarted.js";
import { allFlowPlans, flowPlansNamed, watchFlowPlans } from "../job/definedFlows.js";
import type { RuntimeServices } from "../job/RuntimeServices.js";
import type { SpecShape } from "../spec/types.js";
import type { WorkerDefinition } from "../worker/options.js";

/** A worker def and the spec it serves. */
export interface RegisteredWorker {
  readonly spec: SpecShape;
  readonly def: WorkerDefinition;
}

/** What a job of a spec or flow runs: its plan and each node's worker def, found once, not per job. */
interface Runnable {
  readonly plan: JobPlan;
  readonly defs: readonly WorkerDefinition[];
}

/**
 * The env's runtime side: the worker defs and flows it serves, the queues it
 * consumes, and the jobs running here. A spec's queue is consumed once its
 * worker is defined; a flow's (any flow defined in this process) once every
 * spec in it has a worker. Each job the queue hands out runs as a
 * `JobRuntime` built from its record alone (spec or flow found by name), so
 * it could come from another process.
 */
/** What the viewer needs of a flow job: its plan, and its wires' counts. */
export type FlowJobRecord = Pick<JobRuntime, "plan" | "jobId" | "wireCounts">;

/** Flow jobs that ended whose wiring (with their wires' counts) a viewer opened later can still show. */
const ENDED_FLOWS_KEPT = 50;
/** Jobs that ended whose options a viewer's detail panel can still show (the newest). */
const ENDED_OPTIONS_KEPT = 50;

export class EnvRunner {
  private readonly workers = new Map<string, RegisteredWorker>();
  /** Flows this env enqueued: their jobs run with these plans, whatever else is defined under the name. */
  private readonly flows = new Map<string, JobPlan>();
  /** Per spec queue key, what its jobs run (set when the worker is defined). */
  private readonly runnable = new Map<string, Runnable>();
  /** Per flow plan, its runnable form (made on its first job). */
  private readonly flowRunnables = new Map<JobPlan, Runnable>();
  private readonly consumers = new Map<string, QueueConsumer>();
  private readonly running = new Map<string, JobRuntime>();
  private readonly run = (record: JobRecord, lease: JobLease) => this.start(record, lease);

  private readonly unwatch: () => void;

  constructor(
    private readonly backend: Backend,
    private readonly services: RuntimeServices,
  ) {
    this.unwatch = watchFlowPlans((plan) => this.consumeFlowWhenComplete(plan));
  }

  /** The worker of a spec name, if defined here. */
  worker(specName: string): RegisteredWorker | undefined {
    return this.workers.get(specName);
  }

  /** Serves a spec's jobs (and those of known flows it completes). The caller checked the name is free. */
  addWorker(worker: RegisteredWorker): void {
    this.workers.set(worker.spec.name, worker);
    const plan = singleSpecPlan(worker.spec);
    this.runnable.set(plan.queueKey, { plan, defs: [worker.def] });
    this.consume(plan.queueKey, worker.def.concurrency);
    for (const flow of allFlowPlans()) this.consumeFlowWhenComplete(flow);
  }

  /** A flow this env enqueued: its jobs run with this plan (once every spec in it has a worker). */
  addFlow(plan: JobPlan): void {
    if (this.flows.has(plan.name)) return;
    this.flows.set(plan.name, plan);
    this.consumeFlowWhenComplete(plan);
  }

  /** The running job of an id, for its actors' attempts. */
  job(jobId: string): JobRuntime | undefined {
    return this.running.get(jobId);
  }

  /** The jobs running here. */
  jobs(): JobRuntime[] {
    return [...this.running.values()];
  }

  /** Flow jobs: those running here, then the last ones that ended here (oldest first). */
  flowJobs(): FlowJobRecord[] {
    const running: FlowJobRecord[] = [];
    for (const job of this.running.values()) if (job.plan.kind === "flow") running.push(job);
    return [...this.endedFlows, ...running];
  }

  /** The last flow jobs that ended here (`ENDED_FLOWS_KEPT`), for a viewer opened later. */
  private readonly endedFlows: FlowJobRecord[] = [];
  /** The options of the last jobs that ended here (`ENDED_OPTIONS_KEPT`, oldest first), for a viewer's detail panel. */
  private readonly endedOptions = new Map<string, Readonly<Record<string, unknown>>>();

  /** The plan of flow `name` as this process knows it (enqueued here, else the one flow of that name defined here), else undefined. */
  knownFlowPlan(name: string): JobPlan | undefined {
    const defined = flowPlansNamed(name);
    return this.flows.get(name) ?? (defined.length === 1 ? defined[0] : undefined);
  }

  /** The options of a job running here or among the last that ended here (node key → options), else undefined. */
  jobOptions(jobId: string): Readonly<Record<string, unknown>> | undefined {
    return this.running.get(jobId)?.jobOptions ?? this.endedOptions.get(jobId);
  }

  /** @internal A running job is final (or was released). */
  finished(job: { readonly jobId: string }): void {
    const runtime = this.running.get(job.jobId);
    if (runtime === job) {
      this.running.delete(job.jobId);
      this.endedOptions.delete(runtime.jobId);
      this.endedOptions.set(runtime.jobId, runtime.jobOptions);
      if (this.endedOptions.size > ENDED_OPTIONS_KEPT) this.endedOptions.delete(this.endedOptions.keys().next().value!);
      // A flow job's wires' final counts, for a viewer opened later (the last few flow jobs only).
      if (runtime.plan.kind === "flow") {
        this.endedFlows.push({ plan: runtime.plan, jobId: runtime.jobId, wireCounts: runtime.wireCounts });
        if (this.endedFlows.length > ENDED_FLOWS_KEPT) this.endedFlows.shift();
      }
    }
    if (this.running.size === 0 && this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private readonly idleWaiters: Array<() => void> = [];

  /** Resolves once no job runs here. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Gives back every job running here, unfinished (a shared backend hands them to another process). */
  releaseAll(): void {
    for (const job of [...this.running.values()]) job.release();
  }

  /** Takes no more jobs (those running go on). */
  stopConsuming(): void {
    this.unwatch();
    for (const consumer of this.consumers.values()) consumer.close();
    this.consumers.clear();
  }

  /** Fails a job this env cannot run (it never started). */
  private refuse(record: JobRecord, lease: JobLease, error: Error): void {
    const outcome = { status: "failed" as const, error };
    lease.finish(outcome);
    finishUnstarted(this.backend, record.jobId, record.name, outcome, this.services.clock.now());
  }

  private consumeFlowWhenComplete(plan: JobPlan): void {
    if (this.canRun(plan)) this.consume(plan.queueKey, Infinity);
  }

  /** True when every spec of `plan` has this env's worker: that very spec object, not another of its name. */
  private canRun(plan: JobPlan): boolean {
    return plan.nodes.every(({ spec }) => this.workers.get(spec.name)?.spec === spec);
  }

  /**
   * What a job of flow `name` runs: the flow this env enqueued under that
   * name, else the one flow of that name defined in this process whose specs
   * all have a worker here. A `ConfigurationError` when there is none, or
   * more than one.
   */
  private flowRunnable(jobId: string, name: string): Runnable | ConfigurationError {
    const known = this.flows.get(name);
    const candidates = known ? [known].filter((plan) => this.canRun(plan)) : flowPlansNamed(name).filter((plan) => this.canRun(plan));
    if (candidates.length !== 1) {
      return new ConfigurationError(
        candidates.length === 0
          ? `This env cannot run job "${jobId}": no flow "${name}" is defined in this process with a worker here for every spec`
          : `This env cannot run job "${jobId}": ${candidates.length} different flows named "${name}" are defined in this process, each with a worker here for every spec; give them different names`,
      );
    }
    const plan = candidates[0]!;
    let runnable = this.flowRunnables.get(plan);
    if (!runnable) this.flowRunnables.set(plan, (runnable = { plan, defs: plan.nodes.map(({ spec }) => this.workers.get(spec.name)!.def) }));
    return runnable;
  }

  private consume(queueKey: string, concurrency: number): void {
    if (this.consumers.has(queueKey)) return;
    this.consumers.set(queueKey, this.backend.jobs.consume(queueKey, concurrency, this.run));
  }

  /** Builds a job's runtime from its record and starts it. A record this env cannot run fails its job. */
  private start(record: JobRecord, lease: JobLease): void {
    const runnable =
      record.kind === "flow"
        ? this.flowRunnable(record.jobId, record.name)
        : (this.runnable.get(queueKeyOf("spec", record.name)) ??
          new ConfigurationError(`This env cannot run job "${record.jobId}": no worker for spec "${record.name}" here`));
    if (runnable instanceof ConfigurationError) {
      this.refuse(record, lease, runnable);
      return;
    }
    let job: JobRuntime;
    try {
      job = new JobRuntime(this.services, runnable.plan, record.jobId, record.jobOptions, runnable.defs, lease);
    } catch (error) {
      this.refuse(record, lease, new Error(`internal: job "${record.jobId}" could not be built: ${describeError(error)}`));
      return;
    }
    this.running.set(record.jobId, job);
    job.start();
  }
}
