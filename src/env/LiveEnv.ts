import type { AnyActorLogic, InspectionEvent, Observer } from "xstate";
import { systemClock, type Clock } from "../clock.js";
import { ConfigurationError, EnvClosedError, ValidationError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys } from "../options.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { Schema } from "../schema.js";
import { DataStream, DEFAULT_STREAM_LIMITS, type StreamLimits } from "../stream/DataStream.js";
import { JobRuntime } from "../job/JobRuntime.js";
import type { LifecycleEvent, LifecycleListener } from "../job/events.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { EnvInternals } from "./internals.js";
import { createRuntimeJobMachine } from "./runtimeMachine.js";
import { JobScheduler } from "./JobScheduler.js";

/** Options of `LiveEnv.create`. Every field has a default. */
export interface LiveEnvOptions {
  /** Names the env in logs. Default `"default"`. */
  projectId?: string;
  /** Time source for every delay, timeout and timestamp. Default: the system clock. XState's `SimulatedClock` fits. */
  clock?: Clock;
  /** Default: `consoleLogger("warn")`. */
  logger?: Logger;
  /** An XState inspector (observer or function) applied to every job and worker actor. Default: none. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Stream limits. Defaults: `DEFAULT_STREAM_LIMITS`. */
  streams?: Partial<StreamLimits>;
}

/** Options of `env.close`. */
export interface CloseOptions {
  /** Time running jobs get to finish before they are cancelled. Default 0: cancel at once. */
  graceMs?: number;
}

let globalEnv: LiveEnv | undefined;

/**
 * The kitchen: where workers are registered and jobs run. In-memory; each env
 * is isolated from the others.
 *
 * @example
 * const env = LiveEnv.create({ projectId: "kitchen" });
 * // … define workers, enqueue jobs …
 * await env.close();
 */
export class LiveEnv {
  readonly projectId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly limits: StreamLimits;
  private readonly inspect: LiveEnvOptions["inspect"];
  private readonly workers = new Map<string, AnyLiveWorkerDef>();
  private readonly jobs = new Map<string, JobRuntime>();
  private readonly scheduler: JobScheduler;
  private readonly listeners = new Set<LifecycleListener>();
  private readonly jobMachine: AnyActorLogic;
  private closing: Promise<void> | undefined;
  /** Internal hooks for job runtimes. */
  readonly internals: EnvInternals;

  private constructor(options: LiveEnvOptions) {
    assertKnownKeys("LiveEnv.create options", options, ["projectId", "clock", "logger", "inspect", "streams"]);
    assertKnownKeys("LiveEnv.create streams", options.streams, ["highWaterMark", "historyLimit"]);
    const projectId = options.projectId ?? "default";
    assertValidId("projectId", projectId);
    const limits = { ...DEFAULT_STREAM_LIMITS, ...options.streams };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < (name === "highWaterMark" ? 1 : 0)) {
        throw new ValidationError(`streams.${name} must be a whole number >= ${name === "highWaterMark" ? 1 : 0}; got ${String(value)}`);
      }
    }
    this.projectId = projectId;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? consoleLogger("warn", `[liveworker:${projectId}]`);
    this.limits = limits;
    this.inspect = options.inspect;
    this.jobMachine = createRuntimeJobMachine((jobId) => this.jobs.get(jobId));
    this.scheduler = new JobScheduler((specName) => this.workers.get(specName));
    this.internals = this.createInternals();
  }

  /** Creates an env. Synchronous; nothing to connect in memory. */
  static create(options: LiveEnvOptions = {}): LiveEnv {
    return new LiveEnv(options);
  }

  /** The process-wide default env, created on first use. Closing it makes the next call create a fresh one. */
  static global(): LiveEnv {
    globalEnv ??= new LiveEnv({ projectId: "global" });
    return globalEnv;
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Jobs not yet final (queued or running). */
  get liveJobCount(): number {
    return this.jobs.size;
  }

  /**
   * Listens to lifecycle events of every job of this env.
   * @returns a function that unsubscribes.
   */
  subscribe(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    for (const job of this.jobs.values()) job.observeWorkers();
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops accepting jobs, gives running jobs `graceMs` to finish, cancels the
   * rest, and resolves when every actor, timer and stream is stopped.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceMs ?? 0);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (globalEnv === this) globalEnv = undefined;
    const jobs = [...this.jobs.values()];
    const all = Promise.allSettled(jobs.map((job) => job.waitUntilFinish()));
    if (graceMs > 0 && jobs.length > 0) {
      let timer: unknown;
      await Promise.race([all, new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, graceMs)))]);
      this.clock.clearTimeout(timer);
    }
    for (const job of [...this.jobs.values()].reverse()) job.cancel("the env is closing");
    await all;
    this.workers.clear();
  }

  /** @internal Registers a worker def; one per spec name. */
  registerWorker(def: AnyLiveWorkerDef): void {
    if (this.closing) throw new EnvClosedError(`Cannot define a worker for "${def.spec.name}": env "${this.projectId}" is closed`);
    if (this.workers.has(def.spec.name)) {
      throw new ConfigurationError(
        `A worker for spec "${def.spec.name}" is already defined in env "${this.projectId}"; define one worker per spec per env (raise its concurrency instead)`,
      );
    }
    this.workers.set(def.spec.name, def);
    this.scheduler.drain(def.spec.name);
  }

  /** @internal Creates and queues a job. */
  createJob(spec: AnyJobSpec, jobId: string, jobOptions: unknown): JobRuntime {
    if (this.closing) throw new EnvClosedError(`Cannot enqueue a job of "${spec.name}": env "${this.projectId}" is closed`);
    if (this.jobs.has(jobId)) {
      throw new ConfigurationError(`Job id "${jobId}" is already in use in env "${this.projectId}"; pass a unique jobId or omit it`);
    }
    const job = new JobRuntime(this.internals, spec, jobId, jobOptions);
    this.jobs.set(jobId, job);
    this.scheduler.enqueue(job);
    return job;
  }

  private createInternals(): EnvInternals {
    const env = this;
    return {
      clock: this.clock,
      logger: this.logger,
      inspect: this.inspect,
      jobMachine: this.jobMachine,
      createStream: (label: string, schema: Schema | undefined, historyLimit?: number) =>
        new DataStream({
          label,
          schema,
          clock: env.clock,
          highWaterMark: env.limits.highWaterMark,
          historyLimit: historyLimit ?? env.limits.historyLimit,
        }),
      jobFinished: (job: JobRuntime) => {
        env.jobs.delete(job.jobId);
        env.scheduler.release(job);
      },
      hasListeners: () => env.listeners.size > 0,
      broadcast: (event: LifecycleEvent) => {
        for (const listener of env.listeners) {
          try {
            listener(event);
          } catch (error) {
            env.logger.error("an env lifecycle listener threw", { error: String(error) });
          }
        }
      },
    };
  }
}
