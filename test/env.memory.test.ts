/**
 * `env.close()` on a backend of this process alone: it cancels the jobs still
 * running. Memory-only by nature: on a shared backend (Redis) close() releases
 * them instead, and another process resumes them (README, "Running on
 * Redis"; tested in test/redis_backend.redis.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvClosedError, JobCancelledError, JobSpec } from "../src/index.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";

afterEach(closeAll);

describe("LiveEnv.close() on a backend of its own", () => {
  it("close() cancels running jobs, then rejects new jobs and worker defs with EnvClosedError", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "closing", input: z.number(), output: z.number() });
    const started = deferred();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        started.resolve();
        for await (const _ of input);
      },
    });
    const running = await spec.enqueueJob({ liveEnv: env });
    await started.promise;
    await env.close();
    expect(running.status).toBe("cancelled");
    await expect(running.waitUntilFinish()).rejects.toBeInstanceOf(JobCancelledError);
    expect(env.liveJobCount).toBe(0);
    await expect(spec.enqueueJob({ liveEnv: env })).rejects.toBeInstanceOf(EnvClosedError);
    await expect(spec.enqueueAndGetResult({ liveEnv: env, input: 1 })).rejects.toBeInstanceOf(EnvClosedError);
    const other = JobSpec.define({ name: "after-close" });
    expect(() => other.defineWorker({ liveEnv: env, processor: async () => {} })).toThrow(EnvClosedError);
  });
});
