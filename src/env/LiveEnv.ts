import { type InspectionEvent, type Observer } from "xstate";
import { checkClock, systemClock, type Clock } from "../clock.js";
import { ConfigurationError, EnvClosedError, ValidationError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys, checkCount, checkDuration, withDefaults } from "../options.js";
import { assertLogger, consoleLogger, guardLogger, type Logger } from "../logger.js";
import { rejectOnThrow } from "../thenable.js";
import { DEFAULT_STREAM_LIMITS, type Backend, type StreamKey, type StreamLimits } from "../backend/Backend.js";
import { createDefaultBackend } from "../backend/defaultBackend.js";
import { stampNow } from "../stream/stampClock.js";
import type { LifecycleListener } from "../backend/events.js";
import type { JobPlan } from "../job/JobPlan.js";
import type { LiveJob } from "../job/LiveJob.js";
import type { RuntimeServices } from "../job/RuntimeServices.js";
import { createRuntimeJobMachine } from "../job/runtimeMachine.js";
import type { SpecShape } from "../spec/types.js";
import type { WorkerDefinition } from "../worker/options.js";
import type { InspectorServer, InspectorServerOptions } from "../inspect/server.js";
import { CallbackGuard } from "./CallbackGuard.js";
import { checkBackend, claimBackend } from "./backendClaim.js";
import { userInspector } from "./userInspector.js";
import { EnvClient } from "./EnvClient.js";
import { EnvRunner } from "./EnvRunner.js";
import { EnvInspection } from "./EnvInspection.js";
import { viewerSource } from "./viewerSource.js";
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
   * Where jobs, their data and their events live. Default: a fresh
   * `memoryBackend()` (in this process, nothing to set up). A backend serves
   * one env: giving one to a second env (even after the first closed), or a
   * wrapper that shares its parts, is a `ConfigurationError`. `env.close()` closes it.
   */
  backend?: Backend;
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
  private readonly backend: Backend;
  /** The user's `inspect` and the viewers attached later. */
  private readonly inspection: EnvInspection;
  private readonly guard: CallbackGuard;
  /** Work that outlives its job's final status (a worker's `dispose`): `close()` waits for it. */
  private readonly lingering = new Set<Promise<unknown>>();
  /** One spec object per spec name, one flow object per flow name. */
  private readonly specNames: NameRegistry;
  private readonly flowNames: NameRegistry;
  /** Viewers opened by `serveInspector` and not yet closed; `close()` closes them so the process can exit. */
  private readonly viewers = new Set<InspectorServer>();
  private closing: Promise<void> | undefined;
  private removeSignalHandlers: (() => void) | undefined;
  /** The jobs this env adds, and their handles. */
  private readonly client: EnvClient;
  /** The jobs this env runs. */
  private readonly runner: EnvRunner;

  private constructor(options: LiveEnvOptions) {
    assertKnownKeys("LiveEnv.create options", options, ["projectId", "clock", "logger", "inspect", "streams", "backend", "handleSignals", "shutdownGraceMs"]);
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
    this.backend = options.backend === undefined ? createDefaultBackend() : checkBackend(options.backend);
    const inspect = userInspector(options.inspect, this.guard);
    this.specNames = new NameRegistry("JobSpec", projectId);
    this.flowNames = new NameRegistry("Liveflow", projectId);
    // Outputs are stamped by the env's clock; inputs carry 0. One options object each per env, not per stream.
    // The system clock stamps through stampNow (a reading stamps a few messages under load); any other clock is read per message.
    const outputOptions = { ...this.limits, now: this.clock === systemClock ? stampNow : () => this.clock.now() };
    const openStream = (key: StreamKey) => this.backend.streams.open(key, key.role === "output" ? outputOptions : this.limits);
    const guarded = (listener: LifecycleListener, what: string): LifecycleListener => (event) => this.guard.call(listener, event, what);
    this.client = new EnvClient(this.backend, this.clock, openStream, guarded, projectId);
    this.runner = new EnvRunner(this.backend, this.runtimeServices(openStream));
    this.inspection = new EnvInspection(inspect, this.guard, this.runner, this.backend);
    if (options.handleSignals) this.removeSignalHandlers = closeOnSignals(this, shutdownGraceMs);
    // Last: an env refused for a bad option leaves the backend free.
    claimBackend(this.backend, projectId);
    this.backend.bind?.({ projectId, logger: this.logger });
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
    const server = await serveEnvInspector(viewerSource(this.clock, this.logger, this.client, this.inspection, this.runner), options);
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

  /** Jobs this env added that are not final yet (queued or running). */
  get liveJobCount(): number {
    return this.client.liveCount;
  }

  /**
   * Listens to lifecycle events of every job of this env.
   * @returns a function that unsubscribes.
   */
  subscribe(listener: LifecycleListener): () => void {
    if (typeof listener !== "function") {
      throw new ConfigurationError(`env.subscribe takes a function (event) => void; got ${listener === null ? "null" : typeof listener}`);
    }
    return this.backend.events.subscribe((event) => this.guard.call(listener, event, "an env lifecycle listener"));
  }

  /**
   * Stops accepting jobs, gives running jobs `graceMs` to finish, then ends
   * the rest, closes the viewers `serveInspector` opened, and resolves when
   * every actor, timer, stream and viewer is stopped. On the memory backend
   * the rest are the jobs this env added, and they are cancelled. On a shared
   * backend (Redis) this process stops taking jobs at once; the jobs running
   * here after `graceMs` are released, not cancelled (another process
   * resumes them from their acknowledged input), and jobs this env added
   * that run elsewhere go on. `job.cancel()` is what cancels.
   */
  close(options: CloseOptions = {}): Promise<void> {
    return rejectOnThrow(() => {
      // Checked first: bad options close nothing.
      assertKnownKeys("close options", options, ["graceMs"]);
      const graceMs = checkDuration("graceMs of close", options.graceMs === undefined ? 0 : options.graceMs, { allowInfinity: true });
      return (this.closing ??= this.shutdown(graceMs));
    });
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (globalEnv === this) globalEnv = undefined;
    this.client.close();
    if (this.backend.shared) await this.releaseJobs(graceMs);
    else await this.cancelJobs(graceMs);
    // A worker's dispose may still run after its job's final status (bounded by its stopMs).
    while (this.lingering.size > 0) await Promise.allSettled([...this.lingering]);
    this.removeSignalHandlers?.();
    await Promise.all([...this.viewers].map((viewer) => viewer.close()));
    if (this.backend.shared) this.client.stopFollowing();
    await this.backend.close();
  }

  /** Waits up to `graceMs` for the jobs running here, then releases the rest (a shared backend: jobs outlive this process). */
  private async releaseJobs(graceMs: number): Promise<void> {
    this.runner.stopConsuming();
    const idle = this.runner.whenIdle();
    if (graceMs === Infinity) await idle;
    else if (graceMs > 0) await this.within(idle, graceMs);
    this.runner.releaseAll();
  }

  /** Resolves when `work` settles or `ms` passed (by the env's clock), whichever is first. */
  private async within(work: Promise<unknown>, ms: number): Promise<void> {
    let timer: unknown;
    await Promise.race([work, new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, ms)))]);
    this.clock.clearTimeout(timer);
  }

  /** Gives the jobs this env added `graceMs` to finish, then cancels the rest (jobs live and die with the env). */
  private async cancelJobs(graceMs: number): Promise<void> {
    const outcomes = this.client.outcomes();
    const all = Promise.allSettled(outcomes);
    if (graceMs === Infinity) await all; // no limit: no timer either
    else if (graceMs > 0 && outcomes.length > 0) await this.within(all, graceMs);
    // No job starts once the grace is over: every one left is cancelled, newest first.
    this.runner.stopConsuming();
    await this.client.cancelAll("the env is closing");
    await Promise.allSettled(this.client.outcomes());
    await all;
  }

  /**
   * @internal Serves a spec's jobs in this env with `def`; one per spec name.
   *
   * @throws EnvClosedError once closing; ConfigurationError for a second def of the spec, or another spec object of its name.
   */
  registerWorker(spec: SpecShape, def: WorkerDefinition): void {
    if (this.closing) throw new EnvClosedError(`Cannot define a worker for "${spec.name}": env "${this.projectId}" is closed`);
    this.specNames.check(spec);
    if (this.runner.worker(spec.name)) {
      throw new ConfigurationError(
        `A worker for spec "${spec.name}" is already defined in env "${this.projectId}"; define one worker per spec per env (raise its concurrency instead)`,
      );
    }
    this.specNames.claim(spec);
    this.runner.addWorker({ spec, def });
  }

  /**
   * @internal Creates a job of `plan`: its id and its place in its queue are
   * taken now, its options validated (which may be async), and jobs start in
   * the order this was called.
   *
   * @throws EnvClosedError when the env closes first; ConfigurationError when the id is taken or a name belongs to another object; what `validate` throws.
   */
  enqueue(plan: JobPlan, jobId: string, validate: () => Promise<ReadonlyMap<string, unknown>> | ReadonlyMap<string, unknown>): Promise<LiveJob> {
    return this.client.enqueue({
      plan,
      jobId,
      validate,
      check: () => {
        for (const { spec } of plan.nodes) this.specNames.check(spec);
        if (plan.flow) this.flowNames.check(plan.flow);
      },
      added: () => {
        for (const { spec } of plan.nodes) this.specNames.claim(spec);
        if (plan.flow) {
          this.flowNames.claim(plan.flow);
          this.runner.addFlow(plan);
        }
      },
    });
  }

  /**
   * @internal The handle of an existing job of `plan` (added by any process
   * sharing this env's backend), or undefined when there is no job of that id.
   *
   * @throws ConfigurationError (a rejection) when the job belongs to another spec or flow.
   */
  findJob(plan: JobPlan, jobId: string): Promise<LiveJob | undefined> {
    return this.client.find(plan, jobId);
  }

  private runtimeServices(openStream: (key: StreamKey) => ReturnType<Backend["streams"]["open"]>): RuntimeServices {
    const env = this;
    return {
      clock: this.clock,
      logger: this.logger,
      get inspect() {
        return env.inspection.forNewJob();
      },
      jobMachine: createRuntimeJobMachine((jobId) => env.runner.job(jobId)),
      openStream,
      commitState: (jobId, node, consumers, state, guard) => env.backend.streams.commit(jobId, node, consumers, state, guard),
      publish: (event) => env.backend.events.publish(event),
      jobFinished: (job) => env.runner.finished(job),
      forget: (jobId) => {
        env.backend.streams.dispose(jobId);
        env.backend.events.dispose(jobId);
      },
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
