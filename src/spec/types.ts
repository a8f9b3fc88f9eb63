import type { InferIn, InferOut, Schema } from "../schema.js";
import type { Defined } from "../definitionSite.js";

/**
 * What the runtime needs of a spec: its name and schemas. `JobSpec`
 * implements it; the runtime never needs the class (or an env).
 */
export interface SpecShape extends Defined {
  readonly name: string;
  readonly inputSchemas: Readonly<Record<string, Schema>>;
  readonly outputSchemas: Readonly<Record<string, Schema>>;
  readonly jobOptionsSchema: Schema | undefined;
  /** Schema of a stateful worker's state, checked at each commit; undefined: not checked. */
  readonly stateSchema: Schema | undefined;
}

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
  /**
   * When it was emitted, by the env's clock (ms since epoch). With the
   * system clock, messages emitted faster than one a millisecond share a
   * reading, up to 16 in one turn of the event loop: a timestamp is then
   * early by at most the time the messages before it in that run took.
   */
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

/**
 * The default-tag members of a handle whose tags have no `default`: present
 * (so such a handle still fits the loose `Record<string, any>` one) but
 * typed `never`, so using them is a type error.
 */
export interface NoDefaultWriter {
  readonly tag: string;
  /** No `default` input tag: use `job.input("tag").feed(…)`. */
  readonly feed: never;
  /** No `default` input tag: use `job.input("tag").terminate()`. */
  readonly terminate: never;
}

/** See `NoDefaultWriter`. */
export interface NoDefaultReader {
  readonly tag: string;
  /** No `default` output tag: use `job.output("tag").first()`. */
  readonly first: never;
  /** No `default` output tag: iterate `job.output("tag")`. */
  readonly [Symbol.asyncIterator]: never;
}

// The tag map is only ever the checked type of these conditionals (never inside an
// `extends` clause), so `LiveJob<I, O>` stays covariant in I and O: a job typed by
// its tags still fits a loose `LiveJob<Record<string, any>, Record<string, any>>`.
/** True (`1`) for a loose tag map: `any`, or an index signature of `any` (`Record<string, any>`). */
type IsLoose<M> = M extends { [tag: string]: infer S } ? (0 extends 1 & S ? 1 : 0) : 0;

/** `job.input`: the default tag's writer, and `job.input("tag")` for others. */
export type JobInput<I> = (<K extends TagOf<I>>(tag: K) => InputWriter<InferIn<I[K]>>) &
  (I extends { default: unknown } ? InputWriter<InferIn<I["default"]>> : IsLoose<I> extends 1 ? InputWriter<any> : NoDefaultWriter);

/** `job.output`: the default tag's reader, and `job.output("tag")` for others. */
export type JobOutput<O> = (<K extends TagOf<O>>(tag: K) => OutputReader<InferOut<O[K]>>) &
  (O extends { default: unknown } ? OutputReader<InferOut<O["default"]>> : IsLoose<O> extends 1 ? OutputReader<any> : NoDefaultReader);

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
