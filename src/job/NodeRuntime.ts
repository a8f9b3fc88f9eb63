import type { AttemptInput } from "../../machines/worker.js";
import { childLogger, type Logger } from "../logger.js";
import type { DataStream } from "../stream/DataStream.js";
import type { InputChannel } from "../stream/InputChannel.js";
import { Attempt } from "../worker/Attempt.js";
import { createProcessorInput } from "../worker/processorInput.js";
import { createProcessorOutput } from "../worker/processorOutput.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { EnvInternals } from "../env/internals.js";

/**
 * One worker of a job at run time: its input channels and output streams
 * (which outlive attempts), its resources, and the attempt now running.
 */
export class NodeRuntime {
  readonly inputs = new Map<string, InputChannel>();
  readonly outputs = new Map<string, DataStream>();
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
    private readonly logger: Logger,
    private readonly onProgress: (workerName: string, value: unknown) => void,
  ) {
    const where = (direction: string, tag: string) =>
      `${direction} "${tag}" of ${key === spec.name ? "" : `node "${key}" of `}job "${jobId}" (spec "${spec.name}")`;
    for (const [tag, schema] of Object.entries(spec.inputSchemas)) {
      // Inputs keep only unacknowledged messages: the acknowledged cursor pins them.
      const stream = env.createStream(where("input", tag), schema, 0);
      this.inputs.set(tag, { tag, stream, acknowledged: stream.openCursor(0) });
    }
    for (const [tag, schema] of Object.entries(spec.outputSchemas)) {
      this.outputs.set(tag, env.createStream(where("output", tag), schema));
    }
  }

  /**
   * Fails the running attempt now, or the next one as soon as it starts
   * (used when data routed to this node is invalid).
   */
  fail(error: unknown): void {
    if (this.current && !this.current.fenced) this.current.fail(error);
    else this.pendingFailure = { error };
  }

  async initialize(input: AttemptInput, signal: AbortSignal): Promise<void> {
    const def = this.requireDef();
    if (!def.init) return;
    const attempt = new Attempt(input.workerName, input.attempt, signal, this.env.clock, undefined);
    const run = Promise.resolve().then(() =>
      def.init!({
        jobId: this.jobId,
        jobOptions: this.jobOptions,
        logger: this.attemptLogger(input),
        signal: attempt.signal,
        attempt: input.attempt,
      }),
    );
    this.running = run.catch(() => {});
    const resources = await run;
    attempt.assertLive();
    this.resources = resources;
  }

  async execute(input: AttemptInput, signal: AbortSignal): Promise<void> {
    const def = this.requireDef();
    const attempt = new Attempt(input.workerName, input.attempt, signal, this.env.clock, def.timeouts.heartbeatMs);
    if (this.pendingFailure) {
      const { error } = this.pendingFailure;
      this.pendingFailure = undefined;
      throw error;
    }
    this.current = attempt;
    const { input: processorInput, acknowledgeAll } = createProcessorInput(this.spec.name, this.inputs, attempt);
    const output = createProcessorOutput(this.spec.name, this.outputs, attempt);
    attempt.startWatchdog();
    const run = Promise.resolve().then(() =>
      def.processor({
        input: processorInput as never,
        output: output as never,
        jobId: this.jobId,
        jobOptions: this.jobOptions,
        logger: this.attemptLogger(input),
        signal: attempt.signal,
        attempt: input.attempt,
        resources: this.resources,
        heartbeat: () => attempt.beat(),
        progress: (value) => {
          if (attempt.fenced) return;
          attempt.beat();
          this.onProgress(input.workerName, value);
        },
      }),
    );
    this.running = run.catch(() => {});
    try {
      await Promise.race([run, attempt.failed]);
      attempt.assertLive();
      acknowledgeAll();
      // The worker is done: downstream readers (and flow wires) see the end.
      for (const stream of this.outputs.values()) stream.end(`worker "${this.key}" of job "${this.jobId}" is done`);
    } catch (error) {
      attempt.abandon();
      throw error;
    } finally {
      attempt.stopWatchdog();
    }
  }

  /** Waits for the abandoned attempt of a stopping worker to settle. */
  async abandon(): Promise<void> {
    await this.running;
  }

  /** Drops what attempts hold once the job is final. */
  release(): void {
    this.resources = undefined;
    this.running = undefined;
    this.current = undefined;
  }

  private attemptLogger(input: AttemptInput): Logger {
    return childLogger(this.logger, { worker: input.workerName, attempt: input.attempt });
  }

  private requireDef(): AnyLiveWorkerDef {
    if (!this.def) throw new Error(`internal: worker "${this.key}" of job "${this.jobId}" ran before it was started`);
    return this.def;
  }
}
