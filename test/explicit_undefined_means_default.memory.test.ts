/**
 * Memory-only by nature: `env.close()` cancels the jobs it has left after its
 * grace, so it waits the stop grace of a processor that ignores its signal.
 * On a shared backend `close()` releases them instead (another process
 * resumes them; README, Running on Redis) and waits for no processor; the
 * default stop grace on cancel is checked on every backend in
 * `explicit_undefined_means_default.test.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { DEFAULT_TIMEOUTS, JobSpec } from "../src/index.js";
import { settle } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

describe("an explicit undefined means the default (memory)", () => {
  it("timeouts: { stopMs: undefined } keeps the 5 s stop grace: a processor that ignores its signal is abandoned, and close() settles", async () => {
    const { env, clock } = createTestEnv();
    const spec = JobSpec.define({ name: "stubborn-on-close", input: z.number() });
    const def = spec.defineWorker({
      liveEnv: env,
      timeouts: { stopMs: undefined },
      processor: () => new Promise<void>(() => {}), // never returns, ignores its signal
    });
    expect(def.timeouts.stopMs).toBe(DEFAULT_TIMEOUTS.stopMs);
    const job = await spec.enqueueJob({ liveEnv: env });
    await settle();
    let closed = false;
    const closing = env.close().then(() => (closed = true));
    await settle();
    clock.increment(DEFAULT_TIMEOUTS.stopMs - 1);
    await settle();
    expect(closed).toBe(false);
    clock.increment(1);
    await closing;
    expect(job.status).toBe("cancelled");
  });
});
