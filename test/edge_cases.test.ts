import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, UnknownTagError, type LifecycleEvent } from "../src/index.js";
import { settle } from "./helpers/collect.js";
import { closeAll, createTestEnv, deferred, nextEvent } from "./helpers/env.js";

afterEach(closeAll);

describe("edge cases", () => {
  it("enqueueAndGetResult returns the last message even with streams.historyLimit 0", async () => {
    const { env } = createTestEnv({ streams: { historyLimit: 0 } });
    const spec = JobSpec.define({ name: "edge-nohistory", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * 2);
      },
    });
    // With history 0 the message is dropped from the history at once; the result is the
    // stream's newest message, kept apart.
    const result = await spec.enqueueAndGetResult({ liveEnv: env, input: 21 });
    expect(result.data).toBe(42);
  });

  it("enqueueAndGetResult rejects an outputTag that is an Object.prototype key before creating a job", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "edge-protokey", input: z.number(), output: z.number() });
    let ran = 0;
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        ran++;
        for await (const n of input) await output.emit(n);
      },
    });
    // `"toString" in outputSchemas` is true for a plain object: the job runs, then a TypeError.
    const error = await spec.enqueueAndGetResult({ liveEnv: env, input: 1, outputTag: "toString" as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownTagError);
    expect(ran).toBe(0);
  });

  it("a queued job cancelled just before its worker is defined never reports running", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "edge-cancel-then-define", input: z.number() });
    const job = await spec.enqueueJob({ liveEnv: env });
    const statuses: string[] = [];
    job.subscribe((e: LifecycleEvent) => {
      if (e.type === "job.status") statuses.push(e.status);
    });
    let ran = false;
    const cancelled = job.cancel("no longer needed");
    // Synchronously after cancel (its final status lands in a microtask): registering the def drains the queue.
    spec.defineWorker({ liveEnv: env, processor: async () => void (ran = true) });
    await cancelled;
    await settle();
    expect(ran).toBe(false);
    expect(job.status).toBe("cancelled");
    // The scheduler reads the actor (cancelled at once), not `status` (a microtask later),
    // so a cancelled job never starts and listeners never see it run (the subscriber gets `queued` replayed).
    expect(statuses).toEqual(["queued", "cancelled"]);
  });

  it("env.close leaves no timer on the env clock (heartbeat, job timeout, backoff)", async () => {
    const { env, clock } = createTestEnv();
    const spec = JobSpec.define({ name: "edge-timers", input: z.number() });
    const started = deferred();
    spec.defineWorker({
      liveEnv: env,
      timeouts: { heartbeatMs: 1_000, jobMs: 100_000 },
      processor: async ({ input }) => {
        started.resolve();
        for await (const _ of input);
      },
    });
    await spec.enqueueJob({ liveEnv: env });
    await started.promise;
    // A second job waits in `recovering` on a long backoff.
    const flaky = JobSpec.define({ name: "edge-timers-flaky" });
    flaky.defineWorker({
      liveEnv: env,
      retry: { backoff: { initialMs: 50_000, jitter: 0 } },
      processor: async () => {
        throw new Error("once");
      },
    });
    // Its backoff timer is armed once its restart is granted (on a shared backend, after round trips).
    const restarting = nextEvent(env, (event) => event.type === "worker.restart" && event.specName === "edge-timers-flaky");
    await flaky.enqueueJob({ liveEnv: env });
    await restarting;
    await settle();
    expect((clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBeGreaterThan(0);
    await env.close();
    await settle();
    expect((clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBe(0);
  });
});
