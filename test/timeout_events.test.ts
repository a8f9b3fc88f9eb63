import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type LifecycleEvent } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { driveUntilSettled } from "./helpers/drive.js";

afterEach(closeAll);

let specCount = 0;
const numbersSpec = () => JobSpec.define({ name: `timeout-events-${++specCount}`, input: z.number(), output: z.number() });
const forever = () => new Promise<never>(() => {});
const timeouts = (events: LifecycleEvent[]) =>
  events.filter((e) => e.type === "timeout").map((e) => ({ kind: (e as { kind: string }).kind, ms: (e as { ms: number }).ms, worker: (e as { workerName?: string }).workerName }));

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
    await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 10, maxSteps: 200 });
    expect(job.status).toBe("failed");
    expect(timeouts(events)).toEqual([
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
    const cancelled = await stubborn.enqueueJob({ liveEnv: env });
    const cancelling = cancelled.cancel("enough");
    await driveUntilSettled(clock, cancelling, { stepMs: 10, maxSteps: 100 });
    expect(cancelled.status).toBe("cancelled");
    expect(timeouts(events)).toEqual([{ kind: "stop", ms: 50, worker: stubborn.name }]);

    events.length = 0;
    const slow = numbersSpec();
    slow.defineWorker({ liveEnv: env, timeouts: { jobMs: 200, stopMs: 50 }, processor: forever });
    const timedOut = await slow.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, timedOut.waitUntilFinish(), { stepMs: 10, maxSteps: 100 });
    expect(timedOut.status).toBe("failed");
    // Causes first: the job timeout, then the stop timeout it led to.
    expect(timeouts(events)).toEqual([
      { kind: "job", ms: 200, worker: undefined },
      { kind: "stop", ms: 50, worker: slow.name },
    ]);
  });
});
