/**
 * Listeners run while the library is between steps, and may call back into
 * it at once: subscribe, enqueue, define workers, close the env. Whatever
 * they do, the library's own state stays whole (issue 11 §1 and §8; found
 * by an adversarial review).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, type LifecycleEvent } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { suiteBackend } from "./helpers/backends.js";

afterEach(closeAll);

/** A shared backend's `close()` releases the jobs of the env instead of cancelling them (README, Running on Redis). */
const closeReleases = suiteBackend().name === "redis";

let specCount = 0;
const numbers = () => JobSpec.define({ name: `reentrant-${++specCount}`, input: z.number(), output: z.number() });
/**
 * Waits until `labels` hold the job's final status: on a shared backend
 * (Redis) listeners get events (and a journal's replay) after round trips,
 * so after the job's outcome. The whole list is checked once its end is there.
 */
async function untilTheEnd(labels: string[]): Promise<void> {
  await expect.poll(() => labels.some((l) => ["job:completed", "job:failed", "job:cancelled"].includes(l)), { timeout: 5_000 }).toBe(true);
}
const label = (e: LifecycleEvent) => (e.type === "job.status" ? `job:${e.status}` : e.type === "worker.state" ? `worker:${e.state}` : e.type);

describe("listeners that call back into the library", () => {
  it("job.subscribe inside a job listener gets the event being delivered once, then the later ones", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    const late: string[] = [];
    let subscribed = false;
    // Subscribed while `done` is being delivered live (not replayed).
    job.subscribe((event) => {
      if (!subscribed && event.type === "worker.state" && event.state === "done") {
        subscribed = true;
        job.subscribe((e) => late.push(label(e)));
      }
    });
    await job.input.terminate();
    await job.waitUntilFinish();
    await untilTheEnd(late);
    expect(late).toEqual(["job:queued", "job:running", "worker:executing", "worker:done", "job:completed"]);
  });

  it("env.subscribe inside an env listener starts with the next event, not the one being delivered", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    const late: string[] = [];
    let subscribed = false;
    env.subscribe((event) => {
      if (!subscribed && event.type === "job.status" && event.status === "running") {
        subscribed = true;
        env.subscribe((e) => late.push(label(e)));
      }
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    await untilTheEnd(late);
    expect(late).toEqual(["worker:executing", "worker:done", "job:completed"]);
  });

  it("a listener that defines a worker and enqueues while a queue drains loses no job", async () => {
    const { env } = createTestEnv();
    const s = numbers();
    const t = numbers();
    const a = await s.enqueueJob({ liveEnv: env, jobId: "A" });
    const b = await s.enqueueJob({ liveEnv: env, jobId: "B" });
    let c: Awaited<ReturnType<typeof s.enqueueJob>> | undefined;
    let enqueuing: Promise<void> | undefined;
    env.subscribe((event) => {
      if (event.jobId === "A" && event.type === "job.status" && event.status === "running" && !enqueuing) {
        t.defineWorker({ liveEnv: env, processor: async () => {} });
        enqueuing = s.enqueueJob({ liveEnv: env, jobId: "C" }).then((job) => void (c = job));
      }
    });
    s.defineWorker({ liveEnv: env, concurrency: 3, processor: async () => {} });
    // The queue hands A out after this step (as any backend may): wait for the listener's enqueue.
    await vi.waitUntil(() => enqueuing !== undefined, { timeout: 10_000 });
    await enqueuing;
    await Promise.all([a.waitUntilFinish(), b.waitUntilFinish(), c!.waitUntilFinish()]);
    expect([a.status, b.status, c!.status]).toEqual(["completed", "completed", "completed"]);
  });

  // On a shared backend close() releases rather than cancels, and the job may be taken here meanwhile; its counterpart is in redis_backend.redis.test.ts.
  it.skipIf(closeReleases)("env.close() from a listener of a new job's `queued` event cancels that job: close settles with nothing left [backends whose close() cancels: a shared one releases, README 'Running on Redis']", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    let started = false;
    spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { started = true; for await (const _ of input); } });
    let closing: Promise<void> | undefined;
    env.subscribe((event) => {
      if (event.type === "job.status" && event.status === "queued") closing ??= env.close();
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await closing;
    expect(job.status).toBe("cancelled");
    expect(started).toBe(false);
    expect(env.liveJobCount).toBe(0);
  });

  it("an enqueue of the same job id from a listener of that job's `queued` event is refused", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, concurrency: 1, processor: async () => {} });
    let second: Promise<unknown> | undefined;
    env.subscribe((event) => {
      if (event.type === "job.status" && event.status === "queued" && event.jobId === "dup") second ??= spec.enqueueJob({ liveEnv: env, jobId: "dup" }).catch((e: unknown) => e);
    });
    const first = await spec.enqueueJob({ liveEnv: env, jobId: "dup" });
    expect(await second).toBeInstanceOf(ConfigurationError);
    await first.waitUntilFinish();
    expect(first.status).toBe("completed");
  });
});
