/**
 * Sends every job and worker actor to an XState / Stately inspector over a
 * WebSocket. A small local server stands in for the inspector's relay here,
 * so the example runs offline and checks what the inspector would receive.
 *
 *   npx tsx examples/inspect-websocket.ts
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createWebSocketInspector } from "@statelyai/inspect";
import { WebSocketServer } from "ws";
import { z } from "zod";
import { JobSpec, LiveEnv } from "liveworker";

// ——— a stand-in for the inspector's relay: records the frames it receives ———
type Frame = { type: string; name?: string; sessionId?: string; snapshot?: { value?: unknown; status?: string } };
const frames: Frame[] = [];
const sessionOf = (name: string) => frames.find((f) => f.type === "@xstate.actor" && f.name === name)?.sessionId;
const finished = (name: string) =>
  frames.some((f) => f.type === "@xstate.snapshot" && f.sessionId === sessionOf(name) && f.snapshot?.status === "done");
// The inspector sends each frame from a timer turn of its own: wait for both final snapshots.
const jobDone = () => finished("job:taste/soup-1") && finished("worker:taste/soup-1");
const relay = new WebSocketServer({ host: "127.0.0.1", port: 0 });
await new Promise((resolve) => relay.once("listening", resolve));
relay.on("connection", (socket) => socket.on("message", (raw) => frames.push(JSON.parse(String(raw)))));
const url = `ws://127.0.0.1:${(relay.address() as AddressInfo).port}`;

// ——— the part you write ———
const inspector = createWebSocketInspector({ url });
const env = LiveEnv.create({ projectId: "kitchen", inspect: inspector.inspect });

const taste = JobSpec.define({ name: "taste", input: z.string(), output: z.string() });
taste.defineWorker({
  liveEnv: env,
  retry: { backoff: { initialMs: 20, jitter: 0 } },
  processor: async ({ input, output, attempt }) => {
    for await (const dish of input) {
      if (attempt === 1) throw new Error("too salty");
      await output.emit(`${dish}: fine`);
    }
  },
});
const { data } = await taste.enqueueAndGetResult({ liveEnv: env, jobId: "soup-1", input: "soup" });
await env.close();

// ——— what the inspector saw ———
// Frames travel asynchronously: wait (at most 5 s) for the job's and the worker's final snapshots.
for (let waited = 0; !jobDone() && waited < 5_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
inspector.stop();
await new Promise((resolve) => relay.close(resolve));

const actors = frames.filter((f) => f.type === "@xstate.actor").map((f) => f.name);
const workerStates = frames
  .filter((f) => f.type === "@xstate.snapshot" && f.sessionId === sessionOf("worker:taste/soup-1"))
  .map((f) => f.snapshot?.value)
  .filter((value, i, all) => value !== all[i - 1]);
console.log(`result: ${data}`);
console.log(`actors: ${actors.join(", ")}`);
console.log(`worker states: ${workerStates.join(" → ")}`);
assert.equal(data, "soup: fine");
assert.ok(actors.includes("job:taste/soup-1") && actors.includes("worker:taste/soup-1"));
// No `init`: each attempt starts in executing.
assert.deepEqual(workerStates, ["executing", "error", "recovering", "executing", "done"]);
