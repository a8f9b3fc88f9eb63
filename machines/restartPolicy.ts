import {
  ConfigurationError,
  UnknownTagError,
  UnrecoverableError,
  ValidationError,
  isInstance,
  type RestartRecord,
} from "../src/errors.js";
import { isThenable } from "../src/thenable.js";
import { assertKnownKeys, checkCount, checkDuration, checkRange, MAX_TIMER_MS, withDefaults } from "../src/options.js";

/** Exponential backoff between restarts (Akka's BackoffSupervisor). */
export interface BackoffOptions {
  /** Delay before the first restart: whole ms, 0 … 2³¹−1. Default 100 ms. */
  initialMs?: number;
  /** Growth per consecutive restart: a finite number >= 1. Default 2. */
  factor?: number;
  /**
   * Upper bound of the delay before jitter (jitter spreads capped delays too):
   * whole ms, 0 … 2³¹−1, or `Infinity` for no cap (a delay still stops at
   * 2³¹−1 ms, the longest a timer takes). Default 30 000 ms.
   */
  maxMs?: number;
  /** Random spread, 0 … 1: the delay is multiplied by 1 ± jitter. Default 0.2. */
  jitter?: number;
}

/**
 * Restart policy of a worker (Erlang/OTP restart intensity plus backoff).
 * A worker may restart at most `maxRestarts` times within any sliding window
 * of `withinMs`; one more failure fails the job. A field left out or
 * `undefined` takes its default (`DEFAULT_RETRY`); unknown keys are a
 * `ConfigurationError`, values out of range a `ValidationError`.
 */
export interface RetryOptions {
  /** Restarts allowed within the window: a whole number >= 0, or `Infinity`. Default 3. 0 fails on the first error. */
  maxRestarts?: number;
  /**
   * The sliding window of the restart intensity: whole ms, 1 … 2³¹−1, or
   * `Infinity` (a window that never slides: `maxRestarts` for the job's whole life). Default 60 000 ms.
   */
  withinMs?: number;
  /** Backoff between restarts. */
  backoff?: BackoffOptions;
  /**
   * After a restart that was followed by this long without failure, the backoff
   * starts again from `initialMs`: whole ms, 0 … 2³¹−1, or `Infinity` (never
   * reset). Default 60 000 ms.
   */
  resetAfterMs?: number;
  /**
   * Decides whether a failure may be retried. Default `isRetryableByDefault`:
   * everything except `UnrecoverableError`, `ValidationError`,
   * `UnknownTagError` and `ConfigurationError`. A predicate that throws
   * counts as "not retryable": the job fails, and its error says so.
   */
  retryable?: (error: unknown) => boolean;
}

/** `RetryOptions` with every default applied. */
export interface RetryPolicy {
  maxRestarts: number;
  withinMs: number;
  backoff: Required<BackoffOptions>;
  resetAfterMs: number;
  retryable?: (error: unknown) => boolean;
}

/** Defaults of `retry` on `defineWorker`. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxRestarts: 3,
  withinMs: 60_000,
  backoff: { initialMs: 100, factor: 2, maxMs: 30_000, jitter: 0.2 },
  resetAfterMs: 60_000,
};

/** The keys of `RetryOptions`. */
export const RETRY_KEYS = ["maxRestarts", "withinMs", "backoff", "resetAfterMs", "retryable"] as const;
const BACKOFF_KEYS = ["initialMs", "factor", "maxMs", "jitter"] as const;

/**
 * Applies defaults (an explicit `undefined` means the default) and checks
 * every field. Throws `ConfigurationError` for an unknown key or a
 * `retryable` that is not a function, `ValidationError` naming the field for
 * a value out of range: `maxRestarts` a whole number >= 0 or `Infinity`;
 * `withinMs` whole ms 1 … 2³¹−1 or `Infinity` (a window that never slides);
 * `resetAfterMs` 0 … 2³¹−1 or `Infinity` (never reset); `backoff.initialMs`
 * 0 … 2³¹−1; `backoff.maxMs` 0 … 2³¹−1 or `Infinity` (no cap);
 * `backoff.factor` finite >= 1; `backoff.jitter` 0 … 1.
 *
 * @param path how the caller names these options (`retry`, `supervision`).
 * @param owner whose options they are, for messages (`defineWorker options of spec "chop"`).
 */
export function resolveRetryPolicy(options: RetryOptions | undefined, path = "retry", owner?: string): RetryPolicy {
  const name = (field: string) => `${path}.${field}${owner ? ` of ${owner}` : ""}`;
  const where = owner ? `${path} of ${owner}` : path;
  assertKnownKeys(where, options, RETRY_KEYS);
  assertKnownKeys(`${path}.backoff${owner ? ` of ${owner}` : ""}`, options?.backoff, BACKOFF_KEYS);
  const merged = withDefaults(DEFAULT_RETRY, { ...options, backoff: undefined });
  const backoff = withDefaults(DEFAULT_RETRY.backoff, options?.backoff);
  if (merged.retryable !== undefined && typeof merged.retryable !== "function") {
    throw new ConfigurationError(`${name("retryable")} must be a function (error) => boolean; got ${typeof merged.retryable}`);
  }
  return {
    maxRestarts: checkCount(name("maxRestarts"), merged.maxRestarts, { min: 0, allowInfinity: true }),
    withinMs: checkDuration(name("withinMs"), merged.withinMs, { min: 1, allowInfinity: true }),
    resetAfterMs: checkDuration(name("resetAfterMs"), merged.resetAfterMs, { allowInfinity: true }),
    backoff: {
      initialMs: checkDuration(name("backoff.initialMs"), backoff.initialMs),
      factor: checkRange(name("backoff.factor"), backoff.factor, { min: 1 }),
      maxMs: checkDuration(name("backoff.maxMs"), backoff.maxMs, { allowInfinity: true }),
      jitter: checkRange(name("backoff.jitter"), backoff.jitter, { min: 0, max: 1 }),
    },
    ...(merged.retryable !== undefined ? { retryable: merged.retryable } : {}),
  };
}

/** What the supervisor decided about one failure. */
export type RestartDecision =
  | { restart: true; delayMs: number }
  | { restart: false; reason: "unrecoverable" | "intensity" }
  /** The `retryable` predicate threw: the failure is treated as not retryable. */
  | { restart: false; reason: "predicate threw"; predicateError: unknown };

/**
 * Default `retryable`: everything but `UnrecoverableError`, `ValidationError`
 * and programming errors a restart cannot fix (`UnknownTagError`,
 * `ConfigurationError`). Compose your own with it:
 *
 * @example
 * retry: { retryable: (e) => isRetryableByDefault(e) && !(e instanceof PaymentDeclined) }
 */
export function isRetryableByDefault(error: unknown): boolean {
  return !(
    isInstance(error, UnrecoverableError) ||
    isInstance(error, ValidationError) ||
    isInstance(error, UnknownTagError) ||
    isInstance(error, ConfigurationError)
  );
}

/**
 * Pure restart decision. `history` is the restarts granted so far, `at` the
 * time of the new failure, `seed` a string that spreads jitter between jobs
 * deterministically (the job id and attempt).
 *
 * @example
 * decideRestart([], DEFAULT_RETRY, new Error("x"), 0, "job-1") // { restart: true, delayMs: 80..120 }
 */
export function decideRestart(
  history: readonly RestartRecord[],
  policy: RetryPolicy,
  error: unknown,
  at: number,
  seed: string,
): RestartDecision {
  const retryable = policy.retryable ?? isRetryableByDefault;
  let retry: boolean;
  try {
    const answer: unknown = retryable(error);
    if (isThenable(answer)) {
      // The supervisor decides at once: a promise is no answer (and its rejection must not go unhandled).
      answer.then(undefined, () => {});
      throw new ConfigurationError("retry.retryable returned a promise; it must answer true or false at once");
    }
    retry = Boolean(answer);
  } catch (predicateError) {
    // A user predicate that throws must not take the supervisor down with it.
    return { restart: false, reason: "predicate threw", predicateError };
  }
  if (!retry) return { restart: false, reason: "unrecoverable" };
  const inWindow = history.filter((r) => at - r.at < policy.withinMs).length;
  if (inWindow >= policy.maxRestarts) return { restart: false, reason: "intensity" };
  let streak = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const next = i === history.length - 1 ? at : history[i + 1]!.at;
    if (next - history[i]!.at >= policy.resetAfterMs) break;
    streak++;
  }
  const { initialMs, factor, maxMs, jitter } = policy.backoff;
  // 0 × factor^streak stays 0 even when factor^streak overflows to Infinity.
  const grown = initialMs === 0 ? 0 : initialMs * factor ** streak;
  const base = Math.min(maxMs, grown);
  const spread = 1 + jitter * (2 * unitHash(seed) - 1);
  // A timer fires at once beyond MAX_TIMER_MS: an uncapped (maxMs Infinity) or jittered delay stops there.
  return { restart: true, delayMs: Math.min(MAX_TIMER_MS, Math.max(0, Math.round(base * spread))) };
}

/** Deterministic hash of a string into [0, 1) (FNV-1a). */
export function unitHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}
