import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { jobMachine, workerMachine } from "../machines/index.js";

/** Generous: the child runs one short job; only a leaked handle makes it slower. */
const CHILD_EXIT_BOUND_MS = 20_000;

interface Frame {
  type: string;
  name?: string;
  sessionId: string;
  parentId?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value?: unknown; status?: string };
}

/** A machine config as @statelyai/inspect serialises it when nothing is cut off (functions become `{ type: name }`). */
const wholeDefinition = (config: unknown) =>
  JSON.parse(JSON.stringify(config, (_key, value) => (typeof value === "function" ? { type: value.name } : value)));

const depth = (value: unknown): number =>
  value && typeof value === "object" ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0;

describe("Stately inspector protocol", () => {
  it(
    "a real createWebSocketInspector receives actor (whole definition), event and snapshot frames; the process then exits",
    async () => {
      const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      await new Promise<void>((resolve) => server.once("listening", resolve));
      const frames: Frame[] = [];
      const file = fileURLToPath(new URL("./fixtures/inspected-flaky-job.ts", import.meta.url));
      const child = spawn(process.execPath, ["--import", "tsx", file, `ws://127.0.0.1:${(server.address() as AddressInfo).port}`], {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const sessionOf = (name: string) => frames.find((f) => f.type === "@xstate.actor" && f.name === name)?.sessionId;
      // Both final snapshots: the inspector sends each from its own timer turn, so their frames may come apart.
      const finished = () => {
        const done = (name: string) => {
          const session = sessionOf(name);
          return frames.some((f) => f.type === "@xstate.snapshot" && f.sessionId === session && f.snapshot?.status === "done");
        };
        return done("job:flaky/j1") && done("worker:flaky/j1");
      };
      server.on("connection", (socket) => {
        socket.on("message", (data) => {
          frames.push(JSON.parse(String(data)) as Frame);
          if (finished() && child.stdin.writable) child.stdin.end("ack\n");
        });
      });
      const exit = await new Promise<{ code: number | null; timedOut: boolean }>((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve({ code: null, timedOut: true });
        }, CHILD_EXIT_BOUND_MS);
        child.on("exit", (code) => {
          clearTimeout(timer);
          resolve({ code, timedOut: false });
        });
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));

      expect(exit.timedOut, `child still alive after ${CHILD_EXIT_BOUND_MS} ms (frames: ${frames.length}); stderr:\n${stderr}`).toBe(false);
      expect(stderr).toBe("");
      expect(exit.code).toBe(0);
      expect(JSON.parse(stdout.trim())).toEqual({ data: 40 });

      const jobActor = frames.find((f) => f.type === "@xstate.actor" && f.name === "job:flaky/j1");
      const workerActor = frames.find((f) => f.type === "@xstate.actor" && f.name === "worker:flaky/j1");
      expect(jobActor, "an @xstate.actor frame named job:flaky/j1").toBeDefined();
      expect(workerActor, "an @xstate.actor frame named worker:flaky/j1").toBeDefined();
      expect(workerActor!.parentId).toBe(jobActor!.sessionId);
      // Whole: nothing replaced by "[Object]"/"[Array]" by serializationDepthLimit (default 10).
      expect(JSON.parse(jobActor!.definition!)).toEqual(wholeDefinition(jobMachine.config));
      expect(JSON.parse(workerActor!.definition!)).toEqual(wholeDefinition(workerMachine.config));
      expect(depth(wholeDefinition(jobMachine.config))).toBeLessThan(10);
      expect(depth(wholeDefinition(workerMachine.config))).toBeLessThan(10);

      const events = frames.filter((f) => f.type === "@xstate.event");
      expect(events.some((f) => f.sessionId === jobActor!.sessionId && f.event?.type === "WORKER.FAILED")).toBe(true);
      expect(events.some((f) => f.sessionId === workerActor!.sessionId && f.event?.type === "RESTART")).toBe(true);

      const workerStates = frames
        .filter((f) => f.type === "@xstate.snapshot" && f.sessionId === workerActor!.sessionId)
        .map((f) => f.snapshot!.value)
        .filter((value, i, all) => i === 0 || value !== all[i - 1]);
      expect(workerStates).toEqual(["initializing", "executing", "error", "recovering", "initializing", "executing", "done"]);
    },
    CHILD_EXIT_BOUND_MS + 10_000,
  );
});
