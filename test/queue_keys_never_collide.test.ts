import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, Liveflow, expose, type LiveEnv } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

let counter = 0;

/** A spec whose jobs run until their input is terminated. */
function echoSpec(env: LiveEnv, name: string, concurrency: number) {
  const spec = JobSpec.define({ name, input: z.number(), output: z.number() });
  spec.defineWorker({
    liveEnv: env,
    concurrency,
    processor: async ({ input, output }) => {
      for await (const n of input) await output.emit(n);
    },
  });
  return spec;
}

/** A one-node flow named `name` around a fresh spec. */
function oneNodeFlow(env: LiveEnv, name: string) {
  const node = echoSpec(env, `node-${++counter}`, 10);
  return Liveflow.define({
    name,
    connections: [],
    exposures: [expose(node.input.default, "in"), expose(node.output.default, "out")],
  });
}

/**
 * A spec and a flow have separate concurrency queues, whatever their names:
 * a spec named `flow:<x>` and a flow named `<x>` must not share one.
 */
describe("queue keys of specs and flows never collide", () => {
  it("a flow job starts while jobs of a spec named `flow:<its name>` wait for a slot", async () => {
    const { env } = createTestEnv();
    const name = `pipe-${++counter}`;
    const spec = echoSpec(env, `flow:${name}`, 1);
    const flow = oneNodeFlow(env, name);
    const specJob = await spec.enqueueJob({ liveEnv: env });
    const waiting = await spec.enqueueJob({ liveEnv: env });
    expect([specJob.status, waiting.status]).toEqual(["running", "queued"]);

    const flowJob = await flow.enqueueJob({ liveEnv: env });
    await expect.poll(() => flowJob.status).toBe("running");
    await flowJob.input("in").feed(7);
    await flowJob.input("in").terminate();
    await flowJob.waitUntilFinish();
    expect(flowJob.status).toBe("completed");
    expect([specJob.status, waiting.status]).toEqual(["running", "queued"]);
  });

  it("a spec job starts while a flow job of the colliding name runs", async () => {
    const { env } = createTestEnv();
    const name = `pipe-${++counter}`;
    const flow = oneNodeFlow(env, name);
    const spec = echoSpec(env, `flow:${name}`, 1);
    const flowJob = await flow.enqueueJob({ liveEnv: env });
    await expect.poll(() => flowJob.status).toBe("running");

    const first = await spec.enqueueJob({ liveEnv: env });
    await expect.poll(() => first.status).toBe("running");
    // The spec's own limit still holds: its second job waits for the first.
    const second = await spec.enqueueJob({ liveEnv: env });
    expect(second.status).toBe("queued");
    await first.input.terminate();
    await first.waitUntilFinish();
    await second.input.terminate();
    await second.waitUntilFinish();
    expect(second.status).toBe("completed");
    await expect.poll(() => flowJob.status).toBe("running");
  });
});
