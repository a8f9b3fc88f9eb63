import type { InferIn, InferOut, Schema } from "../schema.js";

/** Named streams: tag → schema. */
export type TagSchemas = Record<string, Schema>;

/** One schema means the tag `default`; a record names its tags; nothing, no tags. */
export type Tags<T> = T extends Schema ? { default: T } : T extends TagSchemas ? T : {};

/** Tag names of a tag map, as strings. */
export type TagOf<M> = keyof M & string;

/** Job options as the processor sees them (schema output, defaults applied). */
export type JobOptionsOut<Opt> = Opt extends Schema ? InferOut<Opt> : Record<string, unknown> | undefined;
/** Job options as `enqueueJob` accepts them. */
export type JobOptionsIn<Opt> = Opt extends Schema ? InferIn<Opt> : Record<string, unknown> | undefined;

/** What `for await` over an output yields. */
export interface OutputMessage<T> {
  data: T;
  /** When it was emitted, by the env's clock (ms since epoch). */
  timestamp: number;
}

/** The write side of one input tag of a job. */
export interface InputWriter<T> {
  readonly tag: string;
  /**
   * Validates and appends one message. Rejects with `ValidationError`
   * (nothing written) or `StreamClosedError` (terminated or finished). Waits
   * while the worker is `highWaterMark` messages behind (backpressure).
   */
  feed(data: T): Promise<void>;
  /** Ends this input: the processor's loop over it finishes. Idempotent. */
  terminate(): Promise<void>;
}

/** The read side of one output tag of a job. Each `for await` is a new reader. */
export interface OutputReader<T> extends AsyncIterable<OutputMessage<T>> {
  readonly tag: string;
  /** The next message from a fresh reader: the oldest kept, or undefined if none comes. */
  first(): Promise<OutputMessage<T> | undefined>;
}

/** `job.input`: the default tag's writer, and `job.input("tag")` for others. */
export type JobInput<I> = (<K extends TagOf<I>>(tag: K) => InputWriter<InferIn<I[K]>>) &
  ("default" extends keyof I ? InputWriter<InferIn<I["default"]>> : unknown);

/** `job.output`: the default tag's reader, and `job.output("tag")` for others. */
export type JobOutput<O> = (<K extends TagOf<O>>(tag: K) => OutputReader<InferOut<O[K]>>) &
  ("default" extends keyof O ? OutputReader<InferOut<O["default"]>> : unknown);

/** One input tag as a processor reads it: an async iterable of data. */
export interface TagInput<T> extends AsyncIterable<T> {
  readonly tag: string;
}

/** A message from `input.merge(...)`. */
export type MergedMessage<I, K extends TagOf<I>> = { [P in K]: { tag: P; data: InferOut<I[P]> } }[K];

/** `input` in the processor context. */
export type ProcessorInput<I> = (<K extends TagOf<I>>(tag: K) => TagInput<InferOut<I[K]>>) & {
  /** Reads several tags at once, in arrival order; ends when all of them end. */
  merge<K extends TagOf<I>>(...tags: K[]): AsyncIterable<MergedMessage<I, K>>;
} & ("default" extends keyof I ? AsyncIterable<InferOut<I["default"]>> : unknown);

/** The write side of one output tag, in the processor context. */
export interface TagOutput<T> {
  readonly tag: string;
  /** Validates and emits. Rejects with `ValidationError` (which fails the job). */
  emit(data: T): Promise<void>;
}

/** `output` in the processor context. */
export type ProcessorOutput<O> = (<K extends TagOf<O>>(tag: K) => TagOutput<InferIn<O[K]>>) &
  (O extends { default: infer S } ? { emit(data: InferIn<S>): Promise<void> } : unknown);
