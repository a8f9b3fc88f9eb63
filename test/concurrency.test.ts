import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, type LiveJob } from "../src/index.js";
import { collect, settle } from "./helpers/collect.js";
import { closeAll, createTestEnv, deferred, type Deferred } from "./helpers/env.js";

afterEach(closeAll);

let counter = 0;

describe("concurrency", () => {
  it("runs at most n jobs of a def at once; the rest wait queued and start first in, first out", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `limited-${++counter}`, input: z.number(), output: z.number() });
    const startOrder: string[] = [];
    const started = new Map<string, Deferred<void>>();
    let running = 0;
    let maxRunning = 0;
    spec.defineWorker({
      liveEnv: env,
      concurrency: 2,
      processor: async ({ input, output, jobId }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        startOrder.push(jobId);
        started.get(jobId)!.resolve();
        try {
          for await (const n of input) await output.emit(n);
        } finally {
          running--;
        }
      },
    });
    const ids = ["j0", "j1", "j2", "j3", "j4"];
    for (const id of ids) started.set(id, deferred());
    const jobs: LiveJob[] = [];
    for (const jobId of ids) jobs.push(await spec.enqueueJob({ liveEnv: env, jobId }));
    await Promise.all([started.get("j0")!.promise, started.get("j1")!.promise]);
    await settle();
    expect(jobs.map((j) => j.status)).toEqual(["running", "running", "queued", "queued", "queued"]);

    // Finish the second job first: the freed slot goes to the oldest waiting job.
    await jobs[1]!.input.terminate();
    await jobs[1]!.waitUntilFinish();
    await started.get("j2")!.promise;
    await settle();
    expect(jobs.map((j) => j.status)).toEqual(["running", "completed", "running", "queued", "queued"]);

    for (const job of [jobs[2]!, jobs[0]!, jobs[3]!, jobs[4]!]) {
      await started.get(job.jobId)!.promise;
      await job.input.feed(1);
      await job.input.terminate();
      await job.waitUntilFinish();
    }
    expect(startOrder).toEqual(ids);
    expect(maxRunning).toBe(2);
    expect(jobs.every((j) => j.status === "completed")).toBe(true);
  });

  it("a cancelled queued job does not take a slot", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `limited-${++counter}`, input: z.number() });
    const startOrder: string[] = [];
    spec.defineWorker({
      liveEnv: env,
      concurrency: 1,
      processor: async ({ input, jobId }) => {
        startOrder.push(jobId);
        for await (const _ of input);
      },
    });
    const first = await spec.enqueueJob({ liveEnv: env, jobId: "first" });
    const skipped = await spec.enqueueJob({ liveEnv: env, jobId: "skipped" });
    const last = await spec.enqueueJob({ liveEnv: env, jobId: "last" });
    await skipped.cancel("not needed");
    await first.input.terminate();
    await last.input.terminate();
    await last.waitUntilFinish();
    expect(startOrder).toEqual(["first", "last"]);
    expect(skipped.status).toBe("cancelled");
  });

  it("a job enqueued before its worker def exists waits queued, keeps fed input, and runs once the def is defined", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `early-${++counter}`, input: z.string(), output: z.string() });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.feed("a");
    await job.input.feed("b");
    await job.input.terminate();
    await settle();
    expect(job.status).toBe("queued");
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const s of input) await output.emit(s.toUpperCase());
      },
    });
    expect(await collect(job.output)).toEqual(["A", "B"]);
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });

  it("a second defineWorker for the same spec in one env throws ConfigurationError; another env is fine", async () => {
    const { env } = createTestEnv();
    const { env: other } = createTestEnv();
    const spec = JobSpec.define({ name: `twice-${++counter}` });
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    expect(() => spec.defineWorker({ liveEnv: env, processor: async () => {} })).toThrow(ConfigurationError);
    expect(() => spec.defineWorker({ liveEnv: env, processor: async () => {} })).toThrow(
      new RegExp(`worker for spec "${spec.name}" is already defined`),
    );
    expect(() => spec.defineWorker({ liveEnv: other, processor: async () => {} })).not.toThrow();
  });
});
