// The page's one request to the viewer's server, `{ type: "details", jobActorId }`: a job's options come back while the job
// runs here; options JSON cannot carry (a BigInt) never crash the process; a request over 4 KiB closes the socket.
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close()));
});

/** Connects to a viewer's WebSocket and collects what it sends. */
async function page(url: string): Promise<{ socket: WebSocket; next(type: string): Promise<Record<string, unknown>>; closed: Promise<number> }> {
  const socket = new WebSocket(url.replace("http://", "ws://").replace(/\/(\?|$)/, "/ws$1"));
  const received: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  socket.on("message", (data) => {
    received.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const next = async (type: string) => {
    for (;;) {
      const found = received.find((message) => message.type === type);
      if (found) {
        received.splice(received.indexOf(found), 1);
        return found;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { socket, next, closed };
}

describe("viewer details requests", () => {
  it("answers a running job's options, says null for an unknown job, and survives options JSON cannot carry", async () => {
    const env = LiveEnv.create({ projectId: "viewer-details", logger: silent });
    envs.push(env);
    const viewer = await env.serveInspector();
    const plain = JobSpec.define({ name: "plain", input: z.number(), jobOptions: z.object({ oven: z.string() }) });
    const big = JobSpec.define({ name: "big", input: z.number(), jobOptions: z.object({ n: z.bigint() }) });
    for (const spec of [plain, big] as const) spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input) void _; } });
    const a = await plain.enqueueJob({ liveEnv: env, jobId: "p1", jobOptions: { oven: "stone" } });
    const b = await big.enqueueJob({ liveEnv: env, jobId: "b1", jobOptions: { n: 10n } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { socket, next } = await page(viewer.url);
    await next("init");
    socket.send(JSON.stringify({ type: "details", jobActorId: "job:plain/p1" }));
    expect(await next("details")).toEqual({ type: "details", jobActorId: "job:plain/p1", jobOptions: { plain: { oven: "stone" } } });
    socket.send(JSON.stringify({ type: "details", jobActorId: "job:big/b1" }));
    expect(await next("details")).toEqual({ type: "details", jobActorId: "job:big/b1", jobOptions: null, unreadable: true });
    socket.send(JSON.stringify({ type: "details", jobActorId: "job:plain/nobody" }));
    expect(await next("details")).toEqual({ type: "details", jobActorId: "job:plain/nobody", jobOptions: null });
    // The jobs ran on unharmed.
    for (const job of [a, b]) await job.input.terminate();
    await Promise.all([a.waitUntilFinish(), b.waitUntilFinish()]);
    expect([a.status, b.status]).toEqual(["completed", "completed"]);
    socket.close();
  });

  it("closes a page's socket that sends more than 4 KiB at once (pages send only small requests)", async () => {
    const env = LiveEnv.create({ projectId: "viewer-details-big", logger: silent });
    envs.push(env);
    const viewer = await env.serveInspector();
    const { socket, closed } = await page(viewer.url);
    socket.send(JSON.stringify({ type: "details", jobActorId: `job:x/${"y".repeat(10_000)}` }));
    expect(await closed).toBe(1009);
  });
});
