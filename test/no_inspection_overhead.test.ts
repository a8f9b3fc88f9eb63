import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type LifecycleEvent, type LiveJob } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** White-box: the inspector the runtime attached to a job's root actor. */
function rootInspector(job: LiveJob): unknown {
  return (job.runtime as unknown as { actor: { options: { inspect?: unknown } } }).actor.options.inspect;
}

describe("inspection costs nothing unless asked for", () => {
  const echo = () => JobSpec.define({ name: "echo", input: z.number(), output: z.number() });

  it("no inspector: the job's actor gets no inspect observer", async () => {
    const { env } = createTestEnv();
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    expect(rootInspector(job)).toBeUndefined();
    await job.cancel();
  });

  it("lifecycle listeners need no inspection (the machines report their states); an env inspector attaches one", async () => {
    const seen: string[] = [];
    const { env } = createTestEnv();
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    const listened = await spec.enqueueJob({ liveEnv: env });
    const events: LifecycleEvent[] = [];
    listened.subscribe((event) => events.push(event));
    await listened.waitUntilFinish();
    expect(rootInspector(listened)).toBeUndefined();
    expect(events.map((e) => (e.type === "job.status" ? e.status : e.type === "worker.state" ? e.state : e.type))).toEqual([
      "queued",
      "running",
      "executing",
      "done",
      "completed",
    ]);

    const inspectedEnv = createTestEnv({ inspect: (event) => seen.push(event.type) }).env;
    spec.defineWorker({ liveEnv: inspectedEnv, processor: async () => {} });
    const inspected = await spec.enqueueJob({ liveEnv: inspectedEnv });
    expect(rootInspector(inspected)).toBeTypeOf("function");
    await inspected.waitUntilFinish();
    expect(seen).toContain("@xstate.snapshot");
  });
});
