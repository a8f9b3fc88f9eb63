/**
 * Memory-only by nature: it reads the memory backend's FIFO of a queue (an
 * in-process structure) to show that a job cancelled while queued leaves it
 * at once. On Redis a cancelled queued job is removed from its BullMQ queue
 * (RedisJobQueue.removeQueued), and a process that takes it meanwhile finds
 * it final.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobSpec } from "../src/index.js";
import { queueKeyOf } from "../src/job/JobPlan.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";

afterEach(closeAll);

describe("the scheduler and cancelled queued jobs", () => {
  it("a job cancelled while queued is dropped from its queue (not retained until it reaches the head)", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "bp-queued-leak", input: z.number() });
    const hold = deferred();
    spec.defineWorker({ liveEnv: env, concurrency: 1, processor: async () => hold.promise });
    const running = await spec.enqueueJob({ liveEnv: env });
    const queued = [];
    for (let i = 0; i < 5; i++) queued.push(await spec.enqueueJob({ liveEnv: env }));
    // All but the head of the FIFO are cancelled (think: callers timing out while waiting).
    for (const job of queued.slice(1)) await job.cancel("timeout");
    expect(queued.slice(1).every((j) => j.status === "cancelled")).toBe(true);
    expect(env.liveJobCount).toBe(2);
    // Cancelled jobs (their streams, buffered input, stopped actors) leave the FIFO without
    // waiting to reach its head: it holds at most twice the jobs still queued.
    const fifo = (env as any).backend.jobs.queues.get(queueKeyOf("spec", spec.name));
    try {
      expect(fifo.size).toBeLessThanOrEqual(2);
    } finally {
      hold.resolve();
    }
    await running.waitUntilFinish();
    await queued[0]!.waitUntilFinish();
    await expect(queued[1]!.waitUntilFinish()).rejects.toBeInstanceOf(JobCancelledError);
  });
});
