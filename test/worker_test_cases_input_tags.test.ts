// workerTestCases on specs whose input tags are not just `default`: samples per tag, every tag terminated, faults on every tag read.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, type ProcessorOf } from "../src/index.js";
import { workerTestCases } from "../src/testing/index.js";

const soup = JobSpec.define({
  name: "soup",
  input: { veg: z.object({ name: z.string() }), spice: z.string() },
  output: { pot: z.object({ added: z.string() }), bill: z.object({ items: z.number() }) },
});
const sampleInput = { veg: [{ name: "leek" }, { name: "potato" }], spice: ["salt"] };

/** Correct: reads both tags with merge, one output per message, and a bill counted from the messages of this attempt's reads. */
const mergingProcessor: ProcessorOf<typeof soup> = async ({ input, output }) => {
  for await (const message of input.merge("veg", "spice")) {
    await output("pot").emit({ added: message.tag === "veg" ? message.data.name : `a pinch of ${message.data}` });
  }
};

/** Correct: reads one tag to its end, then the other; it finishes only if the harness terminates both. */
const tagByTagProcessor: ProcessorOf<typeof soup> = async ({ input, output }) => {
  for await (const { name } of input("veg")) await output("pot").emit({ added: name });
  for await (const spice of input("spice")) await output("pot").emit({ added: `a pinch of ${spice}` });
};

describe("workerTestCases on a spec without a default input tag", () => {
  it("refuses an array sampleInput at call time, naming the spec's input tags and the fix", () => {
    const call = () => workerTestCases(soup, { processor: mergingProcessor }, { sampleInput: [{ name: "leek" }] as never });
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(
      /sampleInput of workerTestCases: spec "soup" has no "default" input tag \(its input tags: veg, spice\); give sampleInput as a record of tag → messages, e\.g\. \{ veg: \[…\], spice: \[…\] \}/,
    );
  });

  it("refuses a sampleInput record with a tag the spec does not have, naming the known tags", () => {
    const call = () => workerTestCases(soup, { processor: mergingProcessor }, { sampleInput: { veg: [], sauce: ["x"] } as never });
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(/sampleInput of workerTestCases names the input tag "sauce", which spec "soup" does not have; its input tags: veg, spice/);
  });

  describe("a worker that merges both tags: every generated case passes", () => {
    const cases = workerTestCases(soup, { processor: mergingProcessor }, { sampleInput });
    it("has cases", () => expect(cases.length).toBeGreaterThan(10));
    for (const testCase of cases) it(testCase.name, testCase.run);
  });

  describe("a worker that reads one tag to its end and then the other: every tag is terminated, every case passes", () => {
    for (const testCase of workerTestCases(soup, { processor: tagByTagProcessor }, { sampleInput })) it(testCase.name, testCase.run);
  });

  it("injects faults on the tag the worker reads: an in-memory count over input(\"veg\") is caught losing what it read before the fault", async () => {
    // A worker bug: the count lives in memory, but each message is acknowledged when the next one is asked for.
    // After a restart the new attempt resumes at the first unacknowledged message, so the bill undercounts.
    const counting: ProcessorOf<typeof soup> = async ({ input, output }) => {
      let items = 0;
      for await (const _veg of input("veg")) items++;
      for await (const _spice of input("spice")) items++;
      await output("bill").emit({ items });
    };
    const cases = workerTestCases(soup, { processor: counting }, { sampleInput, stalls: false });
    const recovery = cases.find((c) => c.path.steps.some((s) => s.kind === "processor fails") && c.path.states.at(-1) === "done")!;
    expect(recovery).toBeDefined();
    await expect(recovery.run()).rejects.toThrow(/lost output on "bill": \{"items":3\}/);
    const happy = cases.find((c) => c.path.steps.every((s) => s.kind !== "processor fails") && c.path.states.at(-1) === "done")!;
    await happy.run();
  });
});
