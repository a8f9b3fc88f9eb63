// workerTestCases compares each completed fault path's outputs with a fault-free run: a worker that loses a message fails, a correct one passes.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type ProcessorOf } from "../src/index.js";
import { workerTestCases, type WorkerTestCase } from "../src/testing/index.js";

const shout = JobSpec.define({ name: "shout", input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) });
const sampleInput = [{ text: "a" }, { text: "b" }, { text: "c" }];

/** Correct: one output per message, the message acknowledged only when the next is asked for. */
const shoutProcessor: ProcessorOf<typeof shout> = async ({ input, output }) => {
  for await (const { text } of input) await output.emit({ text: text.toUpperCase() });
};

/** Bug: asks for the next message before handling this one, which acknowledges it; a failure then loses it. */
const readAheadProcessor: ProcessorOf<typeof shout> = async ({ input, output }) => {
  const messages = input[Symbol.asyncIterator]();
  let next = await messages.next();
  while (!next.done) {
    const current = next.value;
    const following = messages.next();
    following.catch(() => {}); // awaited below; a rejection must not go unhandled meanwhile
    await output.emit({ text: current.text.toUpperCase() });
    next = await following;
  }
};

/** Bug: a "handled" mark that survives restarts is set before the output is written, so a redelivered message is skipped. */
const handledByJob = new Map<string, Set<string>>();
const skipsRedeliveryProcessor: ProcessorOf<typeof shout> = async ({ input, output, jobId }) => {
  const handled = handledByJob.get(jobId) ?? new Set<string>();
  handledByJob.set(jobId, handled);
  for await (const { text } of input) {
    if (handled.has(text)) continue;
    handled.add(text);
    await output.emit({ text: text.toUpperCase() });
  }
};

/** Runs every case; returns the name → error message of those that failed. */
async function failures(cases: WorkerTestCase[]): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const testCase of cases) {
    await testCase.run().catch((error: unknown) => failed.set(testCase.name, error instanceof Error ? error.message : String(error)));
  }
  return failed;
}

/** The cases whose path fails the processor and still completes: where a lost message shows. */
const recoversFromProcessorFailure = (testCase: WorkerTestCase) =>
  testCase.path.steps.some((step) => step.kind === "processor fails") && testCase.path.states.at(-1) === "done";

describe("workerTestCases compares outputs with a fault-free run", () => {
  for (const [name, processor] of [
    ["reads ahead (acknowledges a message before handling it)", readAheadProcessor],
    ["skips a redelivered message it marked handled before writing its output", skipsRedeliveryProcessor],
  ] as const) {
    it(`fails exactly the recovering cases, naming the lost output, for a worker that ${name}`, async () => {
      for (const withInit of [false, true]) {
        const worker = withInit ? { init: async () => undefined, processor } : { processor };
        const cases = workerTestCases(shout, worker, { sampleInput });
        const failed = await failures(cases);
        const expected = cases.filter(recoversFromProcessorFailure).map((c) => c.name);
        expect(expected.length).toBeGreaterThanOrEqual(2); // a throw and a stall variant at least
        expect([...failed.keys()].sort()).toEqual([...expected].sort());
        for (const [caseName, message] of failed) {
          expect(message).toContain(`Path: ${caseName.replace(" (failing by stall)", "")}`);
          expect(message).toMatch(/lost output on "default": \{"text":"A"\} \(the fault-free run emitted it 1×, this path 0×\)/);
        }
      }
    });
  }

  it("passes every case of a correct worker, with and without init (duplicates after a restart are allowed)", async () => {
    for (const worker of [{ processor: shoutProcessor }, { init: async () => undefined, processor: shoutProcessor }]) {
      const failed = await failures(workerTestCases(shout, worker, { sampleInput }));
      expect([...failed.entries()]).toEqual([]);
    }
  });

  it("the fault-free reference runs before any case: process-wide state a buggy worker keeps cannot empty it", async () => {
    // Bug: a "handled" mark shared by every job of the process (not per job), set before the output is written.
    const handled = new Set<string>();
    const sharedSkips: ProcessorOf<typeof shout> = async ({ input, output }) => {
      for await (const { text } of input) {
        if (handled.has(text)) continue;
        handled.add(text);
        await output.emit({ text: text.toUpperCase() });
      }
    };
    const failed = await failures(workerTestCases(shout, { processor: sharedSkips }, { sampleInput }));
    // The reference saw every output; every later case lost them all, so every completing case fails.
    expect(failed.size).toBeGreaterThan(0);
    for (const message of failed.values()) expect(message).toMatch(/lost output on "default"/);
  });

  it("can be turned off with checkNothingLost: false", async () => {
    const failed = await failures(workerTestCases(shout, { processor: readAheadProcessor }, { sampleInput, checkNothingLost: false }));
    expect([...failed.keys()]).toEqual([]);
  });
});
