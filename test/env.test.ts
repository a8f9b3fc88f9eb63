import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { collect, settle } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

const CHILD_EXIT_BOUND_MS = 20_000;

/** Runs a TypeScript file in a fresh `node --import tsx` process; resolves with its exit. */
function runChild(file: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, CHILD_EXIT_BOUND_MS);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

describe("LiveEnv", () => {
  it("two envs in one process are isolated: same spec name, different worker defs", async () => {
    const { env: left } = createTestEnv({ projectId: "left" });
    const { env: right } = createTestEnv({ projectId: "right" });
    const { env: empty } = createTestEnv({ projectId: "empty" });
    const spec = JobSpec.define({ name: "shared", input: z.string(), output: z.string() });
    const twin = JobSpec.define({ name: "shared", input: z.string(), output: z.string() });
    spec.defineWorker({
      liveEnv: left,
      processor: async ({ input, output }) => {
        for await (const s of input) await output.emit(`left:${s}`);
      },
    });
    twin.defineWorker({
      liveEnv: right,
      processor: async ({ input, output }) => {
        for await (const s of input) await output.emit(`right:${s}`);
      },
    });
    // Each env runs the spec object it knows under that name.
    const results = await Promise.all(
      ([[left, spec], [right, twin]] as const).map(async ([env, owner]) => {
        const job = await owner.enqueueJob({ liveEnv: env, jobId: "same-id" });
        await job.input.feed("x");
        await job.input.terminate();
        return collect(job.output);
      }),
    );
    expect(results).toEqual([["left:x"], ["right:x"]]);
    // An env without a def for the spec does not borrow another env's def.
    const stranded = await spec.enqueueJob({ liveEnv: empty, jobId: "same-id" });
    await stranded.input.terminate();
    await settle();
    expect(stranded.status).toBe("queued");
    // Closing one env leaves the other working.
    await left.close();
    const job = await twin.enqueueJob({ liveEnv: right });
    await job.input.feed("y");
    await job.input.terminate();
    expect(await collect(job.output)).toEqual(["right:y"]);
  });

  it("LiveEnv.global() returns one env until it is closed, then a fresh one", async () => {
    const first = LiveEnv.global();
    try {
      expect(LiveEnv.global()).toBe(first);
      await first.close();
      expect(first.isClosed).toBe(true);
      const second = LiveEnv.global();
      expect(second).not.toBe(first);
      expect(second.isClosed).toBe(false);
      await second.close();
    } finally {
      await LiveEnv.global().close();
    }
  });

  it("the global env is the default for defineWorker and enqueueJob", async () => {
    const spec = JobSpec.define({ name: "global-default", input: z.number(), output: z.number() });
    try {
      spec.defineWorker({
        processor: async ({ input, output }) => {
          for await (const n of input) await output.emit(n + 1);
        },
      });
      const job = await spec.enqueueJob();
      await job.input.feed(1);
      await job.input.terminate();
      expect(await collect(job.output)).toEqual([2]);
    } finally {
      await LiveEnv.global().close();
    }
  });

  it(
    "env.close() leaves no handle: a child process that runs a job and closes its env exits by itself",
    async () => {
      const file = fileURLToPath(new URL("./fixtures/close-exits.ts", import.meta.url));
      const result = await runChild(file);
      expect(result.timedOut, `child still alive after ${CHILD_EXIT_BOUND_MS} ms; stderr:\n${result.stderr}`).toBe(false);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout.trim())).toEqual({
        outputs: [2, 4, 6],
        status: "completed",
        running: "cancelled",
        queued: "cancelled",
      });
    },
    CHILD_EXIT_BOUND_MS + 10_000,
  );
});
