/**
 * Every error liveworker throws is a `LiveworkerError` with a stable `code`.
 * Errors serialise to `{ name, code, message, cause, ...fields }` through
 * `toJSON`, so lifecycle events and inspectors never show `{}`.
 *
 * @example
 * try { await job.waitUntilFinish(); }
 * catch (e) { if (e instanceof JobFailedError) console.log(e.cause, e.restarts); }
 */
export class LiveworkerError extends Error {
  readonly code: string = "LIVEWORKER_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
  toJSON(): Record<string, unknown> {
    return serializeError(this) as Record<string, unknown>;
  }
}

/** One problem reported by a Standard Schema validator. */
export interface ValidationIssue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}

/**
 * Data, job options, names or options did not pass validation. Nothing was
 * written or changed. `issues` holds what the schema said.
 */
export class ValidationError extends LiveworkerError {
  override readonly code = "VALIDATION_FAILED";
  constructor(
    message: string,
    readonly issues: ReadonlyArray<ValidationIssue> = [],
    readonly where?: string,
  ) {
    super(message);
  }
}

/** A tag that the spec does not declare. */
export class UnknownTagError extends LiveworkerError {
  override readonly code = "UNKNOWN_TAG";
  constructor(
    readonly specName: string,
    readonly direction: "input" | "output",
    readonly tag: string,
    readonly knownTags: readonly string[],
  ) {
    super(
      `Unknown ${direction} tag "${tag}" on spec "${specName}"; known: ${
        knownTags.length ? knownTags.join(", ") : `(none: the spec declares no ${direction})`
      }`,
    );
  }
}

/** A write to a stream that has ended (terminated input, finished job). */
export class StreamClosedError extends LiveworkerError {
  override readonly code = "STREAM_CLOSED";
}

/** Misuse of the API: bad options, a second worker def for a spec, and so on. */
export class ConfigurationError extends LiveworkerError {
  override readonly code = "CONFIGURATION";
}

/** The env is closing or closed: it accepts no new jobs. */
export class EnvClosedError extends LiveworkerError {
  override readonly code = "ENV_CLOSED";
}

/** A job completed without emitting on the output tag a caller waited for. */
export class NoOutputError extends LiveworkerError {
  override readonly code = "NO_OUTPUT";
}

/**
 * Throw this from `init` or a processor to fail the job at once, without
 * spending restarts.
 */
export class UnrecoverableError extends LiveworkerError {
  override readonly code = "UNRECOVERABLE";
}

/** Which timeout fired. */
export type TimeoutKind = "init" | "heartbeat" | "job" | "stop";

/** A timeout fired: `kind` says which, `ms` its configured length. */
export class TimeoutError extends LiveworkerError {
  override readonly code = "TIMEOUT";
  constructor(
    readonly kind: TimeoutKind,
    readonly ms: number,
  ) {
    super(`${kind} timeout of ${ms} ms expired`);
  }
}

/**
 * The process that ran a job lost it without giving it back: it died
 * (`SIGKILL`, a crash), its event loop was blocked or paused (`SIGSTOP`)
 * past its lease, or it could not reach Redis for that long, so it stopped renewing the lease and another process took
 * the job over. The taking process treats this as a failure of every worker
 * of the job: one restart, counted against `retry.maxRestarts` and after its
 * backoff, with this error as the `worker.restart` event's cause (retryable
 * by default). Only backends shared by several processes (Redis) raise it.
 */
export class LeaseExpiredError extends LiveworkerError {
  override readonly code = "LEASE_EXPIRED";
  constructor(readonly jobId: string) {
    super(`Job "${jobId}": the process that ran it stopped renewing its lease (it died, its event loop was blocked or paused past leaseMs, or it could not reach Redis for that long); another process took the job over`);
  }
}

/** One restart the supervisor granted. */
export interface RestartRecord {
  /** Attempt that failed (1 = the first run). */
  attempt: number;
  /** When it failed, by the env's clock (ms). */
  at: number;
  /** The backoff granted before the next attempt (ms). */
  delayMs: number;
  /** The failure, serialised. */
  error: SerializedError;
}

/** The job failed for good. `cause` is the last failure; `restarts` the history. */
export class JobFailedError extends LiveworkerError {
  override readonly code = "JOB_FAILED";
  constructor(
    readonly jobId: string,
    cause: unknown,
    readonly restarts: readonly RestartRecord[] = [],
    reason = "failed",
    /** The spec (or flow) the job ran. */
    readonly specName?: string,
  ) {
    super(`Job "${jobId}"${specName ? ` of "${specName}"` : ""} ${reason}: ${describeError(cause)}`, { cause });
  }
}

/** The job was cancelled (by `job.cancel`, or by `env.close`). */
export class JobCancelledError extends LiveworkerError {
  override readonly code = "JOB_CANCELLED";
  constructor(
    readonly jobId: string,
    readonly reason: string = "cancelled",
  ) {
    super(`Job "${jobId}" was cancelled: ${describeError(reason)}`);
  }
}

/** A plain-object form of any thrown value. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  cause?: SerializedError;
  [field: string]: unknown;
}

/**
 * Turns any thrown value into a JSON-safe object, following `cause` (max
 * depth 5). Total: a hostile value (a throwing getter, a revoked proxy, an
 * object without a prototype) still gives `{ name, message }`, never a throw.
 * Fields that are not JSON-safe (functions, cycles, bigints) are left out.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  try {
    if (!(error instanceof Error)) {
      return { name: "NonError", message: describeError(error) };
    }
    const out: SerializedError = { name: String(error.name), message: String(error.message) };
    for (const [key, value] of Object.entries(error)) {
      if (key === "cause" || key === "name" || key === "message") continue;
      const field = value instanceof Error ? serializeError(value, depth + 1) : jsonCopy(value);
      if (field === undefined) continue;
      // Defined, not assigned: an own `__proto__` field stays data instead of becoming the prototype.
      Object.defineProperty(out, key, { value: field, enumerable: true, writable: true, configurable: true });
    }
    if (error.cause !== undefined && depth < 5) out.cause = serializeError(error.cause, depth + 1);
    return out;
  } catch {
    return { name: "UnserializableError", message: describeError(error) };
  }
}

/**
 * `value` as JSON carries it (a copy: nested functions left out, a Date as its
 * string), or undefined when JSON cannot carry it (a function, a cycle, a
 * bigint, a non-finite number). A copy, not the value: a field that merely
 * stringifies (an object holding a function) would not survive a structured
 * copy, and the thrown error's objects are not shared with its receivers.
 */
function jsonCopy(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "object") return undefined;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * `value instanceof type`, or false where asking throws (a revoked proxy):
 * for values user code threw.
 */
export function isInstance<T>(value: unknown, type: abstract new (...args: any[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** A one-line description of any thrown value. Total: never throws. */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    if (typeof error === "string") return error;
    return JSON.stringify(error) ?? String(error);
  } catch {
    try {
      return String(error);
    } catch {
      return "(a thrown value that cannot be printed)";
    }
  }
}

/**
 * The reason an attempt's `signal` aborts: the worker left the attempt
 * (failure elsewhere, timeout, restart, cancel or shutdown). Anything the
 * attempt emits afterwards is dropped.
 */
export class AttemptAbandonedError extends LiveworkerError {
  override readonly code = "ATTEMPT_ABANDONED";
  constructor(
    readonly workerName: string,
    readonly attempt: number,
  ) {
    super(`Attempt ${attempt} of worker "${workerName}" was abandoned; its later emits are dropped`);
  }
}

/**
 * Rebuilds an error serialised by `serializeError` as the class its `code`
 * names (`JobFailedError` with its `cause` rebuilt and its `restarts`,
 * `JobCancelledError` with its `reason`, `ValidationError` with its `issues`,
 * …), with the same message and fields. An error of no liveworker class
 * becomes an `Error` with the same name, message and fields; a serialised
 * non-Error stays the plain object. A name or field the class does not set
 * (a user's subclass: its name, its own fields) and a `cause` are kept too.
 * Total: another library's error whose `code` is also one of liveworker's,
 * with fields the class cannot take, becomes an `Error` with its fields.
 * Used by backends whose outcomes cross a process boundary.
 *
 * @example
 * rebuildError(serializeError(new TimeoutError("init", 100))) instanceof TimeoutError // true
 */
export function rebuildError(serialized: SerializedError): unknown {
  if (serialized.name === "NonError") return serialized;
  const cause = serialized.cause ? rebuildError(serialized.cause) : undefined;
  let error: Error;
  try {
    error = errorOfCode(serialized, cause);
  } catch {
    // Another library's error with a liveworker code, and fields the class cannot take: an Error with its fields.
    error = new Error(serialized.message, cause === undefined ? undefined : { cause });
  }
  // The name and fields as they were: a user's class built on a liveworker one keeps its own (its name, its extra fields).
  for (const [key, value] of Object.entries(serialized)) {
    if (key === "message" || key === "cause" || Object.is((error as unknown as Record<string, unknown>)[key], value)) continue;
    // A liveworker error's own `name` stays enumerable; an Error's inherited one becomes an own, hidden one.
    const enumerable = Object.getOwnPropertyDescriptor(error, key)?.enumerable ?? key !== "name";
    Object.defineProperty(error, key, { value, enumerable, writable: true, configurable: true });
  }
  if (cause !== undefined && error.cause === undefined) Object.defineProperty(error, "cause", { value: cause, writable: true, configurable: true });
  // The message as it was (a JobFailedError's names its reason, which is not kept as a field).
  if (error.message !== serialized.message) Object.defineProperty(error, "message", { value: serialized.message, writable: true, configurable: true });
  return error;
}

/** The error of the liveworker class `serialized.code` names, built from its fields (an `Error` for any other code). May throw on fields of another shape. */
function errorOfCode(serialized: SerializedError, cause: unknown): Error {
  const field = <T>(key: string): T => serialized[key] as T;
  switch (serialized.code) {
    case "VALIDATION_FAILED":
      return new ValidationError(serialized.message, field("issues") ?? [], field("where"));
    case "UNKNOWN_TAG":
      return new UnknownTagError(field("specName"), field("direction"), field("tag"), field("knownTags") ?? []);
    case "STREAM_CLOSED":
      return new StreamClosedError(serialized.message);
    case "CONFIGURATION":
      return new ConfigurationError(serialized.message);
    case "ENV_CLOSED":
      return new EnvClosedError(serialized.message);
    case "NO_OUTPUT":
      return new NoOutputError(serialized.message);
    case "UNRECOVERABLE":
      return new UnrecoverableError(serialized.message, cause === undefined ? undefined : { cause });
    case "TIMEOUT":
      return new TimeoutError(field("kind"), field("ms"));
    case "JOB_FAILED":
      return new JobFailedError(field("jobId"), cause, field("restarts") ?? [], "failed", field("specName"));
    case "JOB_CANCELLED":
      return new JobCancelledError(field("jobId"), field("reason"));
    case "ATTEMPT_ABANDONED":
      return new AttemptAbandonedError(field("workerName"), field("attempt"));
    case "LEASE_EXPIRED":
      return new LeaseExpiredError(field("jobId"));
    default:
      return new Error(serialized.message, cause === undefined ? undefined : { cause });
  }
}
