import { createActor, type Actor, type AnyActorLogic, type AnyActorRef } from "xstate";
import type { JobContext, JobStartEvent } from "../../machines/job.js";
import { resolveRetryPolicy } from "../../machines/restartPolicy.js";
import type { AttemptInput, ReportedWorkerState, WorkerContext } from "../../machines/worker.js";
import { JobCancelledError, JobFailedError, TimeoutError, describeError, isInstance, serializeError } from "../errors.js";
import { BoundLogger, type Logger } from "../logger.js";
import type { DataStream } from "../stream/DataStream.js";
import type { InputChannel } from "../stream/InputChannel.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { EnvInternals } from "../env/internals.js";
import type { JobStatus, LifecycleEvent, LifecycleListener } from "../backend/events.js";
import { JobEventLog } from "./JobEventLog.js";
import { planShape, type JobPlan } from "./JobPlan.js";
import { NodeRuntime, type ProgressSink } from "./NodeRuntime.js";
import { pipe } from "./routing.js";
import type { AttemptRun } from "../env/attemptActor.js";

const STATUS_OF: Record<string, JobStatus> = {
  queued: "queued",
  running: "running",
  stopping: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/** START events of plain jobs, per worker def. */
const startEvents = new WeakMap<AnyLiveWorkerDef, JobStartEvent>();

/**
 * Everything one job owns at run time: its workers' nodes and streams, the
 * wires between them, and its supervisor actor. The public `LiveJob` handle
 * wraps it.
 */
export class JobRuntime implements ProgressSink {
  /** Exposed inputs: alias (the tag, for a plain job) → channel. */
  readonly inputs: ReadonlyMap<string, InputChannel>;
  /** Exposed outputs: alias (the tag, for a plain job) → stream. */
  readonly outputs: ReadonlyMap<string, DataStream>;
  /** The workers' runtimes, in plan order (upstream first). */
  readonly nodes: readonly NodeRuntime[];
  readonly actor: Actor<AnyActorLogic>;
  private boundLogger: Logger | undefined;
  status: JobStatus = "queued";
  /** Why the job failed or was cancelled, once final. */
  error: unknown;
  /** The job's lifecycle events so far, and its own listeners. */
  readonly events: JobEventLog;
  // Created on first use: most jobs never get a waiter.
  private settled: Promise<void> | undefined;
  private resolveSettled: (() => void) | undefined;
  private rejectSettled: ((error: unknown) => void) | undefined;

  /**
   * @param jobOptions node key → validated job options of that node's spec.
   */
  constructor(
    private readonly env: EnvInternals,
    readonly plan: JobPlan,
    readonly jobId: string,
    jobOptions: ReadonlyMap<string, unknown>,
  ) {
    const shape = planShape(plan);
    this.nodes = plan.nodes.map(({ key, spec }) => new NodeRuntime(env, key, spec, jobId, jobOptions.get(key), this));
    if (shape.identity) {
      // A plain job exposes its one worker's ports as they are: share its maps.
      this.inputs = this.nodes[0]!.inputs;
      this.outputs = this.nodes[0]!.outputs;
    } else {
      const inputs = new Map<string, InputChannel>();
      const outputs = new Map<string, DataStream>();
      for (const [alias, port] of plan.exposedInputs) inputs.set(alias, this.nodeOf(port.node).inputs.get(port.tag)!);
      for (const [alias, port] of plan.exposedOutputs) outputs.set(alias, this.nodeOf(port.node).outputs.get(port.tag)!);
      this.inputs = inputs;
      this.outputs = outputs;
    }
    // Readable in inspectors: `job:<spec>/<jobId>` (workers: `worker:<name>/<jobId>`); ids may hold ":" but never "/", so names cannot collide.
    const actorId = `job:${plan.name}/${jobId}`;
    this.actor = createActor(env.jobMachine, {
      input: {
        jobId,
        specName: plan.name,
        workers: shape.workers,
        strategy: plan.strategy,
        downstream: shape.downstream,
      },
      id: actorId,
      systemId: actorId,
      clock: env.clock,
      ...(env.inspect ? { inspect: env.inspect } : {}),
    });
    this.events = new JobEventLog(env.callListener, env.broadcast);
    this.actor.subscribe(new SupervisorObserver(this));
    this.actor.start();
    // Recorded after start (whose first snapshot flushes events): delivered at `announce`.
    this.events.record({ type: "job.status", jobId, specName: plan.name, at: env.clock.now(), status: "queued" });
    if (plan.connections.length > 0) this.wire();
  }

  /**
   * @internal Delivers the job's first event (`queued`) to listeners. Called
   * by the env once the job is registered and holds its queue place, so a
   * listener that closes the env or enqueues a job of the same id sees it.
   */
  announce(): void {
    this.flushEvents();
  }

  /** @internal A processor reported progress. */
  progress(workerName: string, value: unknown): void {
    if (isFinal(this.status)) return;
    this.emit({ type: "job.progress", jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), workerName, value });
  }

  /** The env's logger with the job's fields bound (made when first needed). */
  get logger(): Logger {
    return (this.boundLogger ??= new BoundLogger(this.env.logger, { jobId: this.jobId, job: this.plan.name }));
  }

  /** The spec of a plain job (its only node). */
  get spec() {
    return this.plan.nodes[0]!.spec;
  }

  /** Resolves when the job completed; rejects with its error otherwise. */
  waitUntilFinish(): Promise<void> {
    if (!this.settled) {
      if (isFinal(this.status)) {
        this.settled = this.error === undefined ? Promise.resolve() : Promise.reject(this.error);
      } else {
        this.settled = new Promise<void>((resolve, reject) => {
          this.resolveSettled = resolve;
          this.rejectSettled = reject;
        });
      }
      // Callers may never await it; a failed job must not become an unhandled rejection.
      this.settled.catch(() => {});
    }
    return this.settled;
  }

  /** The concurrency limit of this job's queue, or undefined while a worker def is missing. */
  concurrencyLimit(findWorker: (specName: string) => AnyLiveWorkerDef | undefined): number | undefined {
    let limit = Infinity;
    for (const { spec } of this.plan.nodes) {
      const def = findWorker(spec.name);
      if (!def) return undefined;
      if (this.plan.nodes.length === 1) limit = def.concurrency;
    }
    return limit;
  }

  /** Grants the job its worker defs: the supervisor starts its workers. */
  start(findWorker: (specName: string) => AnyLiveWorkerDef | undefined): void {
    for (const node of this.nodes) node.def = findWorker(node.spec.name);
    // Announced before the workers spawn, so listeners see the job run first.
    this.setStatus("running");
    // A listener of `running` may have cancelled it already.
    if (!this.isQueued) return;
    this.actor.send(this.startEvent());
    // Worker transitions the job does not take part in (init done, backoff over) are delivered after each worker step.
    const observer = new EventFlusher(this);
    for (const worker of Object.values(this.actor.getSnapshot().children as Record<string, AnyActorRef>)) worker.subscribe(observer);
    this.flushEvents();
  }

  /** The START event: what the defs (and a flow's plan) say about retries and timeouts. */
  private startEvent(): JobStartEvent {
    const single = this.plan.nodes.length === 1;
    const only = this.nodes[0]!.def;
    // A plain job's START depends on its def alone: one shared event per def (the machine keeps it in context).
    const shared = single && only && this.plan.retry === undefined && this.plan.jobMs === undefined;
    const cached = shared ? startEvents.get(only) : undefined;
    if (cached) return cached;
    // fromEntries defines own keys (an assignment to a `__proto__` key would set the prototype).
    const workerTimeouts = Object.fromEntries(this.nodes.map((node) => [node.key, { initMs: node.def?.timeouts.initMs, stopMs: node.def?.timeouts.stopMs }]));
    const withoutInit = this.nodes.filter((node) => node.def && !node.def.init).map((node) => node.key);
    const start: JobStartEvent = {
      type: "START",
      retry: this.plan.retry || !single ? resolveRetryPolicy(this.plan.retry) : only!.retry,
      timeouts: { jobMs: this.plan.jobMs ?? (single ? only!.timeouts.jobMs : undefined) },
      workerTimeouts,
      withoutInit,
    };
    if (shared) startEvents.set(only, start);
    return start;
  }

  /**
   * Still waiting to start. Read from the actor: a cancel moves the actor at
   * once, while `status` follows a microtask later.
   */
  get isQueued(): boolean {
    return this.actor.getSnapshot().value === "queued";
  }

  cancel(reason: string): void {
    // A final job stays as it was; XState would warn about an event to a stopped actor.
    if (this.actor.getSnapshot().status !== "active") return;
    this.actor.send({ type: "CANCEL", reason });
  }

  /** Delivers the job's events so far, then live ones until the job is final. */
  subscribe(listener: LifecycleListener): () => void {
    return this.events.subscribe(listener);
  }

  // ——— attempts, called by the worker machine's promise actors ———

  initialize(input: AttemptInput): AttemptRun {
    return this.node(input).initialize(input);
  }

  execute(input: AttemptInput): AttemptRun {
    return this.node(input).execute(input);
  }

  abandon(input: AttemptInput): Promise<void> {
    return this.node(input).abandon();
  }

  private node(input: AttemptInput): NodeRuntime {
    return this.nodeOf(input.workerName);
  }

  private nodeOf(key: string): NodeRuntime {
    // A handful of nodes at most: a scan beats a Map per job.
    for (const node of this.nodes) if (node.key === key) return node;
    throw new Error(`internal: job "${this.jobId}" has no worker "${key}"`);
  }

  /** Starts the data-plane wires; an input fed by wires ends when all of them ended. */
  private wire(): void {
    const remaining = new Map<InputChannel, number>();
    for (const c of this.plan.connections) {
      const channel = this.nodeOf(c.to.node).inputs.get(c.to.tag)!;
      remaining.set(channel, (remaining.get(channel) ?? 0) + 1);
    }
    for (const c of this.plan.connections) {
      const from = this.nodeOf(c.from.node).outputs.get(c.from.tag)!;
      const receiver = this.nodeOf(c.to.node);
      const channel = receiver.inputs.get(c.to.tag)!;
      pipe(c, from, channel.stream).then(
        (how) => {
          const left = remaining.get(channel)! - 1;
          remaining.set(channel, left);
          if (how === "ended" && left === 0) channel.stream.end(`every wire into ${channel.stream.label} ended`);
        },
        (error) => receiver.fail(error),
      );
    }
  }

  // ——— lifecycle ———

  /** @internal */
  onSnapshot(snapshot: { value: string; status: string; context: JobContext }): void {
    const status = STATUS_OF[snapshot.value] ?? "running";
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
    if (status !== this.status) this.setStatus(status);
  }

  private setStatus(status: JobStatus): void {
    this.status = status;
    this.emitStatus();
  }

  /** Records and delivers the current status (with the job's error, once it has one). */
  private emitStatus(): void {
    const { status } = this;
    this.emit({
      type: "job.status",
      jobId: this.jobId,
      specName: this.plan.name,
      at: this.env.clock.now(),
      status,
      ...(this.error !== undefined ? { error: serializeError(this.error) } : {}),
    });
  }

  /**
   * @internal The job is final. The library's own state settles first
   * (status, streams and their readers, waiters, the concurrency slot);
   * user code (logger, listeners) runs after, and cannot undo any of it.
   */
  finish(status: "completed" | "failed" | "cancelled", error?: unknown): void {
    if (isFinal(this.status)) return;
    this.status = status;
    this.error = error;
    const why = `job "${this.jobId}" is ${status}`;
    for (const node of this.nodes) {
      for (const { stream } of node.inputs.values()) stream.close(why);
      for (const stream of node.outputs.values()) {
        if (error === undefined) stream.close(why);
        else stream.fail(error, why);
      }
      node.release();
    }
    if (error === undefined) this.resolveSettled?.();
    else this.rejectSettled?.(error);
    this.resolveSettled = this.rejectSettled = undefined;
    this.actor.stop();
    this.env.jobFinished(this);
    // Then user code.
    if (status === "failed") this.logger.error(`${why}: ${describeError(error)}`, { error: serializeError(error) });
    this.emitStatus();
    this.events.close();
    // Waiting jobs start after this job's final event: listeners never see more running than the limit allows.
    this.env.startWaitingJobs(this);
  }

  /** Records and delivers an event (outside XState's steps: listeners may act on the job at once). */
  private emit(event: LifecycleEvent): void {
    this.events.record(event);
    this.events.flush();
  }

  /** @internal Delivers the events recorded inside XState's steps (the job's and workers' snapshots call this). */
  flushEvents(): void {
    this.events.flush();
  }

  /**
   * @internal A worker entered `state` (the worker machine's `reportState`
   * action, inside an XState step: recorded now, delivered at the next
   * flush). Causes come before their effects: a timeout before the `error`
   * (or `stopped`) it caused, a granted restart before `recovering`.
   */
  onWorkerState(state: ReportedWorkerState, context: WorkerContext): void {
    const base = { jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), workerName: context.workerName };
    const error = context.error;
    // A stop timeout is reported where it ends the stop: `stopped`, or `recovering` after `restarting`.
    const stopEnded = state === "stopped" || state === "recovering";
    if (isInstance(error, TimeoutError) && ((state === "error" && error.kind !== "stop") || (stopEnded && error.kind === "stop"))) {
      this.events.record({ type: "timeout", ...base, kind: error.kind, ms: error.ms });
    }
    if (state === "recovering") {
      this.events.record({
        type: "worker.restart",
        ...base,
        attempt: context.attempt,
        delayMs: context.backoffMs,
        ...(error !== undefined ? { error: serializeError(error) } : {}),
      });
    }
    const failed = state === "error" || state === "crashed";
    this.events.record({ type: "worker.state", ...base, state, attempt: context.attempt, ...(failed ? { error: serializeError(error) } : {}) });
  }

  /** @internal The whole-job timeout fired (recorded before the workers stop because of it). */
  onJobTimeout(ms: number): void {
    this.events.record({ type: "timeout", jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), kind: "job", ms });
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

function isFinal(status: JobStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}
