import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, UnrecoverableError, type LifecycleEvent } from "../src/index.js";
import { collect, settle } from "./helpers/collect.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, FAST_RETRY, nextEvent } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

/** `state@attempt` of every worker.state event, in order. */
function workerStates(events: LifecycleEvent[]): string[] {
  return events.flatMap((e) => (e.type === "worker.state" ? [`${e.state}@${e.attempt}`] : []));
}

let counter = 0;
const numbers = () => JobSpec.define({ name: `recover-${++counter}`, input: z.number(), output: z.number() });

describe("recovery", () => {
  it("a processor that throws at message k recovers and resumes from the first unacknowledged message", async () => {
    const { env, clock } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    autoAdvanceBackoff(env, clock);
    const spec = numbers();
    const seen: string[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      processor: async ({ input, output, attempt }) => {
        for await (const n of input) {
          seen.push(`${n}@${attempt}`);
          if (n === 3 && attempt === 1) throw new Error("bad ingredient 3");
          await output.emit(n * 10);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const read = collect(job.output);
    for (let n = 1; n <= 5; n++) await job.input.feed(n);
    await job.input.terminate();
    expect(await read).toEqual([10, 20, 30, 40, 50]);
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    // Attempt 2 starts at message 3: 1 and 2 were acknowledged, 3 was not.
    expect(seen).toEqual(["1@1", "2@1", "3@1", "3@2", "4@2", "5@2"]);
    // No init step: each attempt starts in executing.
    await expect.poll(() => workerStates(events)).toEqual(["executing@1", "error@1", "recovering@1", "executing@2", "done@2"]);
    const restart = events.find((e) => e.type === "worker.restart");
    expect(restart).toMatchObject({ attempt: 1, delayMs: 10, error: { message: "bad ingredient 3" } });
  });

  it("job.subscribe sees the same recovery, and the backoff waits on the env clock", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      retry: { ...FAST_RETRY, backoff: { initialMs: 250, factor: 1, maxMs: 250, jitter: 0 } },
      processor: async ({ input, output, attempt }) => {
        for await (const n of input) {
          if (attempt === 1) throw new Error("first attempt fails");
          await output.emit(n);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const events: LifecycleEvent[] = [];
    job.subscribe((e) => events.push(e));
    const restarted = nextEvent(env, (e) => e.type === "worker.restart");
    await job.input.feed(7);
    await job.input.terminate();
    expect(await restarted).toMatchObject({ type: "worker.restart", delayMs: 250 });
    await settle();
    clock.increment(249);
    await settle();
    expect(workerStates(events).at(-1)).toBe("recovering@1");
    const resumed = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.attempt === 2);
    clock.increment(1);
    await resumed;
    expect(await collect(job.output)).toEqual([7]);
    expect(workerStates(events)).toContain("done@2");
  });

  it("spending the restart budget fails the job: waitUntilFinish and every reader reject with JobFailedError", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = numbers();
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: { ...FAST_RETRY, maxRestarts: 2 },
      processor: async ({ input, attempt }) => {
        attempts++;
        for await (const n of input) throw new Error(`attempt ${attempt} failed on ${n}`);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const readerA = collect(job.output).catch((e: unknown) => e);
    const readerB = collect(job.output).catch((e: unknown) => e);
    await job.input.feed(1);
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    const failed = error as JobFailedError;
    expect(failed.jobId).toBe(job.jobId);
    expect(failed.cause).toBeInstanceOf(Error);
    expect((failed.cause as Error).message).toBe("attempt 3 failed on 1");
    expect(failed.restarts.map((r) => [r.attempt, r.delayMs, r.error.message])).toEqual([
      [1, 10, "attempt 1 failed on 1"],
      [2, 10, "attempt 2 failed on 1"],
    ]);
    expect(attempts).toBe(3);
    expect(job.status).toBe("failed");
    expectSameError(await readerA, error);
    expectSameError(await readerB, error);
    // A reader attached after the failure throws too.
    expectSameError(await collect(job.output).then(() => undefined, (e: unknown) => e), error);
    expectSameError(await job.output.first().then(() => undefined, (e: unknown) => e), error);
  });

  it("UnrecoverableError fails the job at once, without a restart", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const spec = numbers();
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: { ...FAST_RETRY, maxRestarts: 5 },
      processor: async () => {
        attempts++;
        throw new UnrecoverableError("the oven is gone");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(UnrecoverableError);
    expect((error as JobFailedError).restarts).toEqual([]);
    expect(attempts).toBe(1);
    expect(job.status).toBe("failed");
    expect(events.some((e) => e.type === "worker.restart")).toBe(false);
    await expect.poll(() => workerStates(events)).toEqual(["executing@1", "error@1", "crashed@1"]);
  });

  it("a throwing init is retried too, and the processor gets the resources of the attempt that succeeded", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const spec = numbers();
    let inits = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      init: async ({ attempt }) => {
        inits++;
        if (attempt === 1) throw new Error("knife not found");
        return { knife: `knife-${attempt}` };
      },
      processor: async ({ input, output, resources }) => {
        expect(resources.knife).toBe("knife-2");
        for await (const n of input) await output.emit(n + 1);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.feed(1);
    await job.input.terminate();
    expect(await collect(job.output)).toEqual([2]);
    expect(inits).toBe(2);
    await expect.poll(() => workerStates(events)).toEqual([
      "initializing@1",
      "error@1",
      "recovering@1",
      "initializing@2",
      "executing@2",
      "done@2",
    ]);
  });

  it("a failing job does not disturb another job in the same env", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      retry: { ...FAST_RETRY, maxRestarts: 0 },
      processor: async ({ input, output, jobId }) => {
        for await (const n of input) {
          if (jobId === "doomed") throw new Error("doomed");
          await output.emit(n);
        }
      },
    });
    const doomed = await spec.enqueueJob({ liveEnv: env, jobId: "doomed" });
    const healthy = await spec.enqueueJob({ liveEnv: env, jobId: "healthy" });
    await doomed.input.feed(1);
    await expect(doomed.waitUntilFinish()).rejects.toBeInstanceOf(JobFailedError);
    await healthy.input.feed(1);
    await healthy.input.feed(2);
    await healthy.input.terminate();
    expect(await collect(healthy.output)).toEqual([1, 2]);
    expect(healthy.status).toBe("completed");
  });
});
