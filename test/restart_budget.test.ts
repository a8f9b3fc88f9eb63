import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec } from "../src/index.js";
import { autoAdvanceBackoff, closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

describe("restart budget", () => {
  it.each([3, 75])("maxRestarts: %i allows exactly that many restarts, then fails the job", async (maxRestarts) => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const broken = JobSpec.define({ name: "broken", input: z.number(), output: z.number() });
    let attempts = 0;
    broken.defineWorker({
      liveEnv: env,
      retry: { maxRestarts, withinMs: 10_000_000, backoff: { initialMs: 1, factor: 1, maxMs: 1, jitter: 0 } },
      processor: async () => {
        attempts++;
        throw new Error(`attempt ${attempts} failed`);
      },
    });
    const job = await broken.enqueueJob({ liveEnv: env });
    const error = await job.waitUntilFinish().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobFailedError);
    expect(attempts).toBe(maxRestarts + 1);
    expect((error as JobFailedError).message).toContain(`${maxRestarts} restarts within`);
    expect((error as JobFailedError).restarts.length).toBe(maxRestarts);
  });
});
