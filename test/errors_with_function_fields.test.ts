import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, serializeError, type LifecycleEvent } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** An error as HTTP clients throw it: a field holding the request's config, functions included. */
function httpError(): Error {
  return Object.assign(new Error("request failed with status 503"), {
    status: 503,
    config: { url: "https://api.example/menu", transformRequest: [(data: unknown) => data], headers: { accept: "json" } },
  });
}

describe("an error whose fields hold functions (an HTTP client's request config)", () => {
  it("serialises to plain data: the functions are left out, the rest is kept", () => {
    const serialized = serializeError(httpError());
    expect(() => structuredClone(serialized)).not.toThrow();
    expect(serialized).toEqual({
      name: "Error",
      message: "request failed with status 503",
      status: 503,
      config: { url: "https://api.example/menu", transformRequest: [null], headers: { accept: "json" } },
    });
  });

  it("fails its job like any error: waiters get JobFailedError, listeners get every event up to `failed`", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "fetch-menu", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 0 },
      processor: async () => {
        throw httpError();
      },
    });
    const events: LifecycleEvent[] = [];
    env.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: env });
    await expect(job.waitUntilFinish()).rejects.toBeInstanceOf(JobFailedError);
    // Events may arrive after the outcome (a backend across processes): wait for them.
    await expect.poll(() => events.filter((event) => event.type === "job.status").map((event) => event.status)).toEqual(["queued", "running", "failed"]);
    const failed = events.find((event) => event.type === "job.status" && event.status === "failed")!;
    expect(JSON.parse(JSON.stringify(failed))).toEqual(failed);
  });
});
