import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, LiveEnv, memoryBackend } from "../src/index.js";

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** An error as HTTP clients throw it: a field holding the request's config, functions included. */
function httpError(): Error {
  return Object.assign(new Error("request failed with status 503"), {
    status: 503,
    config: { url: "https://api.example/menu", transformRequest: [(data: unknown) => data], headers: { accept: "json" } },
  });
}

describe("the copying memory backend and an error whose fields hold functions", () => {
  it("fails its job like any error: the copy of each event crosses the boundary, nothing is thrown at the runtime", async () => {
    const env = LiveEnv.create({ logger: silentLogger, backend: memoryBackend({ copy: true }) });
    try {
      const spec = JobSpec.define({ name: "fetch-menu-copied", input: z.number(), output: z.number() });
      spec.defineWorker({
        liveEnv: env,
        retry: { maxRestarts: 0 },
        processor: async () => {
          throw httpError();
        },
      });
      const statuses: string[] = [];
      env.subscribe((event) => {
        if (event.type === "job.status") statuses.push(event.status);
      });
      const job = await spec.enqueueJob({ liveEnv: env });
      const error = await job.waitUntilFinish().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).cause).toMatchObject({ message: "request failed with status 503", status: 503 });
      expect(statuses).toEqual(["queued", "running", "failed"]);
    } finally {
      await env.close();
    }
  });
});
