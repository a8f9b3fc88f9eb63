// workerTestCases runs the worker's own dispose: across every lifecycle path, each attempt whose init returned is disposed exactly once.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, type ProcessorOf } from "../src/index.js";
import { workerTestCases } from "../src/testing/index.js";

const upper = JobSpec.define({ name: "kit-dispose", input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) });
const processor: ProcessorOf<typeof upper, { open: boolean }> = async ({ input, output, resources }) => {
  if (!resources.open) throw new Error("resources used after dispose");
  for await (const { text } of input) await output.emit({ text: text.toUpperCase() });
};

describe("workerTestCases and dispose", () => {
  it("every case disposes each attempt whose init returned, exactly once", async () => {
    let initialized: number[] = [];
    let disposed: number[] = [];
    const cases = workerTestCases(
      upper,
      {
        init: ({ attempt }) => {
          initialized.push(attempt);
          return { open: true };
        },
        processor,
        dispose: ({ attempt, resources }) => {
          resources.open = false;
          disposed.push(attempt);
        },
      },
      { sampleInput: [{ text: "a" }, { text: "b" }] },
    );
    expect(cases.length).toBeGreaterThan(10);
    for (const c of cases) {
      initialized = [];
      disposed = [];
      await c.run();
      expect([...disposed].sort(), c.name).toEqual([...initialized].sort());
    }
  }, 60_000);
});
