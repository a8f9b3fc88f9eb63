import type { TestEnv } from "./createTestEnv.js";

/** Default of `timeoutMs`: below the 5 000 ms per-test default of vitest and Jest, so the kit's message wins. */
export const DEFAULT_WORKER_TEST_TIMEOUT_MS = 4_000;

/** Real-time bound on closing a case's env once the case is over (its deadline may already have passed). */
export const CLOSE_ALLOWANCE_MS = 500;

/** One real-time budget for a whole generated case: every wait draws from what is left of it. */
export interface CaseDeadline {
  /**
   * Resolves or rejects as `promise` does, unless the deadline passes first:
   * then rejects with `<header>\n  timed out after <ms> ms (timeoutMs) waiting for <what>`.
   * `header` and `what` are read when it fires, so they can show what was observed by then.
   */
  wait<T>(promise: Promise<T>, what: () => string): Promise<T>;
  /** Disarms the timer (call it when the case is over). */
  clear(): void;
}

/**
 * Arms one timer of `ms` real milliseconds for a case. One deadline, not one
 * bound per wait: a path with many waits cannot take many times `ms`.
 */
export function caseDeadline(ms: number, header: () => string): CaseDeadline {
  let expire!: () => void;
  const expired = new Promise<void>((resolve) => (expire = resolve));
  const timer = setTimeout(expire, ms);
  return {
    wait(promise, what) {
      const late = expired.then((): never => {
        throw new Error(`${header()}\n  timed out after ${ms} ms (timeoutMs) waiting for ${what()}`);
      });
      return Promise.race([promise, late]);
    },
    clear: () => clearTimeout(timer),
  };
}

/**
 * Closes a case's env within `ms` of real time. An attempt that ignores its
 * signal holds `close()` for `stopMs` of the env's simulated clock, so the
 * clock is moved on until it closes. Resolves false if it did not close in time.
 */
export async function closeWithin(t: TestEnv, stopMs: number, ms = CLOSE_ALLOWANCE_MS): Promise<boolean> {
  let closed = false;
  const closing = t.close().then(
    () => (closed = true),
    () => (closed = true), // a close that fails has still stopped what it could; the case reports its own problems
  );
  const endsAt = performance.now() + ms;
  for (;;) {
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5))]);
    if (closed || performance.now() >= endsAt) return closed;
    await t.advance(stopMs);
  }
}
