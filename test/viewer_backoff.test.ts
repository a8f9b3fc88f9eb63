import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { EventCollector } from "../src/inspect/EventCollector.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("the viewer's restart records carry the backoff the supervisor granted", () => {
  it("a local worker: the backoff of its RESTART, not the time it spent recovering", async () => {
    const collector = new EventCollector();
    const env = LiveEnv.create({ projectId: "viewer-backoff", logger: quiet, inspect: (event) => collector.observe(event) });
    try {
      const spec = JobSpec.define({ name: "flaky-backoff", input: z.number(), output: z.number() });
      spec.defineWorker({
        liveEnv: env,
        retry: { maxRestarts: 2, backoff: { initialMs: 37, jitter: 0 } },
        processor: async ({ input, output, attempt }) => {
          for await (const n of input) {
            if (attempt === 1) throw new Error("first attempt fails");
            await output.emit(n);
          }
        },
      });
      await spec.enqueueAndGetResult({ liveEnv: env, jobId: "b1", input: 1 });
      const restarts = collector.transitions().filter((t) => t.actorId === "worker:flaky-backoff/b1" && t.restart);
      expect(restarts).toHaveLength(1);
      expect(restarts[0]).toMatchObject({ state: "recovering", attempt: 1, backoffMs: 37 });
    } finally {
      await env.close();
    }
  });

  it("a worker of another process: the delayMs of its worker.restart event, which comes before its recovering", () => {
    const collector = new EventCollector({ now: () => 0 });
    const base = { jobId: "r1", specName: "remote", workerName: "remote" };
    collector.observeLifecycle({ type: "worker.state", ...base, at: 10, state: "executing", attempt: 1 });
    collector.observeLifecycle({ type: "worker.state", ...base, at: 20, state: "error", attempt: 1, error: { name: "Error", message: "boom" } });
    collector.observeLifecycle({ type: "worker.restart", ...base, at: 21, attempt: 1, delayMs: 1234 });
    collector.observeLifecycle({ type: "worker.state", ...base, at: 21, state: "recovering", attempt: 1 });
    collector.observeLifecycle({ type: "worker.state", ...base, at: 1300, state: "executing", attempt: 2 });
    // A recovering with no restart event before it (one trimmed away) has no backoff rather than a stale one.
    collector.observeLifecycle({ type: "worker.state", ...base, at: 1400, state: "recovering", attempt: 2 });
    const restarts = collector.transitions().filter((t) => t.restart);
    expect(restarts.map((t) => t.backoffMs)).toEqual([1234, undefined]);
  });

  it("a cancelled job keeps its reason, and a job starts no later than the workers it spawned", async () => {
    let tick = 0;
    const collector = new EventCollector({ now: () => ++tick });
    const env = LiveEnv.create({ projectId: "viewer-cancel", logger: quiet, inspect: (event) => collector.observe(event) });
    try {
      const stew = JobSpec.define({ name: "stew-cancel", input: z.number(), output: z.number() });
      stew.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input) void _; } });
      const job = await stew.enqueueJob({ liveEnv: env, jobId: "c1" });
      await expect.poll(() => collector.transitions().some((t) => t.actorId === "worker:stew-cancel/c1")).toBe(true);
      await job.cancel("guests left");
      await job.waitUntilFinish().catch(() => {});
      const at = (actorId: string, state: string) => collector.transitions().find((t) => t.actorId === actorId && t.state === state);
      expect(at("job:stew-cancel/c1", "cancelled")?.error).toMatch(/guests left/);
      expect(at("job:stew-cancel/c1", "running")!.at).toBeLessThanOrEqual(at("worker:stew-cancel/c1", "executing")!.at);
    } finally {
      await env.close();
    }
  });
});
