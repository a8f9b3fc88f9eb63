/**
 * A cancel issued from a `worker.state: error` listener (the colleague's
 * question from the worker model suite: can the runtime take the worker's
 * `error --cancel--> stopped`?).
 *
 * It cannot, and this test pins down why: the worker's `error` entry records
 * the `worker.state` event and sends WORKER.FAILED; XState delivers that
 * send to the supervisor at the end of the worker's step, and listeners get
 * the recorded event only after that step (the runtime delivers events
 * between XState steps, never inside one). The supervisor answers at once: RESTART (budget left) or GIVE_UP (budget
 * spent) is queued in the worker's mailbox. The listener's cancel then puts
 * the job in `stopping`, whose STOP queues behind that answer. So the worker
 * goes `error → recovering → stopped` (cancelled), or `error → crashed` and
 * the job fails: the answer always wins, never a direct `error → stopped`.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobCancelledError, JobFailedError, JobSpec, type LifecycleEvent } from "../../src/index.js";
import { createTestEnv } from "../../src/testing/index.js";

let counter = 0;

async function cancelInError(maxRestarts: number) {
  const t = createTestEnv();
  const spec = JobSpec.define({ name: `cancel-in-error-${++counter}`, input: z.number(), output: z.number() });
  spec.defineWorker({
    liveEnv: t.env,
    processor: async () => {
      throw new Error("scripted failure");
    },
    retry: { maxRestarts, backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 0 } },
  });
  const states: string[] = [];
  const jobId = `job-${counter}`;
  t.env.subscribe((event: LifecycleEvent) => {
    if (event.jobId !== jobId || event.type !== "worker.state") return;
    states.push(event.state);
    if (event.state === "error") void job.cancel("cancelled while the worker is in error");
  });
  const job = await spec.enqueueJob({ liveEnv: t.env, jobId });
  const error = await job.waitUntilFinish().then(() => undefined, (e: unknown) => e);
  await t.close();
  return { states, error, status: job.status };
}

describe("cancel from a worker.state: error listener", () => {
  it("with restarts left, the worker goes error → recovering → stopped and the job is cancelled", async () => {
    const { states, error, status } = await cancelInError(3);
    expect(states).toEqual(["executing", "error", "recovering", "stopped"]);
    expect(status).toBe("cancelled");
    expect(error).toBeInstanceOf(JobCancelledError);
  });

  it("with the budget spent, the give-up wins: the worker goes error → crashed and the job fails", async () => {
    const { states, error, status } = await cancelInError(0);
    expect(states).toEqual(["executing", "error", "crashed"]);
    expect(status).toBe("failed");
    expect(error).toBeInstanceOf(JobFailedError);
  });
});
