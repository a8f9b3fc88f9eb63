import { toObserver, type AnyActorLogic, type AnyActorRef, type InspectionEvent, type Observer } from "xstate";
import { checkClock, systemClock, type Clock } from "../clock.js";
import { ConfigurationError, EnvClosedError, ValidationError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys, checkCount, checkDuration, withDefaults } from "../options.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { Schema } from "../schema.js";
import { DataStream, DEFAULT_STREAM_LIMITS, type StreamLimits, type StreamNamer } from "../stream/DataStream.js";
import { JobRuntime } from "../job/JobRuntime.js";
import type { LifecycleEvent, LifecycleListener } from "../job/events.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { JobPlan } from "../job/JobPlan.js";
import type { EnvInternals } from "./internals.js";
import type { InspectorServer, InspectorServerOptions } from "../inspect/server.js";
import { withReadableNames } from "../inspect/readableNames.js";
import { createRuntimeJobMachine } from "./runtimeMachine.js";
import { JobScheduler } from "./JobScheduler.js";
import { NameRegistry } from "./NameRegistry.js";

/**
 * Options of `LiveEnv.create`. Every field has a default, which a field left
 * out or set to `undefined` takes. Unknown keys (here and in `streams`) are a
 * `ConfigurationError`; values out of range a `ValidationError`.
 */
export interface LiveEnvOptions {
  /** Names the env in logs. Default `"default"`. */
  projectId?: string;
  /** Time source for every delay, timeout and timestamp. Default: the system clock. XState's `SimulatedClock` fits. */
  clock?: Clock;
  /** Default: `consoleLogger("warn")`. */
  logger?: Logger;
  /** An XState inspector (observer or function) applied to every job and worker actor. Default: none. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Stream limits: `highWaterMark` a whole number >= 1, `historyLimit` >= 0. Defaults: `DEFAULT_STREAM_LIMITS`. */
  streams?: Partial<StreamLimits>;
  /**
   * Close the env on SIGINT / SIGTERM (with `graceMs` from `shutdownGraceMs`),
   * then re-raise the signal's default exit. Default false.
   */
  handleSignals?: boolean;
  /**
   * Grace given to running jobs when a signal closes the env: whole ms,
   * 0 … 2³¹−1, or `Infinity` to wait for them without limit. Default 5 000 ms.
   */
  shutdownGraceMs?: number;
}

/** Default of `shutdownGraceMs`. */
const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

/** Options of `env.close`. Unknown keys are a `ConfigurationError`. */
export interface CloseOptions {
  /**
   * Time running jobs get to finish before they are cancelled: whole ms,
   * 0 … 2³¹−1, or `Infinity` to wait for them without limit. Default 0
   * (`undefined` too): cancel at once. Anything else is a `ValidationError`.
   */
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
  /** One spec object per spec name, one flow object per flow name. */
  private readonly specNames: NameRegistry;
  private readonly flowNames: NameRegistry;
  private readonly listeners = new Set<LifecycleListener>();
  /** Inspection observers attached after creation (the viewer); empty means no inspection work. */
  private readonly lateInspectors = new Set<(event: InspectionEvent) => void>();
  private readonly jobMachine: AnyActorLogic;
  private closing: Promise<void> | undefined;
  private removeSignalHandlers: (() => void) | undefined;
  /** Internal hooks for job runtimes. */
  readonly internals: EnvInternals;

  private constructor(options: LiveEnvOptions) {
    assertKnownKeys("LiveEnv.create options", options, ["projectId", "clock", "logger", "inspect", "streams", "handleSignals", "shutdownGraceMs"]);
    assertKnownKeys("LiveEnv.create streams", options.streams, ["highWaterMark", "historyLimit"]);
    const projectId = options.projectId === undefined ? "default" : options.projectId;
    assertValidId("projectId", projectId);
    const limits = withDefaults(DEFAULT_STREAM_LIMITS, options.streams);
    checkCount("streams.highWaterMark of LiveEnv.create", limits.highWaterMark, { min: 1 });
    checkCount("streams.historyLimit of LiveEnv.create", limits.historyLimit, { min: 0 });
    const shutdownGraceMs = checkDuration(
      "shutdownGraceMs of LiveEnv.create",
      options.shutdownGraceMs === undefined ? DEFAULT_SHUTDOWN_GRACE_MS : options.shutdownGraceMs,
      { allowInfinity: true },
    );
    if (options.handleSignals !== undefined && typeof options.handleSignals !== "boolean") {
      throw new ValidationError(`handleSignals of LiveEnv.create must be true or false; got ${typeof options.handleSignals}`);
    }
    this.projectId = projectId;
    this.clock = options.clock === undefined ? systemClock : checkClock(options.clock, "clock of LiveEnv.create");
    this.logger = options.logger ?? consoleLogger("warn", `[liveworker:${projectId}]`);
    this.limits = limits;
    this.inspect = options.inspect;
    this.jobMachine = createRuntimeJobMachine((jobId) => this.jobs.get(jobId));
    this.scheduler = new JobScheduler((specName) => this.workers.get(specName));
    this.specNames = new NameRegistry("JobSpec", projectId);
    this.flowNames = new NameRegistry("Liveflow", projectId);
    this.internals = this.createInternals();
    if (options.handleSignals) this.handleSignals(shutdownGraceMs);
  }

  private handleSignals(graceMs: number): void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.logger.info(`received ${signal}: closing env with ${graceMs} ms grace`);
      void this.close({ graceMs }).finally(() => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        process.kill(process.pid, signal);
      });
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    this.removeSignalHandlers = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
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

  /**
   * Serves the offline lifecycle viewer for this env's jobs: a local page with
   * the live list of jobs and workers, the machines as state diagrams, and a
   * timeline of worker states. Bound to 127.0.0.1 unless `host` (with `token`)
   * says otherwise. Works whether or not the env was created with `inspect`.
   *
   * @example
   * const viewer = await env.serveInspector({ port: 4477 });
   * console.log(`viewer at ${viewer.url}`);
   * // … later
   * await viewer.close();
   */
  async serveInspector(options: InspectorServerOptions = {}): Promise<InspectorServer> {
    const { serveEnvInspector } = await import("../inspect/serveEnvInspector.js");
    return serveEnvInspector(this, options);
  }

  /**
   * @internal Sends the XState inspection events of every job, running or to
   * come, to `observer` until `stop()`. Returns the running jobs' root actors
   * so the observer can read their current state.
   */
  observeInspection(observer: (event: InspectionEvent) => void): { roots: AnyActorRef[]; stop: () => void } {
    const jobs = [...this.jobs.values()];
    const subscriptions = jobs.map((job) => job.actor.system.inspect((event) => observer(withReadableNames(event))));
    this.lateInspectors.add(observer);
    return {
      roots: jobs.map((job) => job.actor),
      stop: () => {
        this.lateInspectors.delete(observer);
        for (const subscription of subscriptions) subscription.unsubscribe();
      },
    };
  }

  /** The `inspect` a new job's actor gets: undefined when nobody inspects. */
  private inspectorForNewJob(): LiveEnvOptions["inspect"] {
    if (!this.inspect && this.lateInspectors.size === 0) return undefined;
    const user = this.inspect ? toObserver(this.inspect) : undefined;
    const attached = [...this.lateInspectors];
    return (event: InspectionEvent) => {
      const named = withReadableNames(event);
      user?.next?.(named);
      // A viewer closed since this job started is skipped.
      for (const observer of attached) if (this.lateInspectors.has(observer)) observer(named);
    };
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
    let graceMs: number;
    try {
      assertKnownKeys("close options", options, ["graceMs"]);
      graceMs = checkDuration("graceMs of close", options.graceMs === undefined ? 0 : options.graceMs, { allowInfinity: true });
    } catch (error) {
      // Bad options close nothing.
      return Promise.reject(error);
    }
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (globalEnv === this) globalEnv = undefined;
    const jobs = [...this.jobs.values()];
    const all = Promise.allSettled(jobs.map((job) => job.waitUntilFinish()));
    if (graceMs === Infinity) await all; // no limit: no timer either
    else if (graceMs > 0 && jobs.length > 0) {
      let timer: unknown;
      await Promise.race([all, new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, graceMs)))]);
      this.clock.clearTimeout(timer);
    }
    for (const job of [...this.jobs.values()].reverse()) job.cancel("the env is closing");
    await all;
    this.workers.clear();
    this.removeSignalHandlers?.();
  }

  /** @internal Registers a worker def; one per spec name. */
  registerWorker(def: AnyLiveWorkerDef): void {
    if (this.closing) throw new EnvClosedError(`Cannot define a worker for "${def.spec.name}": env "${this.projectId}" is closed`);
    this.specNames.check(def.spec);
    if (this.workers.has(def.spec.name)) {
      throw new ConfigurationError(
        `A worker for spec "${def.spec.name}" is already defined in env "${this.projectId}"; define one worker per spec per env (raise its concurrency instead)`,
      );
    }
    this.specNames.claim(def.spec);
    this.workers.set(def.spec.name, def);
    this.scheduler.drainAll();
  }

  /** @internal The worker def of a spec in this env, if defined. */
  workerFor(specName: string): AnyLiveWorkerDef | undefined {
    return this.workers.get(specName);
  }

  /** @internal Creates and queues a job. `jobOptions`: node key → validated options. */
  createJob(plan: JobPlan, jobId: string, jobOptions: ReadonlyMap<string, unknown>): JobRuntime {
    if (this.closing) throw new EnvClosedError(`Cannot enqueue a job of "${plan.name}": env "${this.projectId}" is closed`);
    if (this.jobs.has(jobId)) {
      throw new ConfigurationError(`Job id "${jobId}" is already in use in env "${this.projectId}"; pass a unique jobId or omit it`);
    }
    for (const { spec } of plan.nodes) this.specNames.check(spec);
    if (plan.flow) this.flowNames.check(plan.flow);
    for (const { spec } of plan.nodes) this.specNames.claim(spec);
    if (plan.flow) this.flowNames.claim(plan.flow);
    const job = new JobRuntime(this.internals, plan, jobId, jobOptions);
    this.jobs.set(jobId, job);
    this.scheduler.enqueue(job);
    return job;
  }

  private createInternals(): EnvInternals {
    const env = this;
    return {
      clock: this.clock,
      logger: this.logger,
      get inspect() {
        return env.inspectorForNewJob();
      },
      jobMachine: this.jobMachine,
      createStream: (label: string | StreamNamer, schema: Schema | undefined, role: "input" | "output") =>
        new DataStream({
          label,
          schema,
          // Inputs keep only unacknowledged messages (their acknowledged cursor pins them),
          // and nobody reads their timestamps.
          clock: role === "output" ? env.clock : undefined,
          highWaterMark: env.limits.highWaterMark,
          historyLimit: role === "output" ? env.limits.historyLimit : 0,
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
