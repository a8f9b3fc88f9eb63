import { createActor, type Actor, type AnyActorLogic, type InspectionEvent } from "xstate";
import type { JobContext } from "../../machines/job.js";
import type { AttemptInput, WorkerContext } from "../../machines/worker.js";
import { JobCancelledError, JobFailedError, serializeError } from "../errors.js";
import { childLogger, type Logger } from "../logger.js";
import { DataStream } from "../stream/DataStream.js";
import type { InputChannel } from "../stream/InputChannel.js";
import { Attempt } from "../worker/Attempt.js";
import { createProcessorInput } from "../worker/processorInput.js";
import { createProcessorOutput } from "../worker/processorOutput.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { EnvInternals } from "../env/internals.js";
import type { JobStatus, LifecycleEvent, LifecycleListener, WorkerState } from "./events.js";

const STATUS_OF: Record<string, JobStatus> = {
  queued: "queued",
  running: "running",
  stopping: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/**
 * Everything one job owns at run time: its streams, its supervisor actor, its
 * current attempts. The public `LiveJob` handle wraps it.
 */
export class JobRuntime {
  readonly inputs = new Map<string, InputChannel>();
  readonly outputs = new Map<string, DataStream>();
  readonly actor: Actor<AnyActorLogic>;
  readonly logger: Logger;
  status: JobStatus = "queued";
  /** Why the job failed or was cancelled, once final. */
  error: unknown;
  private def: AnyLiveWorkerDef | undefined;
  private resources = new Map<string, unknown>();
  private running = new Map<string, Promise<unknown>>();
  private listeners = new Set<LifecycleListener>();
  private observingWorkers = false;
  private readonly settled: Promise<void>;
  private settle!: (error?: unknown) => void;

  constructor(
    private readonly env: EnvInternals,
    readonly spec: AnyJobSpec,
    readonly jobId: string,
    readonly jobOptions: unknown,
  ) {
    this.logger = childLogger(env.logger, { jobId, spec: spec.name });
    for (const [tag, schema] of Object.entries(spec.inputSchemas)) {
      const stream = env.createStream(`input "${tag}" of job "${jobId}" (spec "${spec.name}")`, schema, 0);
      this.inputs.set(tag, { tag, stream, acknowledged: stream.openCursor(0) });
    }
    for (const [tag, schema] of Object.entries(spec.outputSchemas)) {
      this.outputs.set(tag, env.createStream(`output "${tag}" of job "${jobId}" (spec "${spec.name}")`, schema));
    }
    this.settled = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Callers may never await it; a failed job must not become an unhandled rejection.
    this.settled.catch(() => {});
    this.actor = createActor(env.jobMachine, {
      input: { jobId, specName: spec.name, workers: [spec.name] },
      clock: env.clock,
      ...(env.inspect ? { inspect: env.inspect } : {}),
    });
    this.actor.subscribe({
      next: (snapshot) => this.onSnapshot(snapshot as { value: string; status: string; context: JobContext }),
      error: (error) => this.finish("failed", new JobFailedError(jobId, error)),
    });
    if (env.hasListeners()) this.observeWorkers();
    this.actor.start();
  }

  /** Resolves when the job completed; rejects with its error otherwise. */
  waitUntilFinish(): Promise<void> {
    return this.settled;
  }

  /** Grants the job its worker def: the supervisor starts its workers. */
  start(def: AnyLiveWorkerDef): void {
    this.def = def;
    // Announced before the workers spawn, so listeners see the job run first.
    this.setStatus("running");
    this.actor.send({ type: "START", retry: def.retry, timeouts: def.timeouts });
  }

  cancel(reason: string): void {
    this.actor.send({ type: "CANCEL", reason });
  }

  subscribe(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    this.observeWorkers();
    return () => this.listeners.delete(listener);
  }

  // ——— attempts, called by the worker machine's promise actors ———

  async initialize(input: AttemptInput, signal: AbortSignal): Promise<void> {
    const def = this.requireDef();
    const attempt = new Attempt(input.workerName, input.attempt, signal, this.env.clock, undefined);
    if (!def.init) return;
    const run = Promise.resolve().then(() =>
      def.init!({
        jobId: this.jobId,
        jobOptions: this.jobOptions,
        logger: childLogger(this.logger, { worker: input.workerName, attempt: input.attempt }),
        signal: attempt.signal,
        attempt: input.attempt,
      }),
    );
    this.running.set(input.workerName, run.catch(() => {}));
    const resources = await run;
    attempt.assertLive();
    this.resources.set(input.workerName, resources);
  }

  async execute(input: AttemptInput, signal: AbortSignal): Promise<void> {
    const def = this.requireDef();
    const attempt = new Attempt(input.workerName, input.attempt, signal, this.env.clock, def.timeouts.heartbeatMs);
    const { input: processorInput, acknowledgeAll } = createProcessorInput(this.spec.name, this.inputs, attempt);
    const output = createProcessorOutput(this.spec.name, this.outputs, attempt);
    const logger = childLogger(this.logger, { worker: input.workerName, attempt: input.attempt });
    attempt.startWatchdog();
    const run = Promise.resolve().then(() =>
      def.processor({
        input: processorInput as never,
        output: output as never,
        jobId: this.jobId,
        jobOptions: this.jobOptions,
        logger,
        signal: attempt.signal,
        attempt: input.attempt,
        resources: this.resources.get(input.workerName),
        heartbeat: () => attempt.beat(),
        progress: (value) => this.progress(input.workerName, attempt, value),
      }),
    );
    this.running.set(input.workerName, run.catch(() => {}));
    try {
      await Promise.race([run, attempt.failed]);
      attempt.assertLive();
      acknowledgeAll();
    } finally {
      attempt.stopWatchdog();
    }
  }

  /** Waits for the abandoned attempt of a stopping worker to settle. */
  async abandon(input: AttemptInput): Promise<void> {
    await this.running.get(input.workerName);
  }

  private requireDef(): AnyLiveWorkerDef {
    if (!this.def) throw new Error(`internal: job "${this.jobId}" ran before it was started`);
    return this.def;
  }

  private progress(workerName: string, attempt: Attempt, value: unknown): void {
    if (attempt.fenced) return;
    attempt.beat();
    this.emit({ type: "job.progress", jobId: this.jobId, specName: this.spec.name, at: this.env.clock.now(), workerName, value });
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
      specName: this.spec.name,
      at: this.env.clock.now(),
      status,
      ...(this.error !== undefined ? { error: serializeError(this.error) } : {}),
    });
  }

  private finish(status: "completed" | "failed" | "cancelled", error?: unknown): void {
    if (this.status === "completed" || this.status === "failed" || this.status === "cancelled") return;
    this.error = error;
    for (const { stream } of this.inputs.values()) stream.end(`job "${this.jobId}" is ${status}`);
    for (const stream of this.outputs.values()) {
      if (error === undefined) stream.end(`job "${this.jobId}" is ${status}`);
      else stream.fail(error, `job "${this.jobId}" is ${status}`);
    }
    this.setStatus(status);
    this.settle(error);
    this.actor.stop();
    this.resources.clear();
    this.running.clear();
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
      const base = { jobId: this.jobId, specName: this.spec.name, at: this.env.clock.now(), workerName: context.workerName };
      const error = state === "error" || state === "crashed" ? { error: serializeError(context.error) } : {};
      this.emit({ type: "worker.state", ...base, state, attempt: context.attempt, ...error });
      if (state === "recovering") {
        this.emit({
          type: "worker.restart",
          ...base,
          attempt: context.attempt,
          delayMs: context.backoffMs,
          error: serializeError(context.error),
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
