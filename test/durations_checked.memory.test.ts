/**
 * The memory-only case of `durations_checked.test.ts`. On the memory backend
 * `env.close({ graceMs })` gives every job the env added its grace, a job
 * still queued included: it starts in the closing env and `close` waits for
 * it. On a shared backend (Redis) `close()` stops taking jobs at once: a job
 * still queued is left to another process (README, Running on Redis), so
 * this case is memory-only by nature; the shared-backend path (a running job)
 * is in `durations_checked.test.ts`.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { settle } from "./helpers/collect.js";
import { NodeLikeClock } from "./helpers/timerClock.js";

const DAY = 86_400_000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("Infinity means no limit (memory backend: close gives queued jobs their grace too)", () => {
  it("close({ graceMs: Infinity }) right after enqueueJob waits for the job however long it takes: it starts in the closing env and completes", async () => {
    const clock = new NodeLikeClock();
    const env = LiveEnv.create({ clock, logger: silent });
    const spec = JobSpec.define({ name: "endless-grace-memory", input: z.number(), output: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    let closed = false;
    const closing = env.close({ graceMs: Infinity }).then(() => (closed = true));
    for (const ms of [1, 1_000, 30 * DAY]) {
      clock.increment(ms);
      await settle();
    }
    await expect.poll(() => job.status).toBe("running");
    expect(closed).toBe(false);
    await job.input.feed(1);
    await job.input.terminate();
    await closing;
    expect(job.status).toBe("completed");
    expect(clock.overflowing).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
