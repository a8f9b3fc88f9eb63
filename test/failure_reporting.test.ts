import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, UnknownTagError, type Logger } from "../src/index.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, FAST_RETRY } from "./helpers/env.js";

afterEach(closeAll);

function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

describe("failure reporting", () => {
  it("a programming error (unknown output tag) fails the job at once, without spending restarts", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: "typo", input: z.number(), output: z.number() });
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      processor: async ({ output }) => {
        attempts++;
        await (output as unknown as (tag: string) => { emit(x: unknown): Promise<void> })("totl").emit(1);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(UnknownTagError);
    expect(attempts).toBe(1);
  });

  it("the logger warns about each failed attempt and logs the failed job once", async () => {
    const { logger, lines } = recordingLogger();
    const { env, clock } = createTestEnv({ logger });
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: "flaky-log", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      retry: { ...FAST_RETRY, maxRestarts: 1 },
      processor: async ({ attempt }) => {
        throw new Error(`boom ${attempt}`);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env, jobId: "flaky-1" });
    await job.waitUntilFinish().catch(() => {});
    expect(lines.filter((l) => l.level === "warn").map((l) => l.message)).toEqual([
      'attempt 1 of worker "flaky-log" failed in processor: Error: boom 1',
      'attempt 2 of worker "flaky-log" failed in processor: Error: boom 2',
    ]);
    const errors = lines.filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^job "flaky-1" is failed: JobFailedError: Job "flaky-1" of "flaky-log" exhausted its restart budget/);
  });
});
