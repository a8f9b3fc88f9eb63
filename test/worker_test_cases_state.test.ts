// workerTestCases compares a stateful worker's final state on each completed fault path with the fault-free run's:
// a worker whose state counts a redelivered message twice fails there; a correct one passes every case.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec } from "../src/index.js";
import { workerTestCases, type WorkerTestCase } from "../src/testing/index.js";

const tally = JobSpec.define({
  name: "tally-cases",
  input: z.string(),
  output: z.number(),
  state: z.object({ counts: z.record(z.string(), z.number()) }),
});
const sampleInput = ["a", "b", "a", "c"];
const initialState = () => ({ counts: {} as Record<string, number> });

/** Runs every case; returns the name → error message of those that failed. */
async function failures(cases: WorkerTestCase[]): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const testCase of cases) {
    await testCase.run().catch((error: unknown) => failed.set(testCase.name, error instanceof Error ? error.message : String(error)));
  }
  return failed;
}

/** The cases whose path fails the processor and still completes: where a message is redelivered. */
const recoversFromProcessorFailure = (testCase: WorkerTestCase) =>
  testCase.path.steps.some((step) => step.kind === "processor fails") && testCase.path.states.at(-1) === "done";

describe("workerTestCases checks a stateful worker's final state against the fault-free run", () => {
  it("passes every case for a worker that keeps its counts in its state", async () => {
    const cases = workerTestCases(
      tally,
      {
        initialState,
        processor: async ({ input, output, state, updateState }) => {
          for await (const word of input) {
            updateState((draft) => {
              draft.counts[word] = (draft.counts[word] ?? 0) + 1;
            });
            await output.emit(state().counts[word]!);
          }
        },
      },
      { sampleInput },
    );
    expect(cases.filter(recoversFromProcessorFailure).length).toBeGreaterThan(0);
    expect(await failures(cases)).toEqual(new Map());
  });

  it("fails exactly the recovering cases, naming both states, for a worker whose state follows a count kept outside it (a redelivery counts twice)", async () => {
    const seenByJob = new Map<string, Map<string, number>>();
    const cases = workerTestCases(
      tally,
      {
        initialState,
        processor: async ({ input, output, updateState, jobId }) => {
          // Bug: a count that outlives the attempt, copied into the state.
          const seen = seenByJob.get(jobId) ?? new Map<string, number>();
          seenByJob.set(jobId, seen);
          for await (const word of input) {
            const count = (seen.get(word) ?? 0) + 1;
            seen.set(word, count);
            updateState((draft) => {
              draft.counts[word] = count;
            });
            await output.emit(count);
          }
        },
      },
      { sampleInput },
    );
    const failed = await failures(cases);
    const recovering = cases.filter(recoversFromProcessorFailure).map((c) => c.name);
    expect(recovering.length).toBeGreaterThan(0);
    expect([...failed.keys()].sort()).toEqual([...recovering].sort());
    for (const message of failed.values()) expect(message).toMatch(/the final state differs from the fault-free run's: .*"counts".*, not \{"counts":\{"a":2,"b":1,"c":1\}\}/);
  });

  it("refuses, at once, a worker without initialState for a spec with a state schema", () => {
    expect(() => workerTestCases(tally, { processor: async () => {} }, { sampleInput })).toThrow(ConfigurationError);
    expect(() => workerTestCases(tally, { processor: async () => {} }, { sampleInput })).toThrow(/needs initialState: spec "tally-cases" has a state schema/);
  });
});
