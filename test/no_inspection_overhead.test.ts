import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type LifecycleEvent, type LiveEnv, type LiveJob } from "../src/index.js";
import { runtimeOf } from "./helpers/internals.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/**
 * White-box: the inspector the runtime attached to a job's root actor, once
 * the job runs in `env` (on Redis it starts after round trips; this env, the
 * one with the worker, takes it).
 */
async function rootInspector(env: LiveEnv, job: LiveJob): Promise<unknown> {
  await expect.poll(() => runtimeOf(env, job)).toBeDefined();
  return (runtimeOf(env, job)!.actor as unknown as { options: { inspect?: unknown } }).options.inspect;
}

describe("inspection costs nothing unless asked for", () => {
  const echo = () => JobSpec.define({ name: "echo", input: z.number(), output: z.number() });

  it("no inspector: the job's actor gets no inspect observer", async () => {
    const { env } = createTestEnv();
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    expect(await rootInspector(env, job)).toBeUndefined();
    await job.cancel();
  });

  it("lifecycle listeners need no inspection (the machines report their states); an env inspector attaches one", async () => {
    const seen: string[] = [];
    const { env } = createTestEnv();
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input); } });
    const listened = await spec.enqueueJob({ liveEnv: env });
    const events: LifecycleEvent[] = [];
    listened.subscribe((event) => events.push(event));
    expect(await rootInspector(env, listened)).toBeUndefined();
    await listened.input.terminate();
    await listened.waitUntilFinish();
    // On Redis the journal's events arrive after round trips, after the outcome (the journal ends at the final status).
    await expect.poll(() => events.map((e) => (e.type === "job.status" ? e.status : e.type === "worker.state" ? e.state : e.type))).toEqual([
      "queued",
      "running",
      "executing",
      "done",
      "completed",
    ]);

    const inspectedEnv = createTestEnv({ inspect: (event) => seen.push(event.type) }).env;
    spec.defineWorker({ liveEnv: inspectedEnv, processor: async ({ input }) => { for await (const _ of input); } });
    const inspected = await spec.enqueueJob({ liveEnv: inspectedEnv });
    expect(await rootInspector(inspectedEnv, inspected)).toBeTypeOf("function");
    await inspected.input.terminate();
    await inspected.waitUntilFinish();
    expect(seen).toContain("@xstate.snapshot");
  });
});
