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
 * - order: merges two inputs by arrival order, which two consumers fetching
 *   separately from Redis do not see at the same moment.
 * - events-after-outcome: checks the env's events as soon as `waitUntilFinish`
 *   settles; on Redis the events arrive (through the env's event stream)
 *   after the outcome (through the job's hash). Fix: wait for the event.
 */
export const NOT_YET_ON_REDIS: Readonly<Record<string, string>> = {
  "test/attempt_signal_and_dispose.test.ts": "timing",
  "test/backend_conformance.test.ts": "timing: conformance cases step the queue within one tick; the Redis variants need waits",
  "test/bad_input.fuzz.test.ts": "timing",
  "test/cancel_and_backpressure.test.ts": "internals, timing",
  "test/edge_cases.test.ts": "timing",
  "test/env.test.ts": "memory-only by nature in one case: close() cancels the running job; on a shared backend close() releases it (README, Running on Redis)",
  "test/explicit_undefined_means_default.test.ts": "timing",
  "test/fencing.test.ts": "timing",
  "test/flow_supervision.test.ts": "timing: 'cancel mid-flow' reads the order of the workers' stop events, which on Redis arrive through the env's stream (fails 3 runs in 6)",
  "test/flow_pipeline.test.ts": "timing: fan-in asserts the left worker's done event after settle(20); on Redis env.subscribe gets it after round trips (expect.poll would do)",
  "test/flow_validation.test.ts": "timing: asserts the bake worker's crashed event right after waitUntilFinish; on Redis the outcome reaches the waiter before env.subscribe reads the event back",
  "test/graceful_shutdown.test.ts": "memory-only by nature: it expects close() to cancel what is left; on a shared backend close() releases (README, Running on Redis); the release path is tested in redis_backend.redis.test.ts",
  "test/streams.test.ts": "order",
  "test/timeout_events.test.ts": "timing",
  "test/timeouts.test.ts": "timing",
  "test/user_keys_are_own_keys.test.ts": "open: its tests pass, but a flow of specs named constructor / toString / valueOf leaves two unhandled TypeErrors (`Cannot convert undefined or null to object`) raised in an ioredis callback; not analysed yet",
  "test/viewer_slow_client.test.ts": "load: it runs 7,000 jobs to measure the viewer's memory (which does not depend on the backend); through Redis that exceeds its time budget",
  "test/viewer.browser.test.ts": "the viewer reads the running jobs' actors of its own process; a viewer of a Redis env comes with issue 16",
};
