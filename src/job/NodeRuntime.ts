import { describeError, serializeError } from "../errors.js";
import type { AttemptInput } from "../../machines/worker.js";
import { childLogger, type Logger } from "../logger.js";
import type { StreamNamer } from "../stream/DataStream.js";
import type { DataStream } from "../stream/DataStream.js";
import type { InputChannel } from "../stream/InputChannel.js";
import { Attempt } from "../worker/Attempt.js";
import type { AttemptRun } from "../env/attemptActor.js";
import { PortMap, tagsOf } from "./PortMap.js";
import { createProcessorInput } from "../worker/processorInput.js";
import { createProcessorOutput } from "../worker/processorOutput.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { EnvInternals } from "../env/internals.js";

/** Receives a processor's `progress(value)` calls (the job runtime). */
export interface ProgressSink {
  readonly plan: { readonly name: string };
  progress(workerName: string, value: unknown): void;
}

const ignore = () => {};

/**
 * One worker of a job at run time: its input channels and output streams
 * (which outlive attempts), its resources, and the attempt now running.
 */
export class NodeRuntime implements StreamNamer {
  readonly inputs: PortMap<InputChannel>;
  readonly outputs: PortMap<DataStream>;
  def: AnyLiveWorkerDef | undefined;
  private resources: unknown;
  private running: Promise<unknown> | undefined;
  private current: Attempt | undefined;
  private pendingFailure: { error: unknown } | undefined;

  constructor(
    private readonly env: EnvInternals,
    readonly key: string,
    readonly spec: AnyJobSpec,
    private readonly jobId: string,
    private readonly jobOptions: unknown,
    private readonly job: ProgressSink,
  ) {
    const inputTags = tagsOf(spec.inputSchemas);
    const outputTags = tagsOf(spec.outputSchemas);
    this.inputs = new PortMap(
      inputTags,
      inputTags.map((tag) => {
        // Inputs keep only unacknowledged messages: the acknowledged cursor pins them.
        const stream = env.createStream(this, spec.inputSchemas[tag], "input");
        return { tag, stream, acknowledged: stream.openCursor(0) };
      }),
    );
    this.outputs = new PortMap(
      outputTags,
      outputTags.map((tag) => env.createStream(this, spec.outputSchemas[tag], "output")),
    );
  }

  /** Names one of this node's streams, e.g. `input "default" of job "j1" (spec "chop")` (built when an error needs it). */
  nameOf(stream: DataStream): string {
    let where = "stream";
    for (const [tag, channel] of this.inputs) if (channel.stream === stream) where = `input "${tag}"`;
    for (const [tag, output] of this.outputs) if (output === stream) where = `output "${tag}"`;
    const node = this.key === this.spec.name ? "" : `node "${this.key}" of `;
    return `${where} of ${node}job "${this.jobId}" (spec "${this.spec.name}")`;
  }

  /**
   * Fails the running attempt now, or the next one as soon as it starts
   * (used when data routed to this node is invalid).
   */
  fail(error: unknown): void {
    if (this.current && !this.current.fenced) this.current.fail(error);
    else this.pendingFailure = { error };
  }

  /** Runs `init` of one attempt (a worker without `init` never enters `initializing`). */
  initialize(input: AttemptInput): AttemptRun {
    const def = this.requireDef();
    const attempt = new Attempt(input.workerName, input.attempt, this.env.clock, undefined);
    const run = async (): Promise<void> => {
      const pending = Promise.resolve().then(() =>
        def.init?.({
          jobId: this.jobId,
          jobOptions: this.jobOptions,
          logger: this.attemptLogger(input),
          get signal() {
            return attempt.signal;
          },
          attempt: input.attempt,
        }),
      );
      this.running = pending;
      let resources: unknown;
      try {
        resources = await pending;
      } catch (error) {
        if (!attempt.fenced) this.logFailure(input, "init", error);
        // Work the failed init left behind sees its signal abort.
        attempt.abandon();
        throw error;
      }
      attempt.assertLive();
      this.resources = resources;
    };
    return { done: run(), abandon: () => attempt.abandon() };
  }

  /** Runs the processor of one attempt; settles like the attempt (no suspended function per running job). */
  execute(input: AttemptInput): AttemptRun {
    let attempt: Attempt;
    let inputs: ReturnType<typeof createProcessorInput>;
    let run: Promise<unknown>;
    try {
      const def = this.requireDef();
      attempt = new Attempt(input.workerName, input.attempt, this.env.clock, def.timeouts.heartbeatMs);
      if (this.pendingFailure) {
        const { error } = this.pendingFailure;
        this.pendingFailure = undefined;
        throw error;
      }
      this.current = attempt;
      inputs = createProcessorInput(this.spec.name, this.inputs, attempt);
      const output = createProcessorOutput(this.spec.name, this.outputs, attempt);
      attempt.startWatchdog();
      const current = attempt;
      run = Promise.resolve().then(() =>
        def.processor({
          input: inputs.input as never,
          output: output as never,
          jobId: this.jobId,
          jobOptions: this.jobOptions,
          logger: this.attemptLogger(input),
          // Made on first read: most processors never look at it.
          get signal() {
            return current.signal;
          },
          attempt: input.attempt,
          resources: this.resources,
          heartbeat: () => current.beat(),
          progress: (value) => {
            if (current.fenced) return;
            current.beat();
            this.job.progress(input.workerName, value);
          },
        }),
      );
      this.running = run;
    } catch (error) {
      return { done: Promise.reject(error), abandon: ignore };
    }
    const done = attempt.settle(run).then(
      () => {
        try {
          attempt.assertLive();
          inputs.acknowledgeAll();
          // The worker is done: downstream readers (and flow wires) see the end, and
          // its inputs close, so wires into it stop instead of filling up and blocking upstream.
          const finished = `worker "${this.key}" of job "${this.jobId}" is done`;
          for (const stream of this.outputs.values()) stream.end(finished);
          for (const { stream, acknowledged } of this.inputs.values()) {
            stream.closeCursor(acknowledged);
            stream.end(finished);
          }
        } catch (error) {
          attempt.abandon();
          throw error;
        } finally {
          attempt.stopWatchdog();
        }
      },
      (error: unknown) => {
        const abandonedFirst = attempt.fenced;
        attempt.abandon();
        attempt.stopWatchdog();
        // An attempt abandoned from outside (stop, a sibling's restart) did not fail on its own.
        if (!abandonedFirst) this.logFailure(input, "processor", error);
        throw error;
      },
    );
    return { done, abandon: () => attempt.abandon() };
  }

  /** A failed attempt is worth a warning: by default nothing else would show it. */
  private logFailure(input: AttemptInput, phase: "init" | "processor", error: unknown): void {
    this.attemptLogger(input).warn(`attempt ${input.attempt} of worker "${this.key}" failed in ${phase}: ${describeError(error)}`, {
      error: serializeError(error),
    });
  }

  /** Waits for the abandoned attempt of a stopping worker to settle (however it settles). */
  abandon(): Promise<void> {
    return this.running ? this.running.then(ignore, ignore) : Promise.resolve();
  }

  /** Drops what attempts hold once the job is final. */
  release(): void {
    this.resources = undefined;
    this.running = undefined;
    this.current = undefined;
  }

  private attemptLogger(input: AttemptInput): Logger {
    // One level of binding for the job's and the attempt's fields: the same lines as a child of the job's logger.
    return childLogger(this.env.logger, { jobId: this.jobId, job: this.job.plan.name, worker: input.workerName, attempt: input.attempt });
  }

  private requireDef(): AnyLiveWorkerDef {
    if (!this.def) throw new Error(`internal: worker "${this.key}" of job "${this.jobId}" ran before it was started`);
    return this.def;
  }
}
