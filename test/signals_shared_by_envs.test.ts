/**
 * Issue 11 §6: several envs with `handleSignals: true` share one
 * process-wide handler. It closes every env in parallel (each with its own
 * grace) and re-raises the signal once, after the longest grace; eleven envs
 * add no `MaxListenersExceededWarning`.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("signals are shared fairly between envs", () => {
  it("SIGTERM closes every env with its own grace, then ends the process once by the signal", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/signals-shared.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture], { stdio: ["ignore", "pipe", "pipe"] });
    try {
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
      expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
      expect(stderr).toBe("");
      // Each job finished within its own env's grace: the first env to close did not end the process.
      for (const i of [0, 1, 2]) expect(stdout).toMatch(new RegExp(`env ${i}: completed`));
      expect(exit.signal).toBe("SIGTERM");
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
    }
  }, 30_000);
});
