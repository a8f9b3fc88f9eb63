import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec } from "../src/index.js";
import { collect, collectMessages, settle, track } from "./helpers/collect.js";
import { closeAll, createTestEnv, deferred } from "./helpers/env.js";

afterEach(closeAll);

describe("streams", () => {
  it("delivers a basic stream in order, one output per input", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "double", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * 2);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const read = collect(job.output);
    for (let i = 0; i < 50; i++) await job.input.feed(i);
    await job.input.terminate();
    expect(await read).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });

  it("routes multi-tag input and output by tag", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({
      name: "kitchen",
      input: { veg: z.object({ name: z.string() }), spice: z.string() },
      output: { default: z.object({ dish: z.string() }), waste: z.object({ grams: z.number() }) },
    });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        const spices: string[] = [];
        for await (const s of input("spice")) spices.push(s);
        for await (const { name } of input("veg")) {
          await output.emit({ dish: `${name} with ${spices.join("+")}` });
          await output("waste").emit({ grams: name.length });
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const dishes = collect(job.output);
    const waste = collect(job.output("waste"));
    await job.input("veg").feed({ name: "leek" });
    await job.input("veg").feed({ name: "kale" });
    await job.input("veg").feed({ name: "fennel" });
    await job.input("veg").terminate();
    await job.input("spice").feed("salt");
    await job.input("spice").feed("pepper");
    await job.input("spice").terminate();
    expect(await dishes).toEqual([
      { dish: "leek with salt+pepper" },
      { dish: "kale with salt+pepper" },
      { dish: "fennel with salt+pepper" },
    ]);
    expect(await waste).toEqual([{ grams: 4 }, { grams: 4 }, { grams: 6 }]);
  });

  it("input.merge yields { tag, data } in arrival order and ends only when every merged tag ends", async () => {
    const { env, clock } = createTestEnv();
    const spec = JobSpec.define({
      name: "merger",
      input: { a: z.string(), b: z.number() },
      output: z.string(),
    });
    const sawEnd = deferred();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const message of input.merge("a", "b")) {
          const tagged: { tag: "a"; data: string } | { tag: "b"; data: number } = message;
          await output.emit(`${tagged.tag}:${String(tagged.data)}`);
        }
        sawEnd.resolve();
        await output.emit("end");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const read = collect(job.output);
    // Distinct timestamps make arrival order observable under the simulated clock.
    const feeds: Array<() => Promise<void>> = [
      () => job.input("a").feed("x"),
      () => job.input("b").feed(1),
      () => job.input("b").feed(2),
      () => job.input("a").feed("y"),
    ];
    for (const feed of feeds) {
      clock.increment(1);
      await feed();
    }
    await job.input("a").terminate();
    clock.increment(1);
    await job.input("b").feed(3);
    await settle();
    const endedEarly = track(sawEnd.promise);
    await settle();
    expect(endedEarly.settled).toBe(false);
    await job.input("b").terminate();
    expect(await read).toEqual(["a:x", "b:1", "b:2", "a:y", "b:3", "end"]);
  });

  it("input.merge keeps arrival order for messages buffered within the same millisecond", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "merge-same-ms", input: { a: z.string(), b: z.string() }, output: z.string() });
    const job = await spec.enqueueJob({ liveEnv: env });
    // All buffered before any worker exists, all at simulated time 0.
    await job.input("b").feed("1");
    await job.input("a").feed("2");
    await job.input("b").feed("3");
    await job.input("a").feed("4");
    await job.input("a").terminate();
    await job.input("b").terminate();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const { tag, data } of input.merge("a", "b")) await output.emit(`${tag}:${data}`);
      },
    });
    expect(await collect(job.output)).toEqual(["b:1", "a:2", "b:3", "a:4"]);
  });

  it("applies backpressure: feed stays pending at the high-water mark until the processor reads", async () => {
    const { env } = createTestEnv({ streams: { highWaterMark: 2 } });
    const spec = JobSpec.define({ name: "slow", input: z.number(), output: z.number() });
    const go = deferred();
    const processorStarted = deferred();
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        processorStarted.resolve();
        await go.promise;
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const read = collect(job.output);
    await processorStarted.promise;
    await job.input.feed(1); // 1 behind: below the mark
    const second = track(job.input.feed(2)); // 2 behind: at the mark
    await settle();
    expect(second.settled).toBe(false);
    go.resolve();
    await second.promise;
    await job.input.feed(3);
    await job.input.terminate();
    expect(await read).toEqual([1, 2, 3]);
  });

  it("keeps output history for a late reader, bounded by streams.historyLimit", async () => {
    const { env } = createTestEnv({ streams: { historyLimit: 3 } });
    const spec = JobSpec.define({ name: "burst", output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ output }) => {
        for (let i = 0; i < 10; i++) await output.emit(i);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    // Attached after the job finished: sees only the newest 3 messages.
    expect(await collect(job.output)).toEqual([7, 8, 9]);
    expect((await job.output.first())?.data).toBe(7);
  });

  it("gives a late reader the whole history when it fits the default limit", async () => {
    const { env, clock } = createTestEnv();
    const spec = JobSpec.define({ name: "history", output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ output }) => {
        for (let i = 0; i < 5; i++) {
          clock.increment(10);
          await output.emit(i);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    const messages = await collectMessages(job.output);
    expect(messages.map((m) => m.data)).toEqual([0, 1, 2, 3, 4]);
    expect(messages.map((m) => m.timestamp)).toEqual([10, 20, 30, 40, 50]);
  });

  it("gives two readers every message each", async () => {
    const { env } = createTestEnv({ streams: { highWaterMark: 4 } });
    const spec = JobSpec.define({ name: "fanout", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const first = collect(job.output);
    const second = collect(job.output);
    const expected = Array.from({ length: 20 }, (_, i) => i);
    for (const n of expected) await job.input.feed(n);
    await job.input.terminate();
    expect(await first).toEqual(expected);
    expect(await second).toEqual(expected);
  });
});
