import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, Liveflow, conn, expose, type LiveEnv } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { workerOf } from "./helpers/internals.js";

afterEach(closeAll);

let counter = 0;
const THIS_FILE = "spec_names_unique_per_env.test.ts";

/** `<this file>:<line>` places named in a message, in order. */
function sitesIn(message: string): string[] {
  return [...message.matchAll(new RegExp(`${THIS_FILE.replaceAll(".", "\\.")}:(\\d+)`, "g"))].map((m) => m[0]);
}

/** Two different spec objects under one name, defined on two different lines. */
function twins(name = `twin-${++counter}`) {
  const first = JobSpec.define({ name, input: z.object({ a: z.number() }), output: z.string() });
  const second = JobSpec.define({ name, input: z.object({ b: z.string() }), output: z.number() });
  return { first, second };
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

/** The error names the spec and where each of the two specs was defined. */
function expectNamesBoth(error: unknown, name: string): void {
  expect(error).toBeInstanceOf(ConfigurationError);
  const message = (error as Error).message;
  expect(message).toContain(`"${name}"`);
  const sites = sitesIn(message);
  expect(sites).toHaveLength(2);
  expect(sites[0]).not.toBe(sites[1]);
}

function processorFor(env: LiveEnv, spec: ReturnType<typeof twins>["first"], ran: string[], label: string) {
  spec.defineWorker({
    liveEnv: env,
    processor: async ({ input, output }) => {
      ran.push(label);
      for await (const { a } of input) await output.emit(String(a));
    },
  });
}

describe("one spec object per name in an env", () => {
  it("a second spec's defineWorker is a ConfigurationError naming where both were defined; nothing is registered", () => {
    const { env } = createTestEnv();
    const { first, second } = twins();
    const ran: string[] = [];
    processorFor(env, first, ran, "first");
    const error = errorOf(() => second.defineWorker({ liveEnv: env, processor: async () => {} }));
    expectNamesBoth(error, first.name);
    expect(workerOf(env, first.name)?.spec).toBe(first);
  });

  it("enqueueJob and enqueueAndGetResult of a second spec are refused; no job is created, the first spec's worker never runs it", async () => {
    const { env } = createTestEnv();
    const { first, second } = twins();
    const ran: string[] = [];
    processorFor(env, first, ran, "first");
    expectNamesBoth(await rejectionOf(second.enqueueJob({ liveEnv: env })), first.name);
    expectNamesBoth(await rejectionOf(second.enqueueAndGetResult({ liveEnv: env, input: { b: "x" } })), first.name);
    expect(env.liveJobCount).toBe(0);
    expect(ran).toEqual([]);
    // The first spec still works.
    expect((await first.enqueueAndGetResult({ liveEnv: env, input: { a: 4 } })).data).toBe("4");
  });

  it("the name is taken by the first use, a job as well as a worker: the second spec cannot take it over", async () => {
    const { env } = createTestEnv();
    const { first, second } = twins();
    const queued = await first.enqueueJob({ liveEnv: env });
    expectNamesBoth(errorOf(() => second.defineWorker({ liveEnv: env, processor: async () => {} })), first.name);
    expect(workerOf(env, first.name)).toBeUndefined();
    expect(queued.status).toBe("queued");
  });

  it("a flow holding a second spec of a taken name is refused at enqueue; no job is created", async () => {
    const { env } = createTestEnv();
    const { first, second } = twins();
    processorFor(env, first, [], "first");
    const feeder = JobSpec.define({ name: `feeder-${++counter}`, input: z.string(), output: z.object({ b: z.string() }) });
    const flow = Liveflow.define({
      name: `uses-second-${counter}`,
      connections: [conn({ from: feeder, to: second })],
      exposures: [expose(feeder.input.default, "in"), expose(second.output.default, "out")],
    });
    expectNamesBoth(await rejectionOf(flow.enqueueJob({ liveEnv: env })), first.name);
    expect(env.liveJobCount).toBe(0);
  });

  it("a flow whose nodes are two different specs of one name is refused at define time", () => {
    const { first, second } = twins();
    const source = JobSpec.define({ name: `source-${++counter}`, input: z.string(), output: z.object({ a: z.number(), b: z.string() }) });
    const error = errorOf(() =>
      Liveflow.define({
        name: `two-of-a-name-${counter}`,
        connections: [conn({ from: source, to: { spec: first, label: "one" } }), conn({ from: source, to: { spec: second, label: "two" } })],
        exposures: [expose(source.input.default, "in")],
      }),
    );
    expectNamesBoth(error, first.name);
  });

  it("two Liveflow objects of one name: the second is refused in an env where the first ran", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `flow-node-${++counter}`, input: z.number(), output: z.number() });
    spec.defineWorker({ liveEnv: env, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
    const name = `menu-${counter}`;
    const define = () => Liveflow.define({ name, connections: [], exposures: [expose(spec.input.default, "in"), expose(spec.output.default, "out")] });
    const flowA = define();
    const flowB = define();
    const job = await flowA.enqueueJob({ liveEnv: env });
    const error = await rejectionOf(flowB.enqueueJob({ liveEnv: env }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`"${name}"`);
    expect(sitesIn((error as Error).message)).toHaveLength(2);
    expect(env.liveJobCount).toBe(1);
    await job.input("in").terminate();
    await job.waitUntilFinish();
  });

  it("the same spec object in two envs, and a spec and a flow of one name, are fine", async () => {
    const a = createTestEnv().env;
    const b = createTestEnv().env;
    const { first } = twins();
    for (const env of [a, b]) processorFor(env, first, [], "first");
    for (const env of [a, b]) expect((await first.enqueueAndGetResult({ liveEnv: env, input: { a: 1 } })).data).toBe("1");
    const flow = Liveflow.define({ name: first.name, connections: [], exposures: [expose(first.input.default, "in"), expose(first.output.default, "out")] });
    const job = await flow.enqueueJob({ liveEnv: a });
    await job.input("in").terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });
});
