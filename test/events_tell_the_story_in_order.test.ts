/**
 * Issue 11 §8: lifecycle events tell the story in order, from the start.
 * Causes come before their effects (a granted restart before `recovering`, a
 * timeout before the `error` or `stopping` it caused), a subscriber that comes
 * late first gets the events so far, and inspectors get errors as plain data.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { InspectionEvent } from "xstate";
import { z } from "zod";
import { JobSpec, type LifecycleEvent } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { driveUntilSettled } from "./helpers/drive.js";
import { suiteBackend } from "./helpers/backends.js";
import { quiet } from "./helpers/backendProbes.js";

afterEach(closeAll);

let specCount = 0;
const numbers = () => JobSpec.define({ name: `story-${++specCount}`, input: z.number(), output: z.number() });
const forever = () => new Promise<never>(() => {});

/**
 * Waits until `events` hold the job's final status. On a shared backend
 * (Redis) events arrive through the env's event stream, and a journal's
 * replay to `job.subscribe` after a round trip, so after the job's outcome;
 * the story is checked whole once its end is there.
 */
async function untilTheEnd(events: LifecycleEvent[]): Promise<void> {
  await expect.poll(() => events.some((event) => event.type === "job.status" && ["completed", "failed", "cancelled"].includes(event.status)), { timeout: 5_000 }).toBe(true);
}

/** Short names: `job:running`, `worker:error@1`, `restart@1`, `timeout:heartbeat`. */
function story(events: LifecycleEvent[]): string[] {
  return events.map((event) => {
    switch (event.type) {
      case "job.status":
        return `job:${event.status}`;
      case "worker.state":
        return `worker:${event.state}@${event.attempt}`;
      case "worker.restart":
        return `restart@${event.attempt}`;
      case "timeout":
        return `timeout:${event.kind}`;
      case "job.progress":
        return "progress";
    }
  });
}

describe("causes come before their effects", () => {
  it("a granted restart is reported before `recovering`", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: { initialMs: 10, jitter: 0 } },
      processor: async ({ attempt }) => {
        if (attempt === 1) throw new Error("first attempt fails");
      },
    });
    const events: LifecycleEvent[] = [];
    env.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    await untilTheEnd(events);
    expect(story(events)).toEqual([
      "job:queued",
      "job:running",
      "worker:executing@1",
      "worker:error@1",
      "restart@1",
      "worker:recovering@1",
      "worker:executing@2",
      "worker:done@2",
      "job:completed",
    ]);
  });

  it("a heartbeat timeout is reported before the `error` it caused", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, retry: { maxRestarts: 0 }, timeouts: { heartbeatMs: 100 }, processor: forever });
    const events: LifecycleEvent[] = [];
    env.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    await untilTheEnd(events);
    expect(story(events)).toEqual(["job:queued", "job:running", "worker:executing@1", "timeout:heartbeat", "worker:error@1", "worker:crashed@1", "job:failed"]);
  });

  it("a job timeout is reported before the workers stop because of it, and before their stop timeout", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, timeouts: { jobMs: 200, stopMs: 50 }, processor: forever });
    const events: LifecycleEvent[] = [];
    env.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    await untilTheEnd(events);
    expect(story(events)).toEqual([
      "job:queued",
      "job:running",
      "worker:executing@1",
      "timeout:job",
      "worker:stopping@1",
      "timeout:stop",
      "worker:stopped@1",
      "job:failed",
    ]);
  });
});

describe("a subscriber that comes late gets the story from the start", () => {
  it("job.subscribe right after `await enqueueJob()` sees queued, running and initializing, then the live events", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, init: () => "ready", processor: async ({ input }) => { for await (const _ of input); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    const events: LifecycleEvent[] = [];
    job.subscribe((event) => events.push(event));
    // In memory the replay is delivered within `subscribe`; on Redis it arrives after a round trip (and the job may start after it).
    await expect.poll(() => story(events).slice(0, 3), { timeout: 5_000 }).toEqual(["job:queued", "job:running", "worker:initializing@1"]);
    await job.input.terminate();
    await job.waitUntilFinish();
    await untilTheEnd(events);
    expect(story(events)).toEqual(["job:queued", "job:running", "worker:initializing@1", "worker:executing@1", "worker:done@1", "job:completed"]);
  });

  it("a subscriber of a finished job gets its whole story, and nothing after", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    const events: LifecycleEvent[] = [];
    const unsubscribe = job.subscribe((event) => events.push(event));
    await untilTheEnd(events);
    await quiet(suiteBackend()); // nothing after the end
    expect(story(events)).toEqual(["job:queued", "job:running", "worker:executing@1", "worker:done@1", "job:completed"]);
    expect(unsubscribe).toBeTypeOf("function");
    unsubscribe();
  });

  it("progress reports of one worker in a row are kept as the newest only (a gauge), so the story's start stays", async () => {
    const { env } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ progress }) => {
        for (let i = 1; i <= 1_000; i++) progress(i);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    const events: LifecycleEvent[] = [];
    job.subscribe((event) => events.push(event));
    await untilTheEnd(events);
    expect(story(events)).toEqual(["job:queued", "job:running", "worker:executing@1", "progress", "worker:done@1", "job:completed"]);
    expect(events.find((event) => event.type === "job.progress")).toMatchObject({ value: 1_000 });
  });
});

describe("nothing after the end", () => {
  it("progress reported after the processor returned, or after the job is final, is dropped", async () => {
    const { env, clock } = createTestEnv();
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ progress }) => {
        clock.setTimeout(() => progress("late"), 20);
      },
    });
    const events: LifecycleEvent[] = [];
    env.subscribe((event) => events.push(event));
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    await driveUntilSettled(clock, new Promise((resolve) => clock.setTimeout(resolve, 50)));
    await untilTheEnd(events);
    await quiet(suiteBackend()); // a late progress, were it published, would have arrived
    expect(story(events)).toEqual(["job:queued", "job:running", "worker:executing@1", "worker:done@1", "job:completed"]);
  });
});

describe("inspectors tell jobs apart", () => {
  it("spec `a` with job `b:x` and spec `a:b` with job `x` are two actors with two names", async () => {
    const names = new Set<string>();
    const { env } = createTestEnv({ inspect: (event) => event.type === "@xstate.actor" && names.add((event.actorRef as unknown as { id: string }).id) });
    const a = JobSpec.define({ name: `a${specCount}`, input: z.number() });
    const ab = JobSpec.define({ name: `a${specCount}:b`, input: z.number() });
    a.defineWorker({ liveEnv: env, processor: async () => {} });
    ab.defineWorker({ liveEnv: env, processor: async () => {} });
    await (await a.enqueueJob({ liveEnv: env, jobId: "b:x" })).waitUntilFinish();
    await (await ab.enqueueJob({ liveEnv: env, jobId: "x" })).waitUntilFinish();
    const jobs = [...names].filter((n) => n.startsWith("job:"));
    const workers = [...names].filter((n) => n.startsWith("worker:") && n.includes("/"));
    expect(jobs).toHaveLength(2);
    expect(workers).toHaveLength(2);
  });
});

describe("inspectors see why a worker failed", () => {
  it("a worker's context.error and the error events arrive as plain data with name and message", async () => {
    const seen: InspectionEvent[] = [];
    const { env, clock } = createTestEnv({ inspect: (event) => seen.push(event) });
    const spec = numbers();
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: { initialMs: 10, jitter: 0 } },
      processor: async ({ attempt }) => {
        if (attempt === 1) throw new TypeError("the oven is cold");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await driveUntilSettled(clock, job.waitUntilFinish());
    // What an inspector would send over the wire.
    const wire = JSON.parse(JSON.stringify(seen.map((event) => ({ type: event.type, snapshot: (event as { snapshot?: unknown }).snapshot, event: (event as { event?: unknown }).event }))));
    const inError = wire.find((e: { snapshot?: { value?: string } }) => e.snapshot?.value === "error");
    expect(inError.snapshot.context.error).toMatchObject({ name: "TypeError", message: "the oven is cold" });
    const failedEvent = wire.find((e: { event?: { type?: string } }) => e.event?.type === "WORKER.FAILED");
    expect(failedEvent.event.error).toMatchObject({ name: "TypeError", message: "the oven is cold" });
    const actorError = wire.find((e: { event?: { type?: string } }) => e.event?.type?.startsWith("xstate.error.actor"));
    expect(actorError.event.error).toMatchObject({ name: "TypeError", message: "the oven is cold" });
  });

  it("a crashed worker's done event (its output) and the action sending WORKER.FAILED carry the error as plain data too", async () => {
    const seen: InspectionEvent[] = [];
    const { env } = createTestEnv({ inspect: (event) => seen.push(event) });
    const spec = numbers();
    spec.defineWorker({ liveEnv: env, retry: { maxRestarts: 0 }, processor: async () => Promise.reject(new RangeError("out of flour")) });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish().catch(() => {});
    const wire = JSON.parse(JSON.stringify(seen.map((event) => ({ type: event.type, event: (event as { event?: unknown }).event, action: (event as { action?: unknown }).action }))));
    const done = wire.find((e: { event?: { type?: string } }) => e.event?.type?.startsWith("xstate.done.actor.worker"));
    expect(done.event.output.error).toMatchObject({ name: "RangeError", message: "out of flour" });
    const sent = wire.find(
      (e: { type: string; action?: { params?: { event?: { type?: string } } } }) => e.type === "@xstate.action" && e.action?.params?.event?.type === "WORKER.FAILED",
    );
    expect(sent.action.params.event.error).toMatchObject({ name: "RangeError", message: "out of flour" });
  });
});
