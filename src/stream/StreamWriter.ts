import { StreamClosedError } from "../errors.js";
import { validate, type Schema } from "../schema.js";
import { APPENDED, type JobStream, type WriteGuard } from "../backend/Backend.js";

/** A write waiting for its turn (see `StreamWriter.write`). */
interface QueuedWrite {
  state: "validating" | "valid" | "invalid";
  data: unknown;
  error: unknown;
  guard: WriteGuard | undefined;
  resolve: (written: Promise<void>) => void;
  reject: (error: unknown) => void;
}

/**
 * One writer of a stream (a job handle's input, a processor's output, a
 * flow's wire): it validates on the writer's side, then appends in call
 * order, whatever the schema. A write called while an earlier one still
 * validates (an async schema) waits its turn; a graceful `end` waits for the
 * writes already called.
 */
export class StreamWriter {
  /** Writes called but not yet appended, in call order. Undefined when none (the fast path). */
  private queued: QueuedWrite[] | undefined;
  private settledWaiters: Array<() => void> | undefined;
  /** A graceful end asked for while writes were queued: it takes effect once they are appended. */
  private ending: { reason: string; done: Promise<void>; resolve: () => void } | undefined;
  /** Set by `refuse`: the job is over, nothing more is written. */
  private refused: string | undefined;

  constructor(
    readonly stream: JobStream,
    private readonly schema: Schema | undefined,
  ) {}

  /** Names the stream in errors (built when first needed). */
  get label(): string {
    return this.stream.label;
  }

  /**
   * Validates and appends. Rejects with `ValidationError` (nothing written)
   * or `StreamClosedError`; resolves once the stream has room. `guard`
   * fences the writer (checked just before the append). May also throw
   * synchronously: callers turn that into a rejection.
   */
  write(value: unknown, guard?: WriteGuard): Promise<void> {
    this.assertOpen();
    if (this.queued === undefined) {
      if (!this.schema) return this.stream.append(value, guard);
      const checked = validate(this.schema, value, this);
      if (!(checked instanceof Promise)) return this.stream.append(checked, guard);
      return this.queue(checked, guard);
    }
    // Behind a write still validating: wait for its turn (a value that fails a sync schema needs none).
    const checked = this.schema ? validate(this.schema, value, this) : value;
    return this.queue(Promise.resolve(checked), guard);
  }

  /**
   * Ends the stream once the writes already called are appended (terminate,
   * a worker that returned); later writes throw. Resolves when the end took effect.
   */
  end(reason: string): Promise<void> {
    if (this.stream.closed || this.refused !== undefined) return APPENDED;
    if (this.ending) return this.ending.done;
    if (this.queued === undefined) {
      this.stream.end(reason);
      return APPENDED;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.ending = { reason, done, resolve };
    return done;
  }

  /** The job is over: refuses the writes not yet appended, and every later one. The stream itself is left as it is. */
  refuse(reason: string): void {
    if (this.refused !== undefined) return;
    this.refused = reason;
    const queued = this.queued;
    this.queued = undefined;
    if (queued) for (const entry of queued) entry.reject(new StreamClosedError(`Cannot write to ${this.label}: ${reason}`));
    this.wakeSettled();
    const ending = this.ending;
    this.ending = undefined;
    ending?.resolve();
  }

  /** Resolves once every write already called was appended or refused; undefined when none waits (no promise). */
  settled(): Promise<void> | undefined {
    if (this.queued === undefined) return undefined;
    return new Promise<void>((resolve) => (this.settledWaiters ??= []).push(resolve));
  }

  private assertOpen(): void {
    const closed = this.stream.closed;
    // A stream closed by an error (its job failed, or its store lost it) names it as the cause.
    if (closed) throw new StreamClosedError(`Cannot write to ${this.label}: ${closed.reason}`, closed.error === undefined ? undefined : { cause: closed.error });
    if (this.refused !== undefined) throw new StreamClosedError(`Cannot write to ${this.label}: ${this.refused}`);
    if (this.ending) throw new StreamClosedError(`Cannot write to ${this.label}: ${this.ending.reason}`);
  }

  /** Queues a write whose value is still validating; it is appended when every earlier write was. */
  private queue(checked: Promise<unknown>, guard: WriteGuard | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: QueuedWrite = { state: "validating", data: undefined, error: undefined, guard, resolve, reject };
      (this.queued ??= []).push(entry);
      checked.then(
        (data) => {
          entry.state = "valid";
          entry.data = data;
          this.appendQueued();
        },
        (error: unknown) => {
          entry.state = "invalid";
          entry.error = error;
          this.appendQueued();
        },
      );
    });
  }

  /** Appends the queued writes at the head whose validation has finished, in order. */
  private appendQueued(): void {
    const queued = this.queued;
    if (!queued) return;
    while (queued.length > 0 && queued[0]!.state !== "validating") {
      const entry = queued.shift()!;
      if (entry.state === "invalid") {
        entry.reject(entry.error);
        continue;
      }
      try {
        entry.resolve(this.stream.append(entry.data, entry.guard));
      } catch (error) {
        entry.reject(error);
      }
    }
    if (queued.length > 0) return;
    this.queued = undefined;
    this.wakeSettled();
    const ending = this.ending;
    if (ending) {
      this.ending = undefined;
      this.stream.end(ending.reason);
      ending.resolve();
    }
  }

  private wakeSettled(): void {
    const waiters = this.settledWaiters;
    this.settledWaiters = undefined;
    if (waiters) for (const resolve of waiters) resolve();
  }
}
