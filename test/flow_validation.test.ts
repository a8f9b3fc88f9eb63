import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, Liveflow, ValidationError, conn, expose, type LifecycleEvent } from "../src/index.js";
import { collectUntilError } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

let counter = 0;

/**
 * `sauce → bake` under the labels "sauce" and "bake" (so connection labels
 * read `sauce.default → bake.default`). `bake` accepts only a positive
 * `grams` and records every message it receives.
 */
function sauceToBake(transform?: (data: { grams: number }) => unknown) {
  const n = ++counter;
  const sauce = JobSpec.define({ name: `sauce-${n}`, input: z.number(), output: z.object({ grams: z.number() }) });
  const bake = JobSpec.define({
    name: `bake-${n}`,
    input: z.object({ grams: z.number().positive() }),
    output: z.string(),
  });
  const flow = Liveflow.define({
    name: `validated-${n}`,
    connections: [
      conn({
        from: { spec: sauce, label: "sauce" },
        to: { spec: bake, label: "bake" },
        ...(transform ? { transform } : {}),
      }),
    ],
    exposures: [
      expose({ spec: sauce, label: "sauce", tag: "default", direction: "input" }, "in"),
      expose({ spec: bake, label: "bake", tag: "default", direction: "output" }, "pizza"),
    ],
  });
  return { sauce, bake, flow };
}

describe("Liveflow per-hop validation", () => {
  it("valid data passes every hop in order", async () => {
    const { env } = createTestEnv();
    const { sauce, bake, flow } = sauceToBake();
    sauce.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const grams of input) await output.emit({ grams });
      },
    });
    bake.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const { grams } of input) await output.emit(`pizza with ${grams} g`);
      },
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const pizzas = collectUntilError<string>(job.output("pizza"));
    for (const grams of [100, 250]) await job.input("in").feed(grams);
    await job.input("in").terminate();
    expect(await pizzas).toEqual({ data: ["pizza with 100 g", "pizza with 250 g"], error: undefined });
    await job.waitUntilFinish();
  });

  it.each([
    ["a transform that produces invalid data", (data: { grams: number }) => ({ grams: data.grams === 3 ? -3 : data.grams })],
    ["data that fits the sender's schema but not the receiver's (no transform)", undefined],
  ] as const)("%s fails the flow job with a ValidationError naming the connection; nothing invalid reaches the receiver", async (_, transform) => {
    const { env } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const { sauce, bake, flow } = sauceToBake(transform);
    sauce.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        // The sauce output schema accepts any number: -3 is valid here, and only the receiving schema rejects it.
        for await (const grams of input) await output.emit({ grams: transform || grams !== 3 ? grams : -3 });
      },
    });
    const received: number[] = [];
    bake.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const { grams } of input) {
          received.push(grams);
          await output.emit(`pizza with ${grams} g`);
        }
      },
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const pizzas = collectUntilError<string>(job.output("pizza"));
    for (const grams of [1, 2, 3, 4]) await job.input("in").feed(grams);

    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    const cause = (error as JobFailedError).cause;
    expect(cause).toBeInstanceOf(ValidationError);
    expect((cause as ValidationError).message).toMatch(/^Connection sauce\.default → bake\.default: /);
    expect((cause as ValidationError).where).toBe("connection sauce.default → bake.default");
    expect((cause as ValidationError).issues.length).toBeGreaterThan(0);
    expect((error as JobFailedError).message).toContain("sauce.default → bake.default");
    // Events may arrive after the outcome (a backend across processes): the job's final status is its last event.
    await expect.poll(() => events.some((e) => e.type === "job.status" && e.status === "failed")).toBe(true);
    // A ValidationError is not retried: the receiver crashed without a restart.
    expect(events.some((e) => e.type === "worker.restart")).toBe(false);
    expect(events).toContainEqual(expect.objectContaining({ type: "worker.state", workerName: "bake", state: "crashed" }));
    // The job fails as soon as the invalid message reaches the wire, so the
    // receiver may not have got to every valid message before it: a prefix.
    expect([[], [1], [1, 2]]).toContainEqual(received);
    const result = await pizzas;
    expect([[], ["pizza with 1 g"], ["pizza with 1 g", "pizza with 2 g"]]).toContainEqual(result.data);
    expectSameError(result.error, error);
  });

  it("a transform that throws fails the flow job with a ValidationError naming the connection", async () => {
    const { env } = createTestEnv();
    const { sauce, bake, flow } = sauceToBake((data) => {
      if (data.grams > 500) throw new RangeError("too much sauce");
      return data;
    });
    sauce.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const grams of input) await output.emit({ grams });
      },
    });
    const received: number[] = [];
    bake.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        for await (const { grams } of input) received.push(grams);
      },
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    await job.input("in").feed(200);
    await job.input("in").feed(900);
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    const cause = (error as JobFailedError).cause as ValidationError;
    expect(cause).toBeInstanceOf(ValidationError);
    expect(cause.message).toBe("Transform of connection sauce.default → bake.default threw: RangeError: too much sauce");
    expect([[], [200]]).toContainEqual(received);
  });
});
