import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, Liveflow, expose } from "../src/index.js";
import { closeAll } from "./helpers/env.js";

afterEach(closeAll);

describe("the liveEnv option", () => {
  const spec = JobSpec.define({ name: "env-option", input: z.number(), output: z.number() });
  const wrong = [{}, null, "kitchen", 42];

  it.each(wrong)("rejects %j with a ConfigurationError that says what to pass", async (liveEnv) => {
    await expect(spec.enqueueJob({ liveEnv: liveEnv as never })).rejects.toThrow(/liveEnv of enqueueJob of spec "env-option" must be an env from LiveEnv.create/);
    expect(() => spec.defineWorker({ liveEnv: liveEnv as never, processor: async () => {} })).toThrow(ConfigurationError);
    const flow = Liveflow.define({ name: "env-option-flow", connections: [], exposures: [expose(spec.input.default, "in"), expose(spec.output.default, "out")] });
    await expect(flow.enqueueJob({ liveEnv: liveEnv as never })).rejects.toBeInstanceOf(ConfigurationError);
  });
});
