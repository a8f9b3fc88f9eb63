// Each generated case has one real-time deadline, below the test runner's default, so a hang fails with the kit's message.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, ValidationError, type ProcessorOf } from "../src/index.js";
import { DEFAULT_WORKER_TEST_TIMEOUT_MS, workerTestCases } from "../src/testing/index.js";

const shout = JobSpec.define({ name: "shout", input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) });
const sampleInput = [{ text: "a" }];
const shoutProcessor: ProcessorOf<typeof shout, string> = async ({ input, output }) => {
  for await (const { text } of input) await output.emit({ text: text.toUpperCase() });
};
const happyPath = "executing →[processor returns]→ done";

/** vitest's and Jest's default per-test timeout (`testTimeout`), which the kit's deadline must beat. */
const RUNNER_DEFAULT_TIMEOUT_MS = 5_000;

describe("the deadline of a generated case", () => {
  it("defaults to less than the test runner's default timeout, with room to close the env", () => {
    expect(DEFAULT_WORKER_TEST_TIMEOUT_MS).toBe(4_000);
    expect(DEFAULT_WORKER_TEST_TIMEOUT_MS).toBeLessThan(RUNNER_DEFAULT_TIMEOUT_MS);
  });

  it("fails a hung worker with the kit's message, naming the path and what it waited for, and still closes its env", async () => {
    // Never returns, and ignores its signal: the harness must still close the env (stop timeout on the simulated clock).
    const hangs: ProcessorOf<typeof shout> = () => new Promise<void>(() => {});
    const happy = workerTestCases(shout, { processor: hangs }, { sampleInput, timeoutMs: 300 }).find((c) => c.name === happyPath)!;
    const started = performance.now();
    await expect(happy.run()).rejects.toThrow(
      new RegExp(`^Path: ${happyPath.replace(/[[\]]/g, "\\$&")}\n  timed out after 300 ms \\(timeoutMs\\) waiting for the worker to reach done \\(state #1\\); observed: executing`),
    );
    expect(performance.now() - started).toBeLessThan(3_000); // 300 ms, and closing; generous on a busy machine
  });

  it("is one deadline for the whole case, which every wait draws from (not a fresh bound per wait)", async () => {
    // Each init takes 250 ms of real time: under a per-wait bound of 400 ms every wait would pass,
    // but a path with two inits spends 500 ms, past the case's 400.
    const slowInit = {
      init: () => new Promise<string>((resolve) => setTimeout(() => resolve("knife"), 250)),
      processor: shoutProcessor,
    };
    const cases = workerTestCases(shout, slowInit, { sampleInput, timeoutMs: 400 });
    const twoInits = cases.find((c) => c.path.steps.filter((s) => s.kind === "init resolves").length === 2)!;
    expect(twoInits).toBeDefined();
    await expect(twoInits.run()).rejects.toThrow(/timed out after 400 ms \(timeoutMs\) waiting for/);
    // The same path passes with time to spare.
    const roomy = workerTestCases(shout, slowInit, { sampleInput, timeoutMs: 2_000 }).find((c) => c.name === twoInits.name)!;
    await roomy.run();
  });

  it("is checked: timeoutMs must be a whole number of ms in 1 … 2^31−1, an explicit undefined means the default, and unknown keys are refused", () => {
    for (const bad of [0, -1, 1.5, 2 ** 31, Infinity, Number.NaN, "4000"]) {
      expect(() => workerTestCases(shout, { processor: async () => {} }, { sampleInput, timeoutMs: bad as never })).toThrow(ValidationError);
      expect(() => workerTestCases(shout, { processor: async () => {} }, { sampleInput, timeoutMs: bad as never })).toThrow(/timeoutMs of workerTestCases/);
    }
    expect(workerTestCases(shout, { processor: async () => {} }, { sampleInput, timeoutMs: undefined }).length).toBeGreaterThan(0);
    expect(() => workerTestCases(shout, { processor: async () => {} }, { sampleInput, waitMs: 100 } as never)).toThrow(ConfigurationError);
    expect(() => workerTestCases(shout, { processor: async () => {} }, { sampleInput, waitMs: 100 } as never)).toThrow(/Unknown option "waitMs"/);
  });
});
