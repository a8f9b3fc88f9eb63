import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, Liveflow, expose } from "../src/index.js";
import { createTestEnv, type TestEnv } from "../src/testing/index.js";

/** A newcomer's slip: `liveEnv: t` where `liveEnv: t.env` was meant. The error must say which to pass. */

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("a createTestEnv() result passed as liveEnv", () => {
  const spec = JobSpec.define({ name: "test-env-slip", input: z.number(), output: z.number() });

  it("is refused by defineWorker, enqueueJob, enqueueAndGetResult and a flow's enqueueJob with a ConfigurationError that says to pass .env", async () => {
    t = createTestEnv();
    const slip = t as never;
    const saysPassEnv = /liveEnv of defineWorker of spec "test-env-slip" got the result of createTestEnv\(\); pass its \.env \(liveEnv: testEnv\.env\)/;
    expect(() => spec.defineWorker({ liveEnv: slip, processor: async () => {} })).toThrow(saysPassEnv);
    expect(() => spec.defineWorker({ liveEnv: slip, processor: async () => {} })).toThrow(ConfigurationError);
    await expect(spec.enqueueJob({ liveEnv: slip })).rejects.toThrow(/enqueueJob of spec "test-env-slip" got the result of createTestEnv\(\); pass its \.env/);
    await expect(spec.enqueueAndGetResult({ liveEnv: slip, input: 1 })).rejects.toBeInstanceOf(ConfigurationError);
    const flow = Liveflow.define({
      name: "test-env-slip-flow",
      connections: [],
      exposures: [expose(spec.input.default, "in"), expose(spec.output.default, "out")],
    });
    await expect(flow.enqueueJob({ liveEnv: slip })).rejects.toThrow(/Liveflow "test-env-slip-flow" got the result of createTestEnv\(\); pass its \.env/);
  });

  it("changes nothing: the same worker def and job then work with testEnv.env", async () => {
    t = createTestEnv();
    expect(() => spec.defineWorker({ liveEnv: t as never, processor: async () => {} })).toThrow(ConfigurationError);
    // Nothing was registered by the refused call: defining the worker on .env is not a second definition.
    spec.defineWorker({
      liveEnv: t.env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * 2);
      },
    });
    const { data } = await spec.enqueueAndGetResult({ liveEnv: t.env, input: 21 });
    expect(data).toBe(42);
  });
});
