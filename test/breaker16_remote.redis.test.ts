/**
 * Breaker 16 on Redis: a viewer in a process that runs no job (README: "a
 * viewer in any process of the env shows every job of the env"):
 *
 * - a failed attempt of a job another process runs comes with no stack (the
 *   lifecycle event's serialised error drops `stack`, a non-enumerable own
 *   field): the detail panel shows "last error" with no stack;
 * - a flow job another process runs comes with no wiring at all (the sampler
 *   reads only this process's flow jobs): its nodes, ports and wires are not
 *   drawn, not even without counts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv, Liveflow, conn, expose } from "../src/index.js";
import { redisBackend } from "../src/redis/index.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";
import { silent, viewerInit } from "./breaker16_support.js";

const opened: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((env) => env.close()));
});

function processOf(prefix: string): LiveEnv {
  const env = LiveEnv.create({ projectId: "b16-remote", logger: silent, backend: redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000 }) });
  opened.push(env);
  return env;
}

describe("breaker16: the viewer of a Redis env, for jobs another process runs", () => {
  it("gives the failed attempt's stack (the detail panel's 'last error with its stack')", async () => {
    const prefix = uniquePrefix("b16-stack");
    const client = processOf(prefix);
    const viewer = await client.serveInspector({ flushMs: 20 });
    const worker = processOf(prefix);
    const spec = JobSpec.define({ name: "remote-soup", input: z.number(), output: z.number() });
    let attempts = 0;
    spec.defineWorker({
      liveEnv: worker,
      retry: { backoff: { initialMs: 0, jitter: 0 } },
      processor: async ({ input, output }) => {
        if (++attempts === 1) throw new Error("remote boom");
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client, jobId: "s1" });
    await job.input.feed(1);
    await job.input.terminate();
    await job.waitUntilFinish();
    const failure = async () => (await viewerInit(viewer.url)).transitions.find((t) => t.actorId === "worker:remote-soup/s1" && t.state === "error");
    await expect.poll(failure, { timeout: 5_000 }).toBeDefined();
    const error = (await failure())!;
    expect(error.error).toMatch(/remote boom/);
    expect(error.stack, "the stack of the remote failure").toMatch(/remote boom[\s\S]*\n\s+at /);
  });

  it("draws the wiring of a flow job another process runs", async () => {
    const prefix = uniquePrefix("b16-wiring");
    const client = processOf(prefix);
    const viewer = await client.serveInspector({ flushMs: 20 });
    const worker = processOf(prefix);
    const a = JobSpec.define({ name: "ra", input: z.number(), output: z.number() });
    const b = JobSpec.define({ name: "rb", input: z.number(), output: z.number() });
    for (const spec of [a, b]) spec.defineWorker({ liveEnv: worker, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const flow = Liveflow.define({ name: "rflow", connections: [conn({ from: a, to: b })], exposures: [expose(a.input.default, "in"), expose(b.output.default, "out")] });
    const job = await flow.enqueueJob({ liveEnv: client, jobId: "f1" });
    await job.input("in").feed(1);
    await expect.poll(async () => (await viewerInit(viewer.url)).actors.find((actor) => actor.id === "worker:rb/f1")?.state, { timeout: 5_000 }).toBe("executing");
    // The sampler lays a new flow out asynchronously: a page that connects a moment later gets it.
    const flowJobs = async () => ((await viewerInit(viewer.url)) as unknown as { flows: { flows: Array<{ jobActorId: string }> } }).flows.flows.map((f) => f.jobActorId);
    await expect.poll(flowJobs, { timeout: 5_000 }).toContain("job:rflow/f1");
    await job.input("in").terminate();
    await job.waitUntilFinish();
  });
});
