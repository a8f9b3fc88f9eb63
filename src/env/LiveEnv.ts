import { toObserver, type AnyActorLogic, type AnyActorRef, type InspectionEvent, type Observer } from "xstate";
import { checkClock, systemClock, type Clock } from "../clock.js";
import { ConfigurationError, EnvClosedError, ValidationError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys, checkCount, checkDuration, withDefaults } from "../options.js";
import { assertLogger, consoleLogger, guardLogger, type Logger } from "../logger.js";
import type { Schema } from "../schema.js";
import { DataStream, DEFAULT_STREAM_LIMITS, type StreamLimits, type StreamNamer } from "../stream/DataStream.js";
import { JobRuntime } from "../job/JobRuntime.js";
import type { LifecycleEvent, LifecycleListener } from "../backend/events.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { JobPlan } from "../job/JobPlan.js";
import type { EnvInternals } from "./internals.js";
import type { InspectorServer, InspectorServerOptions } from "../inspect/server.js";
import { toInspectable } from "../inspect/inspectable.js";
import { createRuntimeJobMachine } from "./runtimeMachine.js";
import { JobScheduler } from "./JobScheduler.js";
import { CallbackGuard } from "./CallbackGuard.js";
import { closeOnSignals } from "./signals.js";
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
  /**
   * Default: `consoleLogger("warn")`. Must have `debug`, `info`, `warn` and
   * `error` (else `ConfigurationError`); a method that throws is ignored
   * (reported once on `console.error`), never breaking a job.
   */
  logger?: Logger;
  /**
   * An XState inspector (observer or function) applied to every job and
   * worker actor. Default: none. What it throws is logged once and ignored.
   * It sees worker actors as `worker:<name>/<jobId>` and errors as plain
   * objects (`{ name, message, code, cause }`).
   */
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
  private readonly inspect: ((event: InspectionEvent) => void) | undefined;
  private readonly guard: CallbackGuard;
  /** Work that outlives its job's final status (a worker's `dispose`): `close()` waits for it. */
  private readonly lingering = new Set<Promise<unknown>>();
  private readonly workers = new Map<string, AnyLiveWorkerDef>();
  private readonly jobs = new Map<string, JobRuntime>();
  private readonly scheduler: JobScheduler;
  /** One spec object per spec name, one flow object per flow name. */
  private readonly specNames: NameRegistry;
  private readonly flowNames: NameRegistry;
  private readonly listeners = new Set<LifecycleListener>();
  /** Inspection observers attached after creation (the viewer); empty means no inspection work. */
  private readonly lateInspectors = new Set<(event: InspectionEvent) => void>();
  /** Viewers opened by `serveInspector` and not yet closed; `close()` closes them so the process can exit. */
  private readonly viewers = new Set<InspectorServer>();
  private readonly jobMachine: AnyActorLogic;
  private closing: Promise<void> | undefined;
  private removeSignalHandlers: (() => void) | undefined;
  /** Job ids of `enqueueJob` calls still validating: taken, so two calls cannot both get one. */
  private readonly reservedIds = new Set<string>();
  /** Refusers of the `enqueueJob` calls still validating: `close()` rejects them (a validation may never end). */
  private readonly pendingEnqueues = new Set<(error: unknown) => void>();
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
    if (options.logger !== undefined) assertLogger(options.logger, "logger of LiveEnv.create");
    this.logger = guardLogger(options.logger ?? consoleLogger("warn", `[liveworker:${projectId}]`));
    this.guard = new CallbackGuard(this.logger);
    this.limits = limits;
    this.inspect = userInspector(options.inspect, this.guard);
    this.jobMachine = createRuntimeJobMachine((jobId) => this.jobs.get(jobId));
    this.scheduler = new JobScheduler((specName) => this.workers.get(specName));
    this.specNames = new NameRegistry("JobSpec", projectId);
    this.flowNames = new NameRegistry("Liveflow", projectId);
    this.internals = this.createInternals();
    if (options.handleSignals) this.removeSignalHandlers = closeOnSignals(this, shutdownGraceMs);
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
   * `env.close()` closes it too.
   *
   * @throws ConfigurationError for an unknown option key, or a host beyond loopback without `token`.
   * @throws ValidationError for a bad option value (nothing is opened).
   * @throws EnvClosedError once the env is closing.
   *
   * @example
   * const viewer = await env.serveInspector({ port: 4477 });
   * console.log(`viewer at ${viewer.url}`);
   * // … later (or let env.close() do it)
   * await viewer.close();
   */
  async serveInspector(options: InspectorServerOptions = {}): Promise<InspectorServer> {
    const closedError = () => new EnvClosedError(`Cannot serve the inspector viewer: env "${this.projectId}" is closed`);
    if (this.closing) throw closedError();
    const { serveEnvInspector } = await import("../inspect/serveEnvInspector.js");
    const server = await serveEnvInspector(this, options);
    // close() began while the viewer was starting: it would never be closed.
    if (this.closing) {
      await server.close();
      throw closedError();
    }
    const viewer: InspectorServer = {
      url: server.url,
      close: () => {
        this.viewers.delete(viewer);
        return server.close();
      },
    };
    this.viewers.add(viewer);
    return viewer;
  }

  /**
   * @internal Sends the XState inspection events of every job, running or to
   * come, to `observer` until `stop()`. Returns the running jobs' root actors
   * so the observer can read their current state.
   */
  observeInspection(observer: (event: InspectionEvent) => void): { roots: AnyActorRef[]; stop: () => void } {
    const jobs = [...this.jobs.values()];
    const guarded = (event: InspectionEvent) => this.guard.call(observer, toInspectable(event), "an inspection observer");
    const subscriptions = jobs.map((job) => job.actor.system.inspect(guarded));
    this.lateInspectors.add(observer);
    return {
      roots: jobs.map((job) => job.actor),
      stop: () => {
        this.lateInspectors.delete(observer);
        for (const subscription of subscriptions) subscription.unsubscribe();
      },
    };
  }

  /** The `inspect` a new job's actor gets: undefined when nobody inspects. Never throws. */
  private inspectorForNewJob(): ((event: InspectionEvent) => void) | undefined {
    if (!this.inspect && this.lateInspectors.size === 0) return undefined;
    const user = this.inspect;
    const attached = [...this.lateInspectors];
    return (event: InspectionEvent) => {
      const inspectable = toInspectable(event);
      user?.(inspectable);
      // A viewer closed since this job started is skipped.
      for (const observer of attached) {
        if (this.lateInspectors.has(observer)) this.guard.call(observer, inspectable, "an inspection observer");
      }
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
    if (typeof listener !== "function") {
      throw new ConfigurationError(`env.subscribe takes a function (event) => void; got ${listener === null ? "null" : typeof listener}`);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops accepting jobs, gives running jobs `graceMs` to finish, cancels the
   * rest, closes the viewers `serveInspector` opened, and resolves when every
   * actor, timer, stream and viewer is stopped.
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
    for (const refuse of [...this.pendingEnqueues]) refuse(new EnvClosedError(`env "${this.projectId}" closed while the job's options were validated`));
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
    // A worker's dispose may still run after its job's final status (bounded by its stopMs).
    while (this.lingering.size > 0) await Promise.allSettled([...this.lingering]);
    this.workers.clear();
    this.removeSignalHandlers?.();
    await Promise.all([...this.viewers].map((viewer) => viewer.close()));
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

  /**
   * @internal Takes a job's place in its queue, and its id, before its
   * options are validated (which may be async): jobs start in the order
   * `enqueueJob` was called. Then `create` (with the validated options) or
   * `cancel` (nothing changes).
   *
   * @throws EnvClosedError when the env is closing; ConfigurationError when the id is taken.
   */
  reserveJob(plan: JobPlan, jobId: string): JobReservation {
    this.assertAccepting(plan);
    if (this.jobs.has(jobId) || this.reservedIds.has(jobId)) {
      throw new ConfigurationError(`Job id "${jobId}" is already in use in env "${this.projectId}"; pass a unique jobId or omit it`);
    }
    this.checkNames(plan);
    this.reservedIds.add(jobId);
    const entry = this.scheduler.reserve(plan.queueKey);
    let open = true;
    let refuse!: (error: unknown) => void;
    const closed = new Promise<never>((_, reject) => (refuse = reject));
    closed.catch(() => {});
    this.pendingEnqueues.add(refuse);
    const end = () => {
      if (!open) return false;
      open = false;
      this.reservedIds.delete(jobId);
      this.pendingEnqueues.delete(refuse);
      return true;
    };
    return {
      untilClosed: (work) => Promise.race([work, closed]),
      create: (jobOptions) => {
        if (!open) throw new Error(`internal: the reservation of job "${jobId}" was used twice`);
        let job: JobRuntime;
        try {
          this.assertAccepting(plan);
          // Checked again: another object of one of these names may have come while options validated.
          this.checkNames(plan);
          for (const { spec } of plan.nodes) this.specNames.claim(spec);
          if (plan.flow) this.flowNames.claim(plan.flow);
          job = new JobRuntime(this.internals, plan, jobId, jobOptions);
        } catch (error) {
          end();
          this.scheduler.drop(entry);
          throw error;
        }
        // Registered before any user code runs: the id stays taken, and close() sees the job.
        this.jobs.set(jobId, job);
        end();
        entry.job = job;
        job.announce();
        // A listener of `queued` may have closed the env (the job is then cancelled) or cancelled it.
        this.scheduler.drain(entry.queueKey);
        return job;
      },
      cancel: () => {
        if (end()) this.scheduler.drop(entry);
      },
    };
  }

  /** Throws `ConfigurationError` when a spec or flow of the plan is another object than the one of its name already used in this env. */
  private checkNames(plan: JobPlan): void {
    for (const { spec } of plan.nodes) this.specNames.check(spec);
    if (plan.flow) this.flowNames.check(plan.flow);
  }

  private assertAccepting(plan: JobPlan): void {
    if (this.closing) throw new EnvClosedError(`Cannot enqueue a job of "${plan.name}": env "${this.projectId}" is closed`);
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
      startWaitingJobs: (job: JobRuntime) => env.scheduler.drain(job.plan.queueKey),
      broadcast: (event: LifecycleEvent) => {
        if (env.listeners.size === 0) return;
        // A listener subscribed while this event is delivered gets the events after it, not this one.
        for (const listener of [...env.listeners]) env.guard.call(listener, event, "an env lifecycle listener");
      },
      callListener: (listener: LifecycleListener, event: LifecycleEvent) => env.guard.call(listener, event, "a job lifecycle listener"),
      track: (work: Promise<unknown>) => {
        const settled: Promise<unknown> = work.then(
          () => env.lingering.delete(settled),
          () => env.lingering.delete(settled),
        );
        env.lingering.add(settled);
      },
    };
  }
}

/** A job's place in its queue while its options validate: see `LiveEnv.reserveJob`. */
export interface JobReservation {
  /** `work`, or a rejection with `EnvClosedError` as soon as the env closes (a validation that never ends must not hang the caller). */
  untilClosed<T>(work: Promise<T>): Promise<T>;
  /** Creates the job in its place. `jobOptions`: node key → validated options. */
  create(jobOptions: ReadonlyMap<string, unknown>): JobRuntime;
  /** Gives the place and the id back. */
  cancel(): void;
}

/**
 * The user's `inspect` as a function that never throws (a throw is reported
 * once). A value that is neither a function nor an observer is a `ConfigurationError`.
 */
function userInspector(inspect: LiveEnvOptions["inspect"], guard: CallbackGuard): ((event: InspectionEvent) => void) | undefined {
  if (inspect === undefined) return undefined;
  const isObserver = typeof inspect === "object" && inspect !== null && typeof (inspect as Observer<InspectionEvent>).next === "function";
  if (typeof inspect !== "function" && !isObserver) {
    throw new ConfigurationError(
      `inspect of LiveEnv.create must be a function (event) => void or an observer { next(event) }; got ${inspect === null ? "null" : typeof inspect}`,
    );
  }
  const observer = toObserver(inspect);
  const next = (event: InspectionEvent) => observer.next?.(event);
  return (event) => guard.call(next, event, "the inspect observer");
}
