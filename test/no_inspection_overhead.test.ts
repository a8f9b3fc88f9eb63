import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type LiveJob } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** White-box: what the runtime attached to a job's root actor for inspection. */
function inspectionOf(job: LiveJob) {
  const runtime = job.runtime as unknown as { observingWorkers: boolean; actor: { options: { inspect?: unknown } } };
  return { rootInspector: runtime.actor.options.inspect, lifecycleObserver: runtime.observingWorkers };
}

describe("inspection costs nothing unless asked for", () => {
  const echo = () => JobSpec.define({ name: "echo", input: z.number(), output: z.number() });

  it("no inspector and no listener: the job's actor gets no inspect observer and no lifecycle observer", async () => {
    const { env } = createTestEnv();
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const job = await spec.enqueueJob({ liveEnv: env });
    expect(inspectionOf(job)).toEqual({ rootInspector: undefined, lifecycleObserver: false });
    await job.cancel();
  });

  it("an env inspector, or a lifecycle listener, attaches exactly what it needs", async () => {
    const seen: string[] = [];
    const { env } = createTestEnv({ inspect: (event) => seen.push(event.type) });
    const spec = echo();
    spec.defineWorker({ liveEnv: env, processor: async () => {} });
    const inspected = await spec.enqueueJob({ liveEnv: env });
    expect(inspectionOf(inspected).rootInspector).toBeTypeOf("function");
    expect(inspectionOf(inspected).lifecycleObserver).toBe(false);
    const listened = await spec.enqueueJob({ liveEnv: env });
    listened.subscribe(() => {});
    expect(inspectionOf(listened).lifecycleObserver).toBe(true);
    await Promise.all([inspected.waitUntilFinish(), listened.waitUntilFinish()]);
    expect(seen).toContain("@xstate.snapshot");
  });
});
