import { ConfigurationError, UnknownTagError, ValidationError, describeError } from "../errors.js";
import { CallOrder } from "../stream/CallOrder.js";
import type { DataStream, StreamMessage } from "../stream/DataStream.js";
import type { InputWriter, JobInput, JobOutput, OutputMessage, OutputReader } from "../spec/types.js";
import type { JobStatus, LifecycleListener } from "../backend/events.js";
import type { JobRuntime } from "./JobRuntime.js";

/**
 * The handle of one job: feed its input, read its output, wait for it,
 * cancel it.
 *
 * @example
 * const job = await chop.enqueueJob({ jobOptions: { size: "fine" } });
 * await job.input.feed({ veg: "leek" });
 * await job.input.terminate();
 * for await (const { data } of job.output) console.log(data);
 */
export class LiveJob<I = any, O = any> {
  // Built on first access: a job driven by enqueueAndGetResult, or never read, needs neither.
  private inputHandle: JobInput<I> | undefined;
  private outputHandle: JobOutput<O> | undefined;

  /** @internal */
  constructor(readonly runtime: JobRuntime) {}

  /** Write side of the inputs: `job.input.feed(x)`, `job.input("tag").feed(x)`. */
  get input(): JobInput<I> {
    return (this.inputHandle ??= this.createInput() as JobInput<I>);
  }

  /** Read side of the outputs: `for await (… of job.output)`, `job.output("tag")`. */
  get output(): JobOutput<O> {
    return (this.outputHandle ??= this.createOutput() as JobOutput<O>);
  }

  get jobId(): string {
    return this.runtime.jobId;
  }

  /** `queued` → `running` → `completed` | `failed` | `cancelled`. */
  get status(): JobStatus {
    return this.runtime.status;
  }

  /** Resolves when the job completes; rejects with `JobFailedError` or `JobCancelledError`. */
  waitUntilFinish(): Promise<void> {
    return this.runtime.waitUntilFinish();
  }

  /**
   * Cancels the job in any state. The processor's `signal` aborts; readers
   * throw `JobCancelledError` with `reason`. Resolves once the job is final
   * (a job that already finished stays as it was).
   *
   * @param reason a string, at most 1,000 characters. Default `"cancelled by the user"`.
   * @throws ValidationError (a rejection) for a reason that is not such a string; nothing is cancelled.
   */
  async cancel(reason: string = "cancelled by the user"): Promise<void> {
    if (typeof reason !== "string" || reason.length > 1_000) {
      throw new ValidationError(
        `The reason of job.cancel must be a string of at most 1000 characters; got ${typeof reason === "string" ? `${reason.length} characters` : describeError(reason)}`,
        [],
        "reason",
      );
    }
    this.runtime.cancel(reason);
    await this.runtime.waitUntilFinish().catch(() => {});
  }

  /** Listens to this job's lifecycle events. Returns an unsubscribe function. */
  /**
   * Listens to this job's lifecycle events: first the events so far (the
   * newest 256), then live ones until the job is final. Returns an
   * unsubscribe function. What the listener throws is logged once and ignored.
   *
   * @throws ConfigurationError when `listener` is not a function.
   */
  subscribe(listener: LifecycleListener): () => void {
    if (typeof listener !== "function") {
      throw new ConfigurationError(`job.subscribe takes a function (event) => void; got ${listener === null ? "null" : typeof listener}`);
    }
    return this.runtime.subscribe(listener);
  }

  private createInput(): unknown {
    const runtime = this.runtime;
    const writers = new Map<string, InputWriter<unknown>>();
    const writerFor = (tag: string): InputWriter<unknown> => {
      let writer = writers.get(tag);
      if (writer) return writer;
      const channel = runtime.inputs.get(tag);
      if (!channel) throw new UnknownTagError(runtime.plan.name, "input", tag, [...runtime.inputs.keys()]);
      writer = {
        tag,
        // A closed stream or a synchronous schema throws inside write(): reject, never throw.
        feed: (data) => {
          try {
            return channel.stream.write(data);
          } catch (error) {
            return Promise.reject(error);
          }
        },
        terminate: async () => channel.stream.end(`input "${tag}" of job "${runtime.jobId}" was terminated`),
      };
      writers.set(tag, writer);
      return writer;
    };
    const input = (tag: string) => writerFor(tag);
    return Object.assign(input, {
      tag: "default",
      feed: (data: unknown) => {
        try {
          return writerFor("default").feed(data);
        } catch (error) {
          return Promise.reject(error);
        }
      },
      terminate: () => call(() => writerFor("default").terminate()),
    });
  }

  private createOutput(): unknown {
    const runtime = this.runtime;
    const readerFor = (tag: string): OutputReader<unknown> => {
      const stream = runtime.outputs.get(tag);
      if (!stream) throw new UnknownTagError(runtime.plan.name, "output", tag, [...runtime.outputs.keys()]);
      return outputReader(tag, stream);
    };
    const output = (tag: string) => readerFor(tag);
    return Object.assign(output, {
      tag: "default",
      [Symbol.asyncIterator]: () => readerFor("default")[Symbol.asyncIterator](),
      first: () => call(() => readerFor("default").first()),
    });
  }
}

function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A reader handle: each iteration opens its own cursor at the oldest kept message. */
function outputReader(tag: string, stream: DataStream): OutputReader<unknown> {
  const reader: OutputReader<unknown> = {
    tag,
    [Symbol.asyncIterator]: () => new StreamIterator(stream),
    first: async () => {
      const iterator = new StreamIterator(stream);
      const result = await iterator.next();
      await iterator.return();
      return result.done ? undefined : result.value;
    },
  };
  return reader;
}

/**
 * One reader of an output stream. Calls of `next` are served in call order,
 * each getting the next message (as Node's stream iterators do), even when
 * made without awaiting the previous one.
 */
class StreamIterator implements AsyncIterableIterator<OutputMessage<unknown>> {
  private readonly cursor;
  private closed = false;
  private readonly order = new CallOrder<IteratorResult<OutputMessage<unknown>>>();

  constructor(private readonly stream: DataStream) {
    this.cursor = stream.openCursor();
  }

  /** Not async: a message already there (a reader that keeps up) costs one settled promise. */
  next(): Promise<IteratorResult<OutputMessage<unknown>>> {
    return this.order.busy ? this.order.after(() => this.nextNow(false)) : this.nextNow(true);
  }

  /** Serves one call now. `track`: a wait becomes the call later ones queue behind (a queued turn already is). */
  private nextNow(track: boolean): Promise<IteratorResult<OutputMessage<unknown>>> {
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    try {
      const ready = this.stream.at(Math.max(this.cursor.position, this.stream.oldestOffset));
      if (ready) return Promise.resolve(this.resultOf(ready));
      const read = this.stream.read(this.cursor.position).then(
        (this.resume ??= (message) => this.resultOf(message)),
        (this.fail ??= (error: unknown) => {
          this.close();
          throw error;
        }),
      );
      return track ? this.order.hold(read) : read;
    } catch (error) {
      this.close();
      return Promise.reject(error);
    }
  }

  // Continuations of a `next` that waited: one pair per iterator, not per wait.
  private resume: ((message: StreamMessage<unknown> | undefined) => IteratorResult<OutputMessage<unknown>>) | undefined;
  private fail: ((error: unknown) => never) | undefined;

  private resultOf(message: StreamMessage<unknown> | undefined): IteratorResult<OutputMessage<unknown>> {
    if (!message) {
      this.close();
      return { done: true, value: undefined };
    }
    this.stream.advance(this.cursor, message.offset + 1);
    return { done: false, value: { data: message.data, timestamp: message.timestamp } };
  }

  async return(): Promise<IteratorResult<OutputMessage<unknown>>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.closeCursor(this.cursor);
  }
}
