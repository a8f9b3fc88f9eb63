import {
  ConfigurationError,
  UnknownTagError,
  UnrecoverableError,
  ValidationError,
  type RestartRecord,
} from "../src/errors.js";

/** Exponential backoff between restarts (Akka's BackoffSupervisor). */
export interface BackoffOptions {
  /** Delay before the first restart. Default 100 ms. */
  initialMs?: number;
  /** Growth per consecutive restart. Default 2. */
  factor?: number;
  /** Upper bound of the delay before jitter (jitter spreads capped delays too). Default 30 000 ms. */
  maxMs?: number;
  /** Random spread, 0..1: the delay is multiplied by 1 ± jitter. Default 0.2. */
  jitter?: number;
}

/**
 * Restart policy of a worker (Erlang/OTP restart intensity plus backoff).
 * A worker may restart at most `maxRestarts` times within any sliding window
 * of `withinMs`; one more failure fails the job.
 */
export interface RetryOptions {
  /** Restarts allowed within the window. Default 3. 0 fails on the first error. */
  maxRestarts?: number;
  /** The sliding window of the restart intensity. Default 60 000 ms. */
  withinMs?: number;
  /** Backoff between restarts. */
  backoff?: BackoffOptions;
  /**
   * After a restart that was followed by this long without failure, the backoff
   * starts again from `initialMs`. Default 60 000 ms.
   */
  resetAfterMs?: number;
  /**
   * Decides whether a failure may be retried. Default `isRetryableByDefault`:
   * everything except `UnrecoverableError`, `ValidationError`,
   * `UnknownTagError` and `ConfigurationError`.
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

/** Applies defaults; throws `ValidationError` on out-of-range values. */
export function resolveRetryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const backoff = { ...DEFAULT_RETRY.backoff, ...options?.backoff };
  const policy: RetryPolicy = {
    maxRestarts: options?.maxRestarts ?? DEFAULT_RETRY.maxRestarts,
    withinMs: options?.withinMs ?? DEFAULT_RETRY.withinMs,
    resetAfterMs: options?.resetAfterMs ?? DEFAULT_RETRY.resetAfterMs,
    backoff,
    ...(options?.retryable ? { retryable: options.retryable } : {}),
  };
  const checks: Array<[string, number, number]> = [
    ["retry.maxRestarts", policy.maxRestarts, 0],
    ["retry.withinMs", policy.withinMs, 1],
    ["retry.resetAfterMs", policy.resetAfterMs, 0],
    ["retry.backoff.initialMs", backoff.initialMs, 0],
    ["retry.backoff.factor", backoff.factor, 1],
    ["retry.backoff.maxMs", backoff.maxMs, 0],
  ];
  for (const [name, value, min] of checks) {
    if (typeof value !== "number" || Number.isNaN(value) || value < min) {
      throw new ValidationError(`${name} must be a number >= ${min}; got ${String(value)}`);
    }
  }
  if (!(backoff.jitter >= 0 && backoff.jitter <= 1)) {
    throw new ValidationError(`retry.backoff.jitter must be between 0 and 1; got ${String(backoff.jitter)}`);
  }
  return policy;
}

/** What the supervisor decided about one failure. */
export type RestartDecision =
  | { restart: true; delayMs: number }
  | { restart: false; reason: "unrecoverable" | "intensity" };

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
    error instanceof UnrecoverableError ||
    error instanceof ValidationError ||
    error instanceof UnknownTagError ||
    error instanceof ConfigurationError
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
  if (!retryable(error)) return { restart: false, reason: "unrecoverable" };
  const inWindow = history.filter((r) => at - r.at < policy.withinMs).length;
  if (inWindow >= policy.maxRestarts) return { restart: false, reason: "intensity" };
  let streak = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const next = i === history.length - 1 ? at : history[i + 1]!.at;
    if (next - history[i]!.at >= policy.resetAfterMs) break;
    streak++;
  }
  const { initialMs, factor, maxMs, jitter } = policy.backoff;
  const base = Math.min(maxMs, initialMs * factor ** streak);
  const spread = 1 + jitter * (2 * unitHash(seed) - 1);
  return { restart: true, delayMs: Math.max(0, Math.round(base * spread)) };
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
