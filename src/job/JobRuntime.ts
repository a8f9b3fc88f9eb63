import { createActor, type Actor, type ActorOptions, type AnyActorLogic, type AnyActorRef } from "xstate";
import type { JobContext, JobMachineInput } from "../../machines/job.js";
import type { AttemptInput, ReportedWorkerState, WorkerContext } from "../../machines/worker.js";
import { JobCancelledError, JobFailedError, describeError, serializeError, type RestartRecord } from "../errors.js";
import { childLogger, type Logger } from "../logger.js";
import type { JobLease } from "../backend/Backend.js";
import { isFinalStatus, type FinalStatus, type JobStatus, type LifecycleEvent } from "../backend/events.js";
import type { StreamWriter } from "../stream/StreamWriter.js";
import type { WorkerDefinition } from "../worker/options.js";
import type { AttemptRun, PhaseReport } from "./attemptActor.js";
import { EventOutbox } from "./EventOutbox.js";
import { planShape, type JobPlan } from "./JobPlan.js";
import { NodeRuntime, type ProgressSink } from "./NodeRuntime.js";
import type { RuntimeServices } from "./RuntimeServices.js";
import { wire } from "./routing.js";
import { startEvent } from "./startEvent.js";
import { jobStatusOf, workerStateEvents } from "./lifecycleEvents.js";
import { unwatchLease, watchLease, type LeaseHolder } from "./leaseWatch.js";

/**
 * Everything one running job owns, in the process the queue handed it to:
 * its workers' nodes (their streams, attempts), the wires between them, and
 * its supervisor actor. Clients reach the job through the backend, never
 * through this object.
 */
export class JobRuntime implements ProgressSink, LeaseHolder {
  /** The workers' runtimes, in plan order (upstream first). */
  readonly nodes: readonly NodeRuntime[];
  readonly actor: Actor<AnyActorLogic>;
  private boundLogger: Logger | undefined;
  status: JobStatus = "queued";
  /** Why the job failed or was cancelled, once final. */
  error: unknown;
  private readonly outbox: EventOutbox;
  private wires: StreamWriter[] | undefined;
  /** @internal Messages each of the plan's connections delivered so far (a flow job's; the viewer samples them). */
  wireCounts: Uint32Array | undefined;

  /**
   * @param jobOptions node key → validated job options of that node's spec (own keys only are read).
   * @param defs the worker def of each node, in plan order.
   */
  constructor(
    private readonly env: RuntimeServices,
    readonly plan: JobPlan,
    readonly jobId: string,
    /** @internal Node key → validated job options (the viewer's detail panel shows them). */
    readonly jobOptions: Readonly<Record<string, unknown>>,
    private readonly defs: readonly WorkerDefinition[],
    private readonly lease: JobLease,
  ) {
    const shape = planShape(plan);
    this.nodes = plan.nodes.map(({ key, spec }, i) => {
      const node = new NodeRuntime(env, key, spec, jobId, Object.hasOwn(jobOptions, key) ? jobOptions[key] : undefined, this);
      node.def = defs[i];
      return node;
    });
    // Readable in inspectors: `job:<spec>/<jobId>` (workers: `worker:<name>/<jobId>`); ids may hold ":" but never "/", so names cannot collide.
    const actorId = `job:${plan.name}/${jobId}`;
    // Built without spreads: most jobs were never held elsewhere, and each `...({})` was an object and a copy per job.
    const input: JobMachineInput = { jobId, specName: plan.name, workers: shape.workers, strategy: plan.strategy, downstream: shape.downstream };
    if (lease.restarts && lease.restarts.length > 0) input.restarts = lease.restarts;
    // A resumed job's workers go on from their attempts there (every worker named: one left out was on 1).
    if (lease.resumed) input.attempts = Object.fromEntries(shape.workers.map((name) => [name, lease.attempts?.[name] ?? 1]));
    if (lease.expired !== undefined) input.expired = lease.expired;
    const options: ActorOptions<AnyActorLogic> = { input, id: actorId, systemId: actorId, clock: env.clock };
    if (env.inspect) options.inspect = env.inspect;
    this.actor = createActor(env.jobMachine, options);
    this.storedRestarts = this.actor.getSnapshot().context.restarts;
    // Null prototype: worker names are user strings (`__proto__` is a fine flow label).
    if (lease.recordAttempts) this.storedAttempts = Object.assign(Object.create(null) as Record<string, number>, lease.attempts);
    this.outbox = new EventOutbox(env.publish);
    this.actor.subscribe(new SupervisorObserver(this));
  }

  /** Starts the supervisor: it spawns the workers. Announced first, so listeners see the job run before its workers. */
  start(): void {
    // Operators learn of a take-over from the logs too, not only from the events.
    if (this.lease.expired) this.logger.warn(`job "${this.jobId}" taken over here: ${describeError(this.lease.expired)}`);
    this.actor.start();
    this.setStatus("running");
    this.actor.send(startEvent(this.plan, this.defs));
    // Worker transitions the job does not take part in (init done, backoff over) are delivered after each worker step.
    const observer = new EventFlusher(this);
    for (const worker of Object.values(this.actor.getSnapshot().children as Record<string, AnyActorRef>)) worker.subscribe(observer);
    this.flushEvents();
    if (this.plan.connections.length > 0) {
      this.wireCounts = new Uint32Array(this.plan.connections.length);
      this.wires = wire(this.plan.connections, (key) => this.nodeOf(key), this.wireCounts);
    }
    // Registered last: a cancel that came while the job started is handed over now.
    this.lease.onCancel((reason) => this.cancel(reason));
    // A lease lost (another process may run the job now): stop here, write nothing more.
    if (this.lease.lost.aborted) this.leaseLost();
    else {
      // Unwatched when the job ends here: a backend may hand every lease one signal that never aborts (memory).
      watchLease(this.lease.lost, this);
      this.watchingLease = true;
    }
  }

  /** @internal `LeaseHolder`: the lease's `lost` signal aborted. */
  onLeaseLost(): void {
    this.watchingLease = false;
    this.leaseLost();
  }

  /** Stops listening to the lease's `lost` signal. */
  private unwatchLease(): void {
    if (!this.watchingLease) return;
    this.watchingLease = false;
    unwatchLease(this.lease.lost, this);
  }

  /**
   * @internal What the lease still has to store before an attempt's user
   * code runs (`JobLease.saved`), for a job taken over after its lease
   * expired: a processor that kills its process at once must not escape the
   * restart budget by dying before its restart is stored. Other jobs do not
   * wait (a restart within one process is stored on the way, unawaited: a
   * crash just then repeats that attempt's number at most).
   */
  recorded(): Promise<void> | undefined {
    return this.lease.expired ? this.lease.saved?.() : undefined;
  }

  /** @internal The state a node's worker committed under an earlier holder of the job. */
  restoredState(key: string): { value: unknown } | undefined {
    const states = this.lease.states;
    return states && Object.hasOwn(states, key) ? { value: states[key] } : undefined;
  }

  /** @internal A processor reported progress. */
  progress(workerName: string, value: unknown): void {
    if (isFinalStatus(this.status)) return;
    this.emit({ type: "job.progress", jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), workerName, value });
  }

  /** The env's logger with the job's fields bound (made when first needed). */
  get logger(): Logger {
    return (this.boundLogger ??= childLogger(this.env.logger, { jobId: this.jobId, job: this.plan.name }));
  }

  cancel(reason: string): void {
    // A final job stays as it was; XState would warn about an event to a stopped actor.
    if (this.actor.getSnapshot().status !== "active") return;
    this.actor.send({ type: "CANCEL", reason });
  }

  // ——— attempts, called by the worker machine's attempt actors ———

  initialize(input: AttemptInput, report: PhaseReport): AttemptRun {
    return this.nodeOf(input.workerName).initialize(input, report);
  }

  execute(input: AttemptInput, report: PhaseReport): AttemptRun {
    return this.nodeOf(input.workerName).execute(input, report);
  }

  abandon(input: AttemptInput): Promise<void> {
    return this.nodeOf(input.workerName).abandon();
  }

  private nodeOf(key: string): NodeRuntime {
    // A handful of nodes at most: a scan beats a Map per job.
    for (const node of this.nodes) if (node.key === key) return node;
    throw new Error(`internal: job "${this.jobId}" has no worker "${key}"`);
  }

  // ——— lifecycle ———

  /** @internal */
  onSnapshot(snapshot: { value: string; status: string; context: JobContext }): void {
    const status = jobStatusOf(snapshot.value);
    if (snapshot.status === "done") {
      const { context } = snapshot;
      // After the workers' own final snapshots, so listeners see them first.
      queueMicrotask(() => {
        if (status === "completed") this.finish("completed");
        else if (status === "cancelled") this.finish("cancelled", new JobCancelledError(this.jobId, context.cancelReason));
        else this.finish("failed", context.error ?? new JobFailedError(this.jobId, "unknown failure", [], "failed", this.plan.name));
      });
      return;
    }
    if (status !== this.status && status !== "queued") this.setStatus(status);
    // A granted restart: stored with the job, so a process that resumes it keeps the budget.
    if (snapshot.context.restarts !== this.storedRestarts) {
      this.storedRestarts = snapshot.context.restarts;
      if (this.storedRestarts.length > 0) this.lease.recordRestarts?.(this.storedRestarts);
    }
  }

  /** The restart history last handed to the lease. */
  private storedRestarts: readonly RestartRecord[] | undefined;
  /** The attempts last handed to the lease (`recordAttempts`); undefined on a backend that keeps none. */
  private storedAttempts: Record<string, number> | undefined;

  /** A worker began `attempt`: stored with the job when it is past what the job has (attempt 1 of a fresh job is not). */
  private storeAttempt(workerName: string, attempt: number): void {
    const stored = this.storedAttempts!;
    if (attempt <= (Object.hasOwn(stored, workerName) ? stored[workerName]! : 1)) return;
    stored[workerName] = attempt;
    this.lease.recordAttempts!({ ...stored });
  }

  private setStatus(status: JobStatus): void {
    this.status = status;
    this.emitStatus();
  }

  /** Records and delivers the current status (with the job's error, once it has one). */
  private emitStatus(): void {
    const event: LifecycleEvent & { type: "job.status" } = { type: "job.status", jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), status: this.status };
    if (this.error !== undefined) event.error = serializeError(this.error);
    this.emit(event);
  }

  /**
   * @internal The job is final. The library's own state settles first
   * (status, streams and their readers, the outcome and its waiters, the
   * concurrency slot); user code (logger, listeners) runs after, and cannot
   * undo any of it.
   */
  finish(status: FinalStatus, error?: unknown): void {
    if (isFinalStatus(this.status)) return;
    this.status = status;
    this.error = error;
    const why = `job "${this.jobId}" is ${status}`;
    for (const writer of this.wires ?? []) writer.refuse(why);
    for (const node of this.nodes) {
      for (const { stream } of node.inputs.values()) stream.end(why);
      for (const writer of node.outputs.values()) {
        writer.refuse(why);
        if (error === undefined) writer.stream.end(why);
        else writer.stream.fail(error, why);
      }
      node.release();
    }
    this.actor.stop();
    this.unwatchLease();
    // The queue starts a waiting job only after this step: the final event below comes first.
    this.lease.finish(error === undefined ? { status } : { status, error });
    this.env.jobFinished(this);
    // Then user code.
    if (status === "failed") this.logger.error(`${why}: ${describeError(error)}`, { error: serializeError(error) });
    this.emitStatus();
    this.outbox.close();
    this.env.forget(this.jobId);
  }

  /**
   * @internal Gives the job back unfinished (its env is closing on a shared
   * backend): its attempts are abandoned and fenced, its actors stop, and no
   * stream is ended and no final status recorded: the consumer that takes
   * the job next resumes it from its acknowledged input.
   */
  release(): void {
    if (!this.letGo(`job "${this.jobId}" was released by this process (its env is closing)`)) return;
    this.lease.release?.();
    this.settleLetGo();
  }

  /**
   * The lease was lost (`JobLease.lost`: another process may run the job
   * now): as `release`, but nothing is given back: its attempts' signals
   * abort, its writers refuse, no stream is ended and no status recorded.
   */
  private leaseLost(): void {
    if (!this.letGo(`job "${this.jobId}" lost its lease: another process may run it now`)) return;
    // The reason says why: another process took the job over, or Redis lost its data.
    this.logger.warn(`job "${this.jobId}" stops here, its lease lost: ${describeError(this.lease.lost.reason)}; its attempt writes nothing more`);
    this.settleLetGo();
  }

  /** Stops running the job here without an outcome; false when it is final (or let go) already. */
  private letGo(why: string): boolean {
    if (isFinalStatus(this.status) || this.lettingGo) return false;
    this.lettingGo = true;
    this.unwatchLease();
    for (const writer of this.wires ?? []) writer.refuse(why);
    for (const node of this.nodes) for (const writer of node.outputs.values()) writer.refuse(why);
    this.actor.stop();
    for (const node of this.nodes) node.release();
    return true;
  }

  private lettingGo = false;
  /** True while the runtime listens to its lease's `lost` signal. */
  private watchingLease = false;

  private settleLetGo(): void {
    this.env.jobFinished(this);
    this.outbox.close();
    this.env.forget(this.jobId);
  }

  /** Records and delivers an event (outside XState's steps: listeners may act on the job at once). */
  private emit(event: LifecycleEvent): void {
    this.outbox.deliver(event);
  }

  /** @internal Delivers the events recorded inside XState's steps (the job's and workers' snapshots call this). */
  flushEvents(): void {
    this.outbox.flush();
  }

  /**
   * @internal A worker entered `state` (the worker machine's `reportState`
   * action, inside an XState step: recorded now, delivered at the next
   * flush). Causes come before their effects: a timeout before the `error`
   * (or `stopped`) it caused, a granted restart before `recovering`.
   */
  onWorkerState(state: ReportedWorkerState, context: WorkerContext): void {
    if (this.storedAttempts) {
      if (state === "initializing" || state === "executing") this.storeAttempt(context.workerName, context.attempt);
      // A granted restart: the next attempt is stored now, so a process dying in the backoff does not repeat it.
      else if (state === "recovering") this.storeAttempt(context.workerName, context.attempt + 1);
    }
    workerStateEvents(this.jobId, this.plan.name, this.env.clock.now(), state, context, this.outbox);
  }

  /** @internal The whole-job timeout fired (recorded before the workers stop because of it). */
  onJobTimeout(ms: number): void {
    this.outbox.record({ type: "timeout", jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), kind: "job", ms });
  }
}

/** Watches the supervisor actor (a class: XState binds its methods; no closures per job). */
class SupervisorObserver {
  constructor(private readonly job: JobRuntime) {}

  next(snapshot: unknown): void {
    this.job.onSnapshot(snapshot as { value: string; status: string; context: JobContext });
    this.job.flushEvents();
  }

  error(error: unknown): void {
    this.job.finish("failed", new JobFailedError(this.job.jobId, error, [], "failed", this.job.plan.name));
  }
}

/** Delivers a job's recorded events after each step of one of its workers. */
class EventFlusher {
  constructor(private readonly job: JobRuntime) {}

  next(): void {
    this.job.flushEvents();
  }

  error(): void {
    this.job.flushEvents();
  }
}
