import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { InspectorServer } from "../src/inspect/server.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** Generous: the child runs one short job; only a viewer left open keeps it alive longer. */
const CHILD_EXIT_BOUND_MS = 20_000;

/** Runs a TypeScript file in a fresh `node --import tsx`; resolves with its exit, or `timedOut` after the bound. */
function runChild(file: string): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
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
      // This child only: ended by its own pid.
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }, CHILD_EXIT_BOUND_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

describe("env.close() closes the viewers the env opened", () => {
  it(
    "a child process that opens viewers (one with a connected page) and closes its env exits by itself; the viewer no longer answers",
    async () => {
      const file = fileURLToPath(new URL("./fixtures/viewer-closed-by-env.ts", import.meta.url));
      const result = await runChild(file);
      expect(result.timedOut, `child still alive after ${CHILD_EXIT_BOUND_MS} ms; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(false);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(Object.assign({}, ...lines)).toEqual({ data: 2, keptAnswers: false, pageCloseCode: expect.any(Number) });
    },
    CHILD_EXIT_BOUND_MS + 10_000,
  );

  it("in process: after env.close() the viewer's port refuses connections, and closing the viewer again is harmless", async () => {
    const { env } = createTestEnv();
    const viewer: InspectorServer = await env.serveInspector();
    expect((await fetch(viewer.url)).status).toBe(200);
    await env.close();
    await expect(fetch(viewer.url)).rejects.toThrow();
    await expect(viewer.close()).resolves.toBeUndefined();
  });

  it("a viewer asked for on a closed env is refused, and nothing is left listening", async () => {
    const { env } = createTestEnv();
    await env.close();
    const before = process.getActiveResourcesInfo().filter((name) => name === "TCPServerWrap").length;
    await expect(env.serveInspector()).rejects.toThrow(/closed/);
    expect(process.getActiveResourcesInfo().filter((name) => name === "TCPServerWrap").length).toBe(before);
  });
});
