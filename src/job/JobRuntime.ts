import { createActor, type Actor, type AnyActorLogic, type InspectionEvent } from "xstate";
import type { JobContext, JobStartEvent } from "../../machines/job.js";
import { resolveRetryPolicy } from "../../machines/restartPolicy.js";
import type { AttemptInput, WorkerContext } from "../../machines/worker.js";
import { JobCancelledError, JobFailedError, serializeError } from "../errors.js";
import { childLogger, type Logger } from "../logger.js";
import type { DataStream } from "../stream/DataStream.js";
import type { InputChannel } from "../stream/InputChannel.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { EnvInternals } from "../env/internals.js";
import type { JobStatus, LifecycleEvent, LifecycleListener, WorkerState } from "./events.js";
import { downstreamOf, type JobPlan } from "./JobPlan.js";
import { NodeRuntime } from "./NodeRuntime.js";
import { pipe } from "./routing.js";

const STATUS_OF: Record<string, JobStatus> = {
  queued: "queued",
  running: "running",
  stopping: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/**
 * Everything one job owns at run time: its workers' nodes and streams, the
 * wires between them, and its supervisor actor. The public `LiveJob` handle
 * wraps it.
 */
export class JobRuntime {
  /** Exposed inputs: alias (the tag, for a plain job) → channel. */
  readonly inputs = new Map<string, InputChannel>();
  /** Exposed outputs: alias (the tag, for a plain job) → stream. */
  readonly outputs = new Map<string, DataStream>();
  readonly nodes = new Map<string, NodeRuntime>();
  readonly actor: Actor<AnyActorLogic>;
  readonly logger: Logger;
  status: JobStatus = "queued";
  /** Why the job failed or was cancelled, once final. */
  error: unknown;
  private listeners = new Set<LifecycleListener>();
  private observingWorkers = false;
  private readonly settled: Promise<void>;
  private settle!: (error?: unknown) => void;

  /**
   * @param jobOptions node key → validated job options of that node's spec.
   */
  constructor(
    private readonly env: EnvInternals,
    readonly plan: JobPlan,
    readonly jobId: string,
    jobOptions: ReadonlyMap<string, unknown>,
  ) {
    this.logger = childLogger(env.logger, { jobId, job: plan.name });
    const onProgress = (workerName: string, value: unknown) =>
      this.emit({ type: "job.progress", jobId, specName: plan.name, at: env.clock.now(), workerName, value });
    for (const { key, spec } of plan.nodes) {
      this.nodes.set(key, new NodeRuntime(env, key, spec, jobId, jobOptions.get(key), this.logger, onProgress));
    }
    for (const [alias, port] of plan.exposedInputs) this.inputs.set(alias, this.nodes.get(port.node)!.inputs.get(port.tag)!);
    for (const [alias, port] of plan.exposedOutputs) this.outputs.set(alias, this.nodes.get(port.node)!.outputs.get(port.tag)!);
    this.settled = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Callers may never await it; a failed job must not become an unhandled rejection.
    this.settled.catch(() => {});
    this.actor = createActor(env.jobMachine, {
      input: {
        jobId,
        specName: plan.name,
        workers: plan.nodes.map((n) => n.key),
        strategy: plan.strategy,
        downstream: downstreamOf(plan),
      },
      // Readable in inspectors: `job:<spec>:<jobId>` (workers: `worker:<name>:<jobId>`).
      id: `job:${plan.name}:${jobId}`,
      systemId: `job:${plan.name}:${jobId}`,
      clock: env.clock,
      ...(env.inspect ? { inspect: env.inspect } : {}),
    });
    this.actor.subscribe({
      next: (snapshot) => this.onSnapshot(snapshot as { value: string; status: string; context: JobContext }),
      error: (error) => this.finish("failed", new JobFailedError(jobId, error)),
    });
    if (env.hasListeners()) this.observeWorkers();
    this.actor.start();
    this.wire();
  }

  /** The spec of a plain job (its only node). */
  get spec() {
    return this.plan.nodes[0]!.spec;
  }

  /** Resolves when the job completed; rejects with its error otherwise. */
  waitUntilFinish(): Promise<void> {
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
    const workerTimeouts: Record<string, { initMs?: number; stopMs?: number }> = {};
    let first: AnyLiveWorkerDef | undefined;
    for (const node of this.nodes.values()) {
      node.def = findWorker(node.spec.name);
      first ??= node.def;
      workerTimeouts[node.key] = { initMs: node.def?.timeouts.initMs, stopMs: node.def?.timeouts.stopMs };
    }
    const single = this.plan.nodes.length === 1;
    const start: JobStartEvent = {
      type: "START",
      retry: this.plan.retry || !single ? resolveRetryPolicy(this.plan.retry) : first!.retry,
      timeouts: { jobMs: this.plan.jobMs ?? (single ? first!.timeouts.jobMs : undefined) },
      workerTimeouts,
    };
    // Announced before the workers spawn, so listeners see the job run first.
    this.setStatus("running");
    this.actor.send(start);
  }

  cancel(reason: string): void {
    // A final job stays as it was; XState would warn about an event to a stopped actor.
    if (this.actor.getSnapshot().status !== "active") return;
    this.actor.send({ type: "CANCEL", reason });
  }

  subscribe(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    this.observeWorkers();
    return () => this.listeners.delete(listener);
  }

  // ——— attempts, called by the worker machine's promise actors ———

  initialize(input: AttemptInput, signal: AbortSignal): Promise<void> {
    return this.node(input).initialize(input, signal);
  }

  execute(input: AttemptInput, signal: AbortSignal): Promise<void> {
    return this.node(input).execute(input, signal);
  }

  abandon(input: AttemptInput): Promise<void> {
    return this.node(input).abandon();
  }

  private node(input: AttemptInput): NodeRuntime {
    const node = this.nodes.get(input.workerName);
    if (!node) throw new Error(`internal: job "${this.jobId}" has no worker "${input.workerName}"`);
    return node;
  }

  /** Starts the data-plane wires; an input fed by wires ends when all of them ended. */
  private wire(): void {
    const remaining = new Map<InputChannel, number>();
    for (const c of this.plan.connections) {
      const channel = this.nodes.get(c.to.node)!.inputs.get(c.to.tag)!;
      remaining.set(channel, (remaining.get(channel) ?? 0) + 1);
    }
    for (const c of this.plan.connections) {
      const from = this.nodes.get(c.from.node)!.outputs.get(c.from.tag)!;
      const receiver = this.nodes.get(c.to.node)!;
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

  private onSnapshot(snapshot: { value: string; status: string; context: JobContext }): void {
    const status = STATUS_OF[snapshot.value] ?? "running";
    if (snapshot.status === "done") {
      const { context } = snapshot;
      // After the workers' own final snapshots, so listeners see them first.
      queueMicrotask(() => {
        if (status === "completed") this.finish("completed");
        else if (status === "cancelled") this.finish("cancelled", new JobCancelledError(this.jobId, context.cancelReason));
        else this.finish("failed", context.error ?? new JobFailedError(this.jobId, "unknown failure"));
      });
      return;
    }
    if (status !== this.status) this.setStatus(status);
  }

  private setStatus(status: JobStatus): void {
    this.status = status;
    if (this.listeners.size === 0 && !this.env.hasListeners()) return;
    this.emit({
      type: "job.status",
      jobId: this.jobId,
      specName: this.plan.name,
      at: this.env.clock.now(),
      status,
      ...(this.error !== undefined ? { error: serializeError(this.error) } : {}),
    });
  }

  private finish(status: "completed" | "failed" | "cancelled", error?: unknown): void {
    if (this.status === "completed" || this.status === "failed" || this.status === "cancelled") return;
    this.error = error;
    const why = `job "${this.jobId}" is ${status}`;
    for (const node of this.nodes.values()) {
      for (const { stream } of node.inputs.values()) stream.end(why);
      for (const stream of node.outputs.values()) {
        if (error === undefined) stream.end(why);
        else stream.fail(error, why);
      }
      node.release();
    }
    this.setStatus(status);
    this.settle(error);
    this.actor.stop();
    this.env.jobFinished(this);
    this.listeners.clear();
  }

  private emit(event: LifecycleEvent): void {
    for (const listener of this.listeners) safeCall(listener, event, this.logger);
    this.env.broadcast(event);
  }

  /** Turns worker snapshots into `worker.state` / `worker.restart` events (only when someone listens). */
  observeWorkers(): void {
    if (this.observingWorkers) return;
    this.observingWorkers = true;
    const last = new Map<string, string>();
    this.actor.system.inspect((event: InspectionEvent) => {
      if (event.type !== "@xstate.snapshot") return;
      const id = (event.actorRef as { id?: string }).id ?? "";
      if (!id.startsWith("worker:")) return;
      const snapshot = event.snapshot as { value?: unknown; context?: WorkerContext };
      const state = snapshot.value as WorkerState;
      const context = snapshot.context;
      if (typeof state !== "string" || !context || last.get(id) === state) return;
      last.set(id, state);
      const base = { jobId: this.jobId, specName: this.plan.name, at: this.env.clock.now(), workerName: context.workerName };
      const error = state === "error" || state === "crashed" ? { error: serializeError(context.error) } : {};
      this.emit({ type: "worker.state", ...base, state, attempt: context.attempt, ...error });
      if (state === "recovering") {
        this.emit({
          type: "worker.restart",
          ...base,
          attempt: context.attempt,
          delayMs: context.backoffMs,
          ...(context.error !== undefined ? { error: serializeError(context.error) } : {}),
        });
      }
    });
  }
}

function safeCall(listener: LifecycleListener, event: LifecycleEvent, logger: Logger): void {
  try {
    listener(event);
  } catch (error) {
    logger.error("a lifecycle listener threw", { error: serializeError(error) });
  }
}
