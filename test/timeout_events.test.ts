import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type LifecycleEvent } from "../src/index.js";
import { closeAll, createTestEnv, nextEvent } from "./helpers/env.js";
import { driveUntilSettled } from "./helpers/drive.js";

afterEach(closeAll);

let specCount = 0;
const numbersSpec = () => JobSpec.define({ name: `timeout-events-${++specCount}`, input: z.number(), output: z.number() });
const forever = () => new Promise<never>(() => {});
/**
 * Waits for the job's final `job.status` event, its last: events may arrive
 * after the outcome (a backend across processes), and what is checked is
 * every event the job had.
 */
const untilFinalEvent = (events: LifecycleEvent[], jobId: string) =>
  expect.poll(() => events.some((e) => e.type === "job.status" && e.jobId === jobId && ["completed", "failed", "cancelled"].includes(e.status))).toBe(true);
const timeouts = (events: LifecycleEvent[], jobId: string) =>
  events.filter((e) => e.type === "timeout" && e.jobId === jobId).map((e) => ({ kind: (e as { kind: string }).kind, ms: (e as { ms: number }).ms, worker: (e as { workerName?: string }).workerName }));

describe("timeout lifecycle events", () => {
  it("an init timeout is reported once per expiry, naming the worker", async () => {
    const { env, clock } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const spec = numbersSpec();
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: { initialMs: 10, jitter: 0 } },
      timeouts: { initMs: 100 },
      init: forever,
      processor: async () => {},
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await expect.poll(() => job.status).not.toBe("queued"); // on a shared backend it starts after round trips
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 10, maxSteps: 200 });
    expect(job.status).toBe("failed");
    await untilFinalEvent(events, job.jobId);
    expect(timeouts(events, job.jobId)).toEqual([
      { kind: "init", ms: 100, worker: spec.name },
      { kind: "init", ms: 100, worker: spec.name },
    ]);
  });

  it("a stop timeout (processor ignoring its signal on cancel) and a job timeout are reported", async () => {
    const { env, clock } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const stubborn = numbersSpec();
    stubborn.defineWorker({ liveEnv: env, timeouts: { stopMs: 50 }, processor: forever });
    // Cancelled once its processor runs (on a shared backend, after round trips): a queued job is cancelled without one.
    const executing = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.specName === stubborn.name);
    const cancelled = await stubborn.enqueueJob({ liveEnv: env });
    await executing;
    const stopping = nextEvent(env, (e) => e.type === "worker.state" && e.state === "stopping" && e.jobId === cancelled.jobId);
    const cancelling = cancelled.cancel("enough");
    // The stop timer is armed once the cancel reached the attempt (on a shared backend, after round trips).
    await stopping;
    await driveUntilSettled(clock, cancelling, { stepMs: 10, maxSteps: 100 });
    expect(cancelled.status).toBe("cancelled");
    await untilFinalEvent(events, cancelled.jobId);
    expect(timeouts(events, cancelled.jobId)).toEqual([{ kind: "stop", ms: 50, worker: stubborn.name }]);

    events.length = 0;
    const slow = numbersSpec();
    slow.defineWorker({ liveEnv: env, timeouts: { jobMs: 200, stopMs: 50 }, processor: forever });
    const timedOut = await slow.enqueueJob({ liveEnv: env });
    await expect.poll(() => timedOut.status).not.toBe("queued"); // its job timer is armed when it starts
    await driveUntilSettled(clock, timedOut.waitUntilFinish(), { stepMs: 10, maxSteps: 100 });
    expect(timedOut.status).toBe("failed");
    await untilFinalEvent(events, timedOut.jobId);
    // Causes first: the job timeout, then the stop timeout it led to.
    expect(timeouts(events, timedOut.jobId)).toEqual([
      { kind: "job", ms: 200, worker: undefined },
      { kind: "stop", ms: 50, worker: slow.name },
    ]);
  });
});
