import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, rebuildError, serializeError } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** Errors of other libraries whose `code` is also one of liveworker's, with fields of their own shape. */
const foreignErrors = (): Error[] => [
  Object.assign(new Error("no such column"), { code: "UNKNOWN_TAG", knownTags: "id,name" }),
  Object.assign(new Error("no such column"), { code: "UNKNOWN_TAG", knownTags: { length: 2 } }),
  Object.assign(new Error("bad row"), { code: "VALIDATION_FAILED", issues: "row 3" }),
  Object.assign(new Error("gateway timeout"), { code: "TIMEOUT", kind: 504 }),
  Object.assign(new Error("upstream job failed"), { code: "JOB_FAILED", restarts: 2 }),
];

describe("an error of another library whose code is also one of liveworker's", () => {
  it("is rebuilt without throwing, with its message", () => {
    for (const error of foreignErrors()) {
      const rebuilt = rebuildError(serializeError(error)) as Error;
      expect(rebuilt).toBeInstanceOf(Error);
      expect(rebuilt.message).toBe(error.message);
    }
  });

  it("fails its job for every waiter on every backend: no waiter hangs, the queue goes on", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "query", input: z.number(), output: z.number() });
    const thrown = foreignErrors();
    spec.defineWorker({
      liveEnv: env,
      concurrency: 1,
      retry: { maxRestarts: 0 },
      processor: async ({ jobId }) => {
        throw thrown[Number(jobId.slice("query-".length))];
      },
    });
    const jobs = await Promise.all(thrown.map((_, n) => spec.enqueueJob({ liveEnv: env, jobId: `query-${n}` })));
    const bound = new Promise<string>((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5_000));
    const ends = await Promise.race([Promise.all(jobs.map((job) => job.waitUntilFinish().then(() => "completed", (e: unknown) => e))), bound]);
    expect(ends).toHaveLength(thrown.length);
    for (const end of ends as unknown[]) expect(end).toBeInstanceOf(JobFailedError);
  });
});
