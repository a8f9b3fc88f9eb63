/**
 * `env.serveInspector()` on Redis (issue 13): a viewer in any process of the
 * env shows every job of the env, those other processes run included (it
 * follows their lifecycle events; the actors of this process it inspects).
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { redisBackend } from "../src/redis/index.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const opened: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((env) => env.close()));
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function processOf(prefix: string): LiveEnv {
  const env = LiveEnv.create({ projectId: "kitchen", logger: silent, backend: redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000 }) });
  opened.push(env);
  return env;
}

interface ViewerInit {
  actors: Array<{ id: string; kind: string; parentId?: string; state: string; attempt?: number; error?: string }>;
  transitions: Array<{ actorId: string; state: string; restart: boolean; error?: string }>;
}

/** What the viewer sends a page that connects now (its first message). */
function viewerInit(pageUrl: string): Promise<ViewerInit> {
  const url = new URL(pageUrl);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${url.host}/ws${url.search}`);
    socket.once("message", (data) => {
      socket.close();
      resolve(JSON.parse(String(data)) as ViewerInit);
    });
    socket.once("error", reject);
  });
}

describe("the viewer of a Redis env", () => {
  it("in a process that runs no job, shows a job another process runs: its states, the failure with its message, and the restart", async () => {
    const prefix = uniquePrefix("redis-viewer");
    const client = processOf(prefix);
    const viewer = await client.serveInspector();
    const worker = processOf(prefix);
    const spec = JobSpec.define({ name: "viewed-soup", input: z.string(), output: z.string() });
    let attempts = 0;
    spec.defineWorker({
      liveEnv: worker,
      retry: { backoff: { initialMs: 0, jitter: 0 } },
      processor: async ({ input, output }) => {
        if (++attempts === 1) throw new Error("the pot boiled over");
        for await (const text of input) await output.emit(text.toUpperCase());
      },
    });
    const job = await spec.enqueueJob({ liveEnv: client });
    await job.input.feed("leek");
    await job.input.terminate();
    await job.waitUntilFinish();
    expect((await job.output.first())?.data).toBe("LEEK");
    const { jobId } = job;
    const jobActor = `job:viewed-soup/${jobId}`;
    const workerActor = `worker:viewed-soup/${jobId}`;
    await expect.poll(async () => (await viewerInit(viewer.url)).actors.find((actor) => actor.id === jobActor)?.state, { timeout: 5_000 }).toBe("completed");
    const init = await viewerInit(viewer.url);
    const workerRecord = init.actors.find((actor) => actor.id === workerActor);
    expect(workerRecord).toMatchObject({ kind: "worker", parentId: jobActor, state: "done", attempt: 2 });
    const states = init.transitions.filter((transition) => transition.actorId === workerActor);
    expect(states.map((transition) => transition.state)).toEqual(expect.arrayContaining(["executing", "error", "recovering", "done"]));
    expect(states.find((transition) => transition.state === "error")?.error).toMatch(/the pot boiled over/);
    expect(states.filter((transition) => transition.restart)).toHaveLength(1);
    // Nothing of it ran here: the viewer had only the events.
    expect(attempts).toBe(2);
  });
});
