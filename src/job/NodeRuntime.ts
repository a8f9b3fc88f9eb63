import { describeError, serializeError } from "../errors.js";
import type { AttemptInput } from "../../machines/worker.js";
import { childLogger, type Logger } from "../logger.js";
import type { DisposeOutcome, InitContext, WorkerDefinition } from "../worker/options.js";
import { withAttemptAccessors, withProcessorAccessors } from "../worker/attemptContext.js";
import { StreamWriter } from "../stream/StreamWriter.js";
import type { InputChannel } from "../stream/InputChannel.js";
import { Attempt } from "../worker/Attempt.js";
import { reportDone, reportFailed, type AttemptRun, type PhaseReport } from "./attemptActor.js";
import { PortMap, tagsOf } from "./PortMap.js";
import { createProcessorInput } from "../worker/processorInput.js";
import { createProcessorOutput } from "../worker/processorOutput.js";
import type { SpecShape } from "../spec/types.js";
import type { RuntimeServices } from "./RuntimeServices.js";
import { WorkerState, type AttemptState } from "../worker/WorkerState.js";
import { ConfigurationError } from "../errors.js";
import { within } from "./within.js";

/** Receives a processor's `progress(value)` calls (the job runtime). */
export interface ProgressSink {
  readonly plan: { readonly name: string };
  progress(workerName: string, value: unknown): void;
  /** What the job's lease still has to store (restart history, attempts) before user code of an attempt runs; undefined: nothing. */
  recorded(): Promise<void> | undefined;
  /** The state node `key`'s worker committed under an earlier holder of the job (`JobLease.states`), if any. */
  restoredState(key: string): { value: unknown } | undefined;
}

const ignore = () => {};
/** The phase of an attempt that failed before it began: nothing to abandon. */
const NO_PHASE: AttemptRun = { abandonPhase: ignore };
/** `state()` of a worker without `initialState`. */
const noState = (): undefined => undefined;
/** `updateState` of a worker without `initialState` (one function for all: no closure per attempt). */
const statelessUpdate = (): never => {
  throw new ConfigurationError(
    "updateState was called in a worker that keeps no state; give its defineWorker an initialState: () => the state a job starts from (README, Stateful workers)",
  );
};
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * One worker of a job at run time: its input channels and output writers
 * (whose streams outlive attempts), and the attempt now running.
 */
export class NodeRuntime {
  readonly inputs: PortMap<InputChannel>;
  /** This node's writers of its output streams: the processor's emits go through them. */
  readonly outputs: PortMap<StreamWriter>;
  def: WorkerDefinition | undefined;
  /** The user code now running (init or processor): a stopping worker waits for it. */
  private running: Promise<unknown> | undefined;
  /** The attempt of the worker's current run (init and processor). */
  private current: Attempt | undefined;
  private pendingFailure: { error: unknown } | undefined;
  /** The last attempt's `dispose`, while it runs: the next attempt starts after it. */
  private disposing: Promise<void> | undefined;
  /** A stateful worker's state in this job, made at its first attempt. */
  private state: WorkerState | undefined;

  constructor(
    private readonly env: RuntimeServices,
    readonly key: string,
    readonly spec: SpecShape,
    private readonly jobId: string,
    private readonly jobOptions: unknown,
    private readonly job: ProgressSink,
  ) {
    const inputTags = tagsOf(spec.inputSchemas);
    const outputTags = tagsOf(spec.outputSchemas);
    this.inputs = new PortMap(
      inputTags,
      inputTags.map((tag) => ({ tag, stream: env.openStream({ jobId, node: key, tag, role: "input", specName: spec.name }) })),
    );
    this.outputs = new PortMap(
      outputTags,
      outputTags.map(
        (tag) => new StreamWriter(env.openStream({ jobId, node: key, tag, role: "output", specName: spec.name }), spec.outputSchemas[tag]),
      ),
    );
  }

  /**
   * Fails the running attempt now, or the next one as soon as it starts
   * (used when data routed to this node is invalid).
   */
  fail(error: unknown): void {
    if (this.current && !this.current.fenced) this.current.fail(error);
    else this.pendingFailure = { error };
  }

  /**
   * Runs `init` of one attempt (a worker without `init` never enters
   * `initializing`). The attempt made here is the one the processor runs in:
   * `init` and the processor share one `signal`. It starts once the previous
   * attempt's `dispose` has finished.
   */
  initialize(input: AttemptInput, report: PhaseReport): AttemptRun {
    const def = this.requireDef();
    const attempt = this.beginAttempt(input, def);
    const previous = this.disposing;
    const run = async (): Promise<void> => {
      if (previous) await previous;
      // The attempt is counted where the job is kept before init runs (a process dying in init must not repeat it).
      const recorded = this.job.recorded();
      if (recorded) await recorded;
      attempt.assertLive();
      const pending = Promise.resolve().then(() => def.init?.(this.initContext(attempt)));
      this.running = attempt.running = attempt.pendingInit = pending;
      let resources: unknown;
      try {
        resources = await pending;
      } catch (error) {
        if (!attempt.fenced) this.logFailure(attempt, "init", error);
        // Work the failed init left behind sees its signal abort.
        attempt.abandon();
        throw error;
      }
      if (attempt.fenced) {
        // Abandoned while init ran (init timeout, stop): what it returned late is disposed of at once.
        this.env.track(this.runDispose(attempt, resources, "abandoned", false));
        attempt.assertLive();
      }
      attempt.resources = resources;
      attempt.initialized = true;
    };
    run().then(
      () => reportDone(report),
      (error: unknown) => reportFailed(report, error),
    );
    return attempt;
  }

  /**
   * Runs the processor of one attempt and reports to `report` how the
   * attempt settled (no suspended function per running job): when the
   * processor settles, or as soon as the attempt fails from outside it
   * (stall, invalid emit).
   */
  execute(input: AttemptInput, report: PhaseReport): AttemptRun {
    let attempt: Attempt;
    let inputs: ReturnType<typeof createProcessorInput>;
    let run: Promise<unknown>;
    try {
      const def = this.requireDef();
      const started = this.current;
      // A worker with init made this attempt in `initialize`; one without starts it here.
      attempt = started && started.number === input.attempt && started.initialized ? started : this.beginAttempt(input, def);
      attempt.initialized = true;
      if (this.pendingFailure) {
        const { error } = this.pendingFailure;
        this.pendingFailure = undefined;
        throw error;
      }
      // A stateful worker's attempt starts from the last committed state; what `initialState` throws fails it.
      let state: AttemptState | undefined;
      let stateFailed: { error: unknown } | undefined;
      if (def.initialState) {
        try {
          state = this.stateOf(def.initialState).begin(attempt);
        } catch (error) {
          stateFailed = { error };
        }
      }
      inputs = createProcessorInput(this.spec.name, this.inputs, attempt, state);
      const output = createProcessorOutput(this.spec.name, this.outputs, attempt);
      attempt.startWatchdog();
      const current = attempt;
      const context = withProcessorAccessors(
        {
          jobId: this.jobId,
          jobOptions: this.jobOptions,
          attempt: current.number,
          input: inputs.input as never,
          output: output as never,
          resources: attempt.resources,
          state: state ? state.get : noState,
          updateState: state ? state.update : statelessUpdate,
        },
        current,
      );
      // A worker without init waits here for the previous attempt's dispose.
      const previous = started === attempt ? undefined : this.disposing;
      const start = (): unknown => {
        current.assertLive();
        if (stateFailed) throw stateFailed.error;
        return def.processor(context);
      };
      // And for the attempt to be counted where the job is kept (a process dying as the processor starts must not repeat it).
      run = (previous ?? RESOLVED).then(() => {
        const recorded = this.job.recorded();
        return recorded ? recorded.then(start) : start();
      });
      this.running = attempt.running = run;
    } catch (error) {
      void RESOLVED.then(() => reportFailed(report, error));
      return NO_PHASE;
    }
    this.watchProcessor(attempt, run, inputs, report);
    return attempt;
  }

  /** Settles the attempt once: when its processor settles, or when it fails from outside the processor first (stall, invalid emit). */
  private watchProcessor(attempt: Attempt, run: Promise<unknown>, inputs: { acknowledgeAll(): void }, report: PhaseReport): void {
    const failed = (error: unknown): void => this.settleAttempt(attempt, inputs, report, { error });
    run.then(() => this.settleAttempt(attempt, inputs, report, undefined), failed);
    attempt.watchFailures(failed);
  }

  /** Completes or fails the attempt, then reports how it ended (after its dispose, when it has one to wait for). */
  private settleAttempt(attempt: Attempt, inputs: { acknowledgeAll(): void }, report: PhaseReport, failure: { error: unknown } | undefined): void {
    if (attempt.settled) return;
    attempt.settled = true;
    let ending: void | Promise<void>;
    try {
      ending = failure ? this.failAttempt(attempt, failure.error) : this.completeAttempt(attempt, inputs);
    } catch (error) {
      reportFailed(report, error);
      return;
    }
    if (ending) {
      ending.then(
        () => reportDone(report),
        (error: unknown) => reportFailed(report, error),
      );
    } else reportDone(report);
  }

  /** The worker's state in this job, made once (from an earlier holder's commit when the job resumed here). */
  private stateOf(initialState: () => unknown): WorkerState {
    return (this.state ??= new WorkerState(
      `worker "${this.key}" of job "${this.jobId}"`,
      initialState,
      this.spec.stateSchema,
      (consumers, value, guard) => this.env.commitState(this.jobId, this.key, consumers, value, guard),
      this.job.restoredState(this.key),
    ));
  }

  /**
   * The processor returned: acknowledge its input; downstream readers (and
   * flow wires) see the end once the emits it already called are appended;
   * its inputs close, so wires into it stop instead of filling up and
   * blocking upstream; then `dispose`. Synchronous unless something is left
   * to wait for (a queued emit, a dispose).
   */
  private completeAttempt(attempt: Attempt, inputs: { acknowledgeAll(): void }): void | Promise<void> {
    attempt.returned = true;
    // Emits the processor called without awaiting are appended (or refused) first: an
    // invalid one fails the attempt even though the processor returned.
    let writes: Promise<void>[] | undefined;
    for (const writer of this.outputs.values()) {
      const settled = writer.settled();
      if (settled) (writes ??= []).push(settled);
    }
    const finish = (): void | Promise<void> => {
      try {
        if (attempt.failure) throw attempt.failure.error;
        attempt.assertLive();
        inputs.acknowledgeAll();
        const finished = `worker "${this.key}" of job "${this.jobId}" is done`;
        for (const writer of this.outputs.values()) void writer.end(finished);
        for (const { stream } of this.inputs.values()) stream.end(finished);
      } catch (error) {
        return this.failAttempt(attempt, error);
      }
      attempt.stopWatchdog();
      return this.endAttempt(attempt, "done");
    };
    return writes ? Promise.all(writes).then(finish) : finish();
  }

  /** The attempt failed (or was abandoned from outside): fence it, log it, dispose, and reject with `error`. */
  private failAttempt(attempt: Attempt, error: unknown): Promise<never> | never {
    const abandonedFirst = attempt.fenced;
    attempt.abandon();
    attempt.stopWatchdog();
    // An attempt abandoned from outside (stop, a sibling's restart) did not fail on its own.
    if (!abandonedFirst) this.logFailure(attempt, "processor", error);
    const disposal = this.endAttempt(attempt, abandonedFirst ? "abandoned" : "failed");
    if (!disposal) throw error;
    return disposal.then(() => {
      throw error;
    });
  }

  private beginAttempt(input: AttemptInput, def: WorkerDefinition): Attempt {
    const attempt = new Attempt(input.workerName, input.attempt, this.env.clock, def.timeouts.heartbeatMs, this);
    this.current = attempt;
    return attempt;
  }

  /** @internal `AttemptOwner`: the worker left the attempt's state while it ran (stop, restart, timeout): fence it, then dispose. */
  abandonAttempt(attempt: Attempt): void {
    attempt.abandon();
    const init = attempt.pendingInit;
    if (!attempt.initialized && init && this.def?.dispose) {
      // Abandoned while init runs: `env.close()` waits (up to stopMs) for what it may still return, to dispose of it.
      this.env.track(within(init, this.def.timeouts.stopMs, this.env.clock));
    }
    void this.endAttempt(attempt, "abandoned");
  }

  /**
   * Runs `dispose` once for an attempt whose `init` returned (or, without
   * `init`, whose processor started), however it ended. The next attempt
   * waits for it; so does `env.close()`.
   */
  private endAttempt(attempt: Attempt, outcome: DisposeOutcome): Promise<void> | undefined {
    if (attempt.disposal) return attempt.disposal;
    if (!attempt.initialized || !this.def?.dispose) return undefined;
    const disposal = this.runDispose(attempt, attempt.resources, outcome, outcome === "abandoned");
    attempt.disposal = disposal;
    this.disposing = disposal;
    this.env.track(disposal);
    void disposal.then(() => {
      if (this.disposing === disposal) this.disposing = undefined;
    });
    return disposal;
  }

  /**
   * Calls `dispose`, bounded by `timeouts.stopMs`. With `waitForProcessor`
   * (an abandoned attempt), its user code first gets up to `stopMs` to settle
   * (its signal has aborted). A throw or an overrun is logged, never retried.
   * Never rejects.
   */
  private async runDispose(attempt: Attempt, resources: unknown, outcome: DisposeOutcome, waitForProcessor: boolean): Promise<void> {
    const def = this.def;
    if (!def?.dispose) return;
    const stopMs = def.timeouts.stopMs;
    const logger = attempt.logger;
    if (waitForProcessor && attempt.running) await within(attempt.running, stopMs, this.env.clock);
    const call = Promise.resolve().then(() =>
      def.dispose!({ resources: resources as never, jobId: this.jobId, attempt: attempt.number, outcome, logger }),
    );
    const result = await within(call, stopMs, this.env.clock);
    if (result.kind === "rejected") {
      logger.error(`dispose of attempt ${attempt.number} of worker "${this.key}" threw (not retried): ${describeError(result.error)}`, {
        error: serializeError(result.error),
      });
    } else if (result.kind === "timeout") {
      logger.warn(`dispose of attempt ${attempt.number} of worker "${this.key}" did not finish within stopMs (${stopMs} ms); going on without it`);
    }
  }

  /** A failed attempt is worth a warning: by default nothing else would show it. */
  private logFailure(attempt: Attempt, phase: "init" | "processor", error: unknown): void {
    attempt.logger.warn(`attempt ${attempt.number} of worker "${this.key}" failed in ${phase}: ${describeError(error)}`, {
      error: serializeError(error),
    });
  }

  /**
   * Waits for the abandoned attempt of a stopping worker to settle (however
   * it settles), then for its `dispose`.
   */
  abandon(): Promise<void> {
    const running = this.running ? this.running.then(ignore, ignore) : RESOLVED;
    const attempt = this.current;
    return attempt ? running.then(() => this.endAttempt(attempt, "abandoned")) : running;
  }

  /** Drops what attempts hold once the job is final. */
  release(): void {
    this.running = undefined;
    this.current = undefined;
  }

  /** What `init` gets (the processor's context has the same fields, and more). */
  private initContext(attempt: Attempt): InitContext<any> {
    return withAttemptAccessors({ jobId: this.jobId, jobOptions: this.jobOptions, attempt: attempt.number }, attempt);
  }

  /** @internal `AttemptOwner`: the processor of `attempt` reported progress (a stale attempt, or one whose processor returned, reports nothing more). */
  attemptProgress(attempt: Attempt, value: unknown): void {
    if (attempt.fenced || attempt.returned) return;
    attempt.beat();
    this.job.progress(this.key, value);
  }

  /** @internal `AttemptOwner`: the logger of an attempt's user code. */
  attemptLogger(attempt: number): Logger {
    // One level of binding for the job's and the attempt's fields: the same lines as a child of the job's logger.
    return childLogger(this.env.logger, { jobId: this.jobId, job: this.job.plan.name, worker: this.key, attempt });
  }

  private requireDef(): WorkerDefinition {
    if (!this.def) throw new Error(`internal: worker "${this.key}" of job "${this.jobId}" ran before it was started`);
    return this.def;
  }
}
