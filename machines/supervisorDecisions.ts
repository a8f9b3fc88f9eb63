import { describeError } from "../src/errors.js";
import type { RestartDecision, RetryPolicy } from "./restartPolicy.js";

/** Restart records kept (the newest), at least; more when `maxRestarts` is larger. */
const HISTORY_KEPT = 50;

/** Restart records a job keeps: enough for the intensity window to fill (`maxRestarts` may exceed 50). */
export const keptRecords = (retry: RetryPolicy): number => (Number.isFinite(retry.maxRestarts) ? Math.max(HISTORY_KEPT, retry.maxRestarts) : HISTORY_KEPT);

/** Why a refused restart fails the job, for `JobFailedError`'s message. */
export function refusal(retry: RetryPolicy, decision: Exclude<RestartDecision, { restart: true }>): string {
  if (decision.reason === "intensity") return `exhausted its restart budget (${retry.maxRestarts} restarts within ${retry.withinMs} ms)`;
  if (decision.reason === "predicate threw") return `failed, and its retry.retryable predicate threw (${describeError(decision.predicateError)}), so it was not retried`;
  return "failed with a non-retryable error";
}

/** What a resumed job's supervisor knows of its earlier holder (`JobMachineInput.attempts` / `expired`, and the backoff granted for it). */
export interface ResumedJob {
  /** The attempt each worker was last on; undefined for a fresh job. */
  readonly attempts: Readonly<Record<string, number>> | undefined;
  /** The backoff granted for a lost lease; undefined when there was none (or it was refused). */
  readonly resumeDelayMs: number | undefined;
  /** The lost lease's error (`LeaseExpiredError`). */
  readonly expired: unknown;
}

/** The attempt a worker of a resumed job was last on in its earlier holder (1 when none was stored). */
export const lastAttempt = (job: ResumedJob, workerName: string): number =>
  job.attempts !== undefined && Object.hasOwn(job.attempts, workerName) ? job.attempts[workerName]! : 1;

/** How a worker of a fresh job begins: nothing to add (one object for every job). */
const FRESH: { attempt?: number; recover?: { delayMs: number; error: unknown } } = Object.freeze({});

/**
 * How a worker of a resumed job begins: after a lost lease, in `recovering`
 * from the attempt it lost; after a release, with the next attempt. Nothing
 * for a fresh job (attempt 1).
 */
export function resumedAttempt(job: ResumedJob, workerName: string): { attempt?: number; recover?: { delayMs: number; error: unknown } } {
  if (job.attempts === undefined && job.resumeDelayMs === undefined) return FRESH;
  const last = lastAttempt(job, workerName);
  if (job.resumeDelayMs !== undefined) return { attempt: last, recover: { delayMs: job.resumeDelayMs, error: job.expired } };
  return { attempt: last + 1 };
}
