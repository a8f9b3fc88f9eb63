import type { Logger } from "../logger.js";

/** What an attempt's context reads its `signal` and `logger` from (the attempt: both are made when first read). */
export interface ContextSource {
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** What a processor's context reads its `heartbeat` and `progress` from as well (functions that work detached). */
export interface ProcessorContextSource extends ContextSource {
  readonly heartbeat: () => void;
  readonly progress: (value: unknown) => void;
}

/** Where a context keeps its source: a symbol key, not enumerable (spreading a context copies `signal` and `logger`, not it). */
const SOURCE = Symbol("liveworker.attemptContext");

type Sourced = { readonly [SOURCE]: ContextSource };
type ProcessorSourced = { readonly [SOURCE]: ProcessorContextSource };

// One getter function for every context: a getter made per object (a closure over the attempt) would put each context in
// V8's dictionary mode (about 800 bytes an idle job, and a slower context for every property the processor reads).
function readSignal(this: Sourced): AbortSignal {
  return this[SOURCE].signal;
}

function readLogger(this: Sourced): Logger {
  return this[SOURCE].logger;
}

function readHeartbeat(this: ProcessorSourced): () => void {
  return this[SOURCE].heartbeat;
}

function readProgress(this: ProcessorSourced): (value: unknown) => void {
  return this[SOURCE].progress;
}

/** `context.logger = x` replaces the logger of that context, as it did when `logger` was a plain property. */
function replaceLogger(this: Sourced, value: unknown): void {
  Object.defineProperty(this, "logger", { value, writable: true, enumerable: true, configurable: true });
}

const SIGNAL: PropertyDescriptor = { get: readSignal, enumerable: true, configurable: true };
const LOGGER: PropertyDescriptor = { get: readLogger, set: replaceLogger, enumerable: true, configurable: true };
const HEARTBEAT: PropertyDescriptor = { get: readHeartbeat, enumerable: true, configurable: true };
const PROGRESS: PropertyDescriptor = { get: readProgress, enumerable: true, configurable: true };

/**
 * Adds `signal` and `logger` to an attempt's context (`init`'s or the
 * processor's): own enumerable properties, read from `source` when first
 * read, so an attempt whose code reads neither makes neither (no
 * `AbortController`, no bound logger).
 *
 * @example
 * const context = withAttemptAccessors({ jobId, jobOptions, attempt: 1 }, attempt);
 * context.signal.aborted; // made now
 */
export function withAttemptAccessors<T extends object>(context: T, source: ContextSource): T & ContextSource {
  Object.defineProperty(context, SOURCE, { value: source });
  Object.defineProperty(context, "logger", LOGGER);
  Object.defineProperty(context, "signal", SIGNAL);
  return context as T & ContextSource;
}

/**
 * `withAttemptAccessors` for a processor's context: `heartbeat` and
 * `progress` too, made when first read (most processors call neither).
 *
 * @example
 * const context = withProcessorAccessors({ jobId, jobOptions, attempt: 1, input, output, resources, state, updateState }, attempt);
 */
export function withProcessorAccessors<T extends object>(context: T, source: ProcessorContextSource): T & ProcessorContextSource {
  withAttemptAccessors(context, source);
  Object.defineProperty(context, "heartbeat", HEARTBEAT);
  Object.defineProperty(context, "progress", PROGRESS);
  return context as T & ProcessorContextSource;
}
