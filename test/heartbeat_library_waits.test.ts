import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type LifecycleEvent } from "../src/index.js";
import { collect } from "./helpers/collect.js";
import { advanceBy } from "./helpers/drive.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

describe("the heartbeat timeout does not count waits inside the library", () => {
  it("a processor waiting in `for await (input)` for a slow feeder is not stalled", async () => {
    const { env, clock } = createTestEnv();
    const failures: LifecycleEvent[] = [];
    env.subscribe((e) => e.type === "timeout" && failures.push(e));
    const spec = JobSpec.define({ name: "hb-hb-idle", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 0 },
      timeouts: { heartbeatMs: 500 },
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const out = collect(job.output).catch((e: unknown) => e);
    await job.input.feed(1);
    await advanceBy(clock, 2_000, 100); // the user takes 2 s to send the next message
    expect(failures).toEqual([]);
    await expect.poll(() => job.status).toBe("running");
    await job.input.feed(2).catch(() => {});
    await job.input.terminate().catch(() => {});
    expect(await out).toEqual([1, 2]);
  });
});
