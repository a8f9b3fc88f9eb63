/**
 * Behaviour-suite files that do not pass on `LW_BACKEND=redis` yet, each with
 * why. `npm run test:redis` (vitest.redis.config.ts) leaves them out; the
 * memory and memory-copy runs keep them.
 *
 * Empty: every behaviour-suite file runs on Redis. What holds on a backend of
 * one process only is in `*.memory.test.ts` files (left out on Redis by
 * vitest.redis.config.ts), each with the reason in its header: `close()`
 * cancels what runs (a shared backend releases it instead), in-process
 * internals (the memory queue's FIFO), or the viewer's own memory under load.
 */
export const NOT_YET_ON_REDIS: Readonly<Record<string, string>> = {};
