import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, LiveEnv, ValidationError, type Backend } from "../src/index.js";
import { suiteBackend } from "./helpers/backends.js";

/** A fresh backend of the kind the suite runs on (`LW_BACKEND`). */
const newBackend = (): Backend => suiteBackend().create();

/** A memory backend that records whether it was closed. */
function recordingBackend(): Backend & { closed: boolean } {
  const backend = newBackend();
  const recorded = { ...backend, closed: false };
  recorded.close = async () => {
    recorded.closed = true;
    await backend.close();
  };
  return recorded;
}

let specs = 0;
function echo(env: LiveEnv): JobSpec<{ default: z.ZodNumber }, { default: z.ZodNumber }> {
  const spec = JobSpec.define({ name: `echo-${++specs}`, input: z.number(), output: z.number() });
  spec.defineWorker({
    liveEnv: env,
    processor: async ({ input, output }) => {
      for await (const n of input) await output.emit(n);
    },
  });
  return spec;
}

describe("the backend option of LiveEnv.create", () => {
  it("runs jobs on the backend given, and env.close() closes it", async () => {
    const backend = recordingBackend();
    const env = LiveEnv.create({ projectId: "given", backend });
    const { data } = await echo(env).enqueueAndGetResult({ liveEnv: env, input: 7 });
    expect(data).toBe(7);
    expect(backend.closed).toBe(false);
    await env.close();
    expect(backend.closed).toBe(true);
  });

  it("refuses a value that is not a backend with a ConfigurationError that names the fix", () => {
    const nullParts = { jobs: null, streams: null, events: null, close: async () => {} };
    for (const value of [null, 5, "memory", {}, { jobs: {}, streams: {}, events: {} }, nullParts]) {
      expect(() => LiveEnv.create({ backend: value as never })).toThrow(ConfigurationError);
    }
    expect(() => LiveEnv.create({ backend: {} as never })).toThrow(/must be a Backend, such as memoryBackend\(\)/);
  });

  it("refuses a backend already given to another env (open or closed), naming that env; the first env goes on", async () => {
    const backend = newBackend();
    const first = LiveEnv.create({ projectId: "first", backend });
    const spec = echo(first);
    expect(() => LiveEnv.create({ projectId: "second", backend })).toThrow(ConfigurationError);
    expect(() => LiveEnv.create({ projectId: "second", backend })).toThrow(/already given to env "first".*create a new backend for each env/);
    const { data } = await spec.enqueueAndGetResult({ liveEnv: first, input: 1 });
    expect(data).toBe(1);
    await first.close();
    expect(() => LiveEnv.create({ projectId: "third", backend })).toThrow(/already given to env "first"/);
  });

  it("refuses a backend made of another env's parts (a wrapper spread from its backend): closing one env would stop the other's queue", async () => {
    const backend = newBackend();
    const first = LiveEnv.create({ projectId: "owner", backend });
    const spec = echo(first);
    const wrapper: Backend = { ...backend, close: () => backend.close() };
    expect(() => LiveEnv.create({ projectId: "borrower", backend: wrapper })).toThrow(ConfigurationError);
    expect(() => LiveEnv.create({ projectId: "borrower", backend: wrapper })).toThrow(/already given to env "owner"/);
    const { data } = await spec.enqueueAndGetResult({ liveEnv: first, input: 2 });
    expect(data).toBe(2);
    await first.close();
  });

  it("leaves the backend free when the env is refused for another bad option", async () => {
    const backend = newBackend();
    expect(() => LiveEnv.create({ backend, shutdownGraceMs: -1 })).toThrow(ValidationError);
    expect(() => LiveEnv.create({ backend, inspect: 5 as never })).toThrow(ConfigurationError);
    const env = LiveEnv.create({ projectId: "after-refusals", backend });
    const { data } = await echo(env).enqueueAndGetResult({ liveEnv: env, input: 3 });
    expect(data).toBe(3);
    await env.close();
  });
});
