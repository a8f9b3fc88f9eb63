/**
 * env.close({ graceMs }) and handleSignals on a backend of this process
 * alone: what is still running when the grace ends is cancelled.
 * Memory-only by nature: on a shared backend (Redis) close() releases those
 * jobs instead, and another process resumes them (README, "Running on
 * Redis"; the release path: test/redis_backend.redis.test.ts and
 * test/multi_process.redis.test.ts).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvClosedError, JobCancelledError, JobSpec } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { track } from "./helpers/collect.js";

afterEach(closeAll);

const flush = async (turns = 20) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
};

function specs() {
  const quick = JobSpec.define({ name: "quick", input: z.number(), output: z.number() });
  return { quick };
}

describe("env.close({ graceMs })", () => {
  it("lets a job that finishes within the grace complete, cancels the one that does not, and refuses new jobs at once", async () => {
    const { env, clock } = createTestEnv();
    const { quick } = specs();
    quick.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * 2);
      },
    });
    const finishing = await quick.enqueueJob({ liveEnv: env, jobId: "finishing" });
    const lingering = await quick.enqueueJob({ liveEnv: env, jobId: "lingering" });
    await finishing.input.feed(1);
    await lingering.input.feed(2);
    await flush();

    const closed = track(env.close({ graceMs: 1_000 }));
    await expect(quick.enqueueJob({ liveEnv: env })).rejects.toBeInstanceOf(EnvClosedError);

    // Within the grace, one job gets its end of input and completes.
    clock.increment(500);
    await finishing.input.terminate();
    await finishing.waitUntilFinish();
    expect(finishing.status).toBe("completed");
    await flush();
    expect(closed.settled).toBe(false);
    expect(lingering.status).toBe("running");

    // The grace ends: the other is cancelled, and close resolves.
    clock.increment(500);
    await expect(lingering.waitUntilFinish()).rejects.toBeInstanceOf(JobCancelledError);
    await closed.promise;
    expect(lingering.status).toBe("cancelled");
    expect(env.liveJobCount).toBe(0);
  });

  it("resolves at once, without waiting for the grace, when every job has already finished", async () => {
    const { env } = createTestEnv();
    const { quick } = specs();
    quick.defineWorker({ liveEnv: env, processor: async () => {} });
    const job = await quick.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    // The simulated clock never moves: a wait for the grace would hang here.
    await env.close({ graceMs: 60_000 });
    expect(env.isClosed).toBe(true);
  });
});

describe("LiveEnv.create({ handleSignals: true })", () => {
  it("closes the env on SIGTERM (the running job ends cancelled) and then ends the process by that signal", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/signal-shutdown.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("ready") && !child.killed) child.kill("SIGTERM");
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    expect(stderr).toBe("");
    expect(stdout).toContain("final:cancelled:JobCancelledError");
    expect(exit.signal).toBe("SIGTERM");
  }, 30_000);
});
