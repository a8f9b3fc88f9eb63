// What a user writes to model-test their own worker with liveworker/testing.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type ProcessorOf } from "liveworker";
import { createTestEnv, workerTestCases } from "liveworker/testing";

const shout = JobSpec.define({
  name: "shout",
  input: z.object({ text: z.string() }),
  output: z.object({ text: z.string() }),
});

// The worker under test: upper-cases each message. `ProcessorOf` types it from the spec.
const shoutProcessor: ProcessorOf<typeof shout> = async ({ input, output }) => {
  for await (const { text } of input) await output.emit({ text: text.toUpperCase() });
};
const shoutWorker = { processor: shoutProcessor };

describe("shout worker, every lifecycle path of the worker model", () => {
  const cases = workerTestCases(shout, shoutWorker, {
    sampleInput: [{ text: "a" }, { text: "b" }, { text: "c" }],
  });
  for (const testCase of cases) it(testCase.name, testCase.run);
});

describe("shout worker, by hand on a simulated clock", () => {
  it("recovers from a failed first attempt after its backoff", async () => {
    const t = createTestEnv();
    let attempts = 0;
    shout.defineWorker({
      liveEnv: t.env,
      retry: { maxRestarts: 1, backoff: { initialMs: 1_000, jitter: 0 } },
      processor: async (context) => {
        attempts++;
        if (context.attempt === 1) throw new Error("flaky network");
        await shoutWorker.processor(context);
      },
    });
    const job = await shout.enqueueJob({ liveEnv: t.env });
    await job.input.feed({ text: "hi" });
    await job.input.terminate();
    await t.waitForWorkerState(job, "recovering");
    expect(job.status).toBe("running");
    await t.advance(1_000);
    await t.waitForJobStatus(job, "completed");
    expect(attempts).toBe(2);
    expect((await job.output.first())?.data).toEqual({ text: "HI" });
    await t.close();
  });
});
