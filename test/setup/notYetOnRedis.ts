/**
 * Behaviour-suite files that do not pass on `LW_BACKEND=redis` yet, each with
 * why. `npm run test:redis` (vitest.redis.config.ts) leaves them out; the
 * memory and memory-copy runs keep them. Issue 13 is not done while this
 * list has entries that are not memory-only by nature.
 *
 * - timing: asserts a job's state after a fixed number of event-loop turns
 *   (`settle()`), a synchronous journal replay, or a simulated-clock step
 *   that must see a job started; on Redis a job starts, and events arrive,
 *   after round trips. Fix: wait for the state or the event.
 * - internals: reads the running `JobRuntime` of the env right after
 *   `enqueueJob`; on Redis the job runs once BullMQ hands it out.
 * - events-after-outcome: checks the env's events as soon as `waitUntilFinish`
 *   settles; on Redis the events arrive (through the env's event stream)
 *   after the outcome (through the job's hash). Fix: wait for the event.
 */
export const NOT_YET_ON_REDIS: Readonly<Record<string, string>> = {
  "test/concurrent_jobs.property.test.ts": "timing (simulated clock, 1,500 runs)",
  "test/durations_checked.test.ts": "timing (a simulated-clock backoff), and memory-only by nature in one case: close({ graceMs: Infinity }) expects a job still queued to start in the closing env; on a shared backend close() stops taking jobs at once (another process runs it)",
  "test/events_tell_the_story_in_order.test.ts": "timing (synchronous journal replay)",
  "test/fault_injection.property.test.ts": "timing (simulated clock)",
  "test/no_inspection_overhead.test.ts": "internals",
  "test/reentrant_user_code.test.ts": "timing (synchronous journal replay)",
  "test/user_callbacks.property.test.ts": "timing (simulated clock)",
  "test/viewer_options.test.ts": "internals",
};
