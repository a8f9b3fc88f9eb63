import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, Liveflow, conn, expose, type LifecycleEvent } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** The job statuses of one job, in the order listeners got them. */
const statusesOf = (events: LifecycleEvent[], jobId: string) =>
  events.filter((event) => event.type === "job.status" && event.jobId === jobId).map((event) => (event as { status: string }).status);

describe("a flow job's lifecycle events start with `queued`", () => {
  it("the first job of a flow in an env too (its queue starts being consumed as it is added)", async () => {
    const { env } = createTestEnv();
    const dough = JobSpec.define({ name: "dough", input: z.number(), output: z.number() });
    const bake = JobSpec.define({ name: "bake", input: z.number(), output: z.number() });
    for (const spec of [dough, bake]) {
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ input, output }) => {
          for await (const n of input) await output.emit(n);
        },
      });
    }
    const pizzeria = Liveflow.define({
      name: "pizzeria",
      connections: [conn({ from: dough, to: bake })],
      exposures: [expose(dough.input.default, "orders"), expose(bake.output.default, "pizzas")],
    });
    const events: LifecycleEvent[] = [];
    env.subscribe((event) => events.push(event));
    const first = await pizzeria.enqueueJob({ liveEnv: env, jobId: "first" });
    const replayed: LifecycleEvent[] = [];
    first.subscribe((event) => replayed.push(event));
    const second = await pizzeria.enqueueJob({ liveEnv: env, jobId: "second" });
    for (const job of [first, second]) await job.input("orders").terminate();
    await Promise.all([first.waitUntilFinish(), second.waitUntilFinish()]);
    await expect.poll(() => statusesOf(events, "first")).toEqual(["queued", "running", "completed"]);
    await expect.poll(() => statusesOf(replayed, "first")).toEqual(["queued", "running", "completed"]);
    await expect.poll(() => statusesOf(events, "second")).toEqual(["queued", "running", "completed"]);
  });
});
