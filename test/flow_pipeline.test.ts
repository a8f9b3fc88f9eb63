import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, Liveflow, conn, expose, type LifecycleEvent } from "../src/index.js";
import { collect, settle, track } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

let counter = 0;
/** A fresh spec name per test: one worker def per spec per env. */
const uniq = (name: string) => `${name}-${++counter}`;

/** Workers (node keys) that reached `done`, in order. */
function doneWorkers(events: LifecycleEvent[]): string[] {
  return events.flatMap((e) => (e.type === "worker.state" && e.state === "done" ? [e.workerName] : []));
}

/** Waits for the job's `completed` event, its last: events may arrive after the outcome (a backend across processes). */
const untilCompletedEvent = (events: LifecycleEvent[]) =>
  expect.poll(() => events.some((e) => e.type === "job.status" && e.status === "completed")).toBe(true);

describe("Liveflow pipelines", () => {
  it("a linear pipeline keeps order, and terminating the exposed input cascades to the end", async () => {
    const { env } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const add = JobSpec.define({ name: uniq("add"), input: z.number(), output: z.number() });
    const times = JobSpec.define({ name: uniq("times"), input: z.number(), output: z.number() });
    const show = JobSpec.define({ name: uniq("show"), input: z.number(), output: z.string() });
    const inputEnded = new Set<string>();
    add.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n + 1);
        inputEnded.add("add");
      },
    });
    times.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * 10);
        inputEnded.add("times");
      },
    });
    show.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(`#${n}`);
        inputEnded.add("show");
      },
    });
    const flow = Liveflow.define({
      name: uniq("linear"),
      connections: [conn({ from: add, to: times }), conn({ from: times, to: show })],
      exposures: [expose(add.input.default, "numbers"), expose(show.output.default, "labels")],
    });
    expect(flow.nodes).toEqual([add.name, times.name, show.name]);

    const job = await flow.enqueueJob({ liveEnv: env });
    const reading = track(collect<string>(job.output("labels")));
    const finished = track(job.waitUntilFinish());
    for (let n = 1; n <= 20; n++) await job.input("numbers").feed(n);
    await settle(20);
    // Everything fed went through, but nothing ends before the input is terminated.
    expect(reading.settled).toBe(false);
    expect(finished.settled).toBe(false);
    expect(inputEnded.size).toBe(0);
    expect(doneWorkers(events)).toEqual([]);

    await job.input("numbers").terminate();
    expect(await reading.promise).toEqual(Array.from({ length: 20 }, (_, i) => `#${(i + 2) * 10}`));
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    expect([...inputEnded]).toEqual(["add", "times", "show"]);
    await untilCompletedEvent(events);
    expect(doneWorkers(events)).toEqual([add.name, times.name, show.name]);
  });

  it("fan-out: one output feeds two inputs, each gets every message", async () => {
    const { env } = createTestEnv();
    const source = JobSpec.define({ name: uniq("source"), input: z.number(), output: z.number() });
    const square = JobSpec.define({ name: uniq("square"), input: z.number(), output: z.number() });
    const negate = JobSpec.define({ name: uniq("negate"), input: z.number(), output: z.number() });
    source.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n);
      },
    });
    square.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(n * n);
      },
    });
    negate.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input) await output.emit(-n);
      },
    });
    const flow = Liveflow.define({
      name: uniq("fan-out"),
      connections: [conn({ from: source, to: square }), conn({ from: source, to: negate })],
      exposures: [
        expose(source.input.default, "in"),
        expose(square.output.default, "squares"),
        expose(negate.output.default, "negatives"),
      ],
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const squares = collect<number>(job.output("squares"));
    const negatives = collect<number>(job.output("negatives"));
    for (const n of [1, 2, 3, 4]) await job.input("in").feed(n);
    await job.input("in").terminate();
    expect(await squares).toEqual([1, 4, 9, 16]);
    expect(await negatives).toEqual([-1, -2, -3, -4]);
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });

  it("fan-in: two outputs feed one input, which ends only after both upstreams ended", async () => {
    const { env } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const left = JobSpec.define({ name: uniq("left"), input: z.string(), output: z.string() });
    const right = JobSpec.define({ name: uniq("right"), input: z.string(), output: z.string() });
    const merge = JobSpec.define({ name: uniq("merge"), input: z.string(), output: z.string() });
    left.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const s of input) await output.emit(`L:${s}`);
      },
    });
    right.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const s of input) await output.emit(`R:${s}`);
      },
    });
    let mergeInputEnded = false;
    merge.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const s of input) await output.emit(s.toUpperCase());
        mergeInputEnded = true;
      },
    });
    const flow = Liveflow.define({
      name: uniq("fan-in"),
      connections: [conn({ from: left, to: merge }), conn({ from: right, to: merge })],
      exposures: [expose(left.input.default, "left"), expose(right.input.default, "right"), expose(merge.output.default, "merged")],
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const merged = track(collect<string>(job.output("merged")));
    await job.input("left").feed("a");
    await job.input("right").feed("b");
    await job.input("left").feed("c");
    await job.input("left").terminate();
    // The left worker is done (its event arrives, on a shared backend, after round trips), but the merge input still waits for the right one.
    await expect.poll(() => doneWorkers(events)).toEqual([left.name]);
    await settle(20);
    expect(doneWorkers(events)).toEqual([left.name]);
    expect(mergeInputEnded).toBe(false);
    expect(merged.settled).toBe(false);

    await job.input("right").feed("d");
    await job.input("right").terminate();
    const all = await merged.promise;
    expect(mergeInputEnded).toBe(true);
    // Across the two wires there is no order; within each, order is kept.
    expect(all.filter((s) => s.startsWith("L:"))).toEqual(["L:A", "L:C"]);
    expect(all.filter((s) => s.startsWith("R:"))).toEqual(["R:B", "R:D"]);
    expect(all).toHaveLength(4);
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    await untilCompletedEvent(events);
    expect(doneWorkers(events).sort()).toEqual([left.name, merge.name, right.name].sort());
  });

  it("uses one spec twice under labels, each node with its own jobOptions", async () => {
    const { env } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const scale = JobSpec.define({
      name: uniq("scale"),
      jobOptions: z.object({ factor: z.number() }),
      input: z.number(),
      output: z.number(),
    });
    const seenOptions: Array<{ jobId: string; factor: number }> = [];
    scale.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, jobOptions, jobId }) => {
        seenOptions.push({ jobId, factor: jobOptions.factor });
        for await (const n of input) await output.emit(n * jobOptions.factor);
      },
    });
    const flow = Liveflow.define({
      name: uniq("twice"),
      connections: [conn({ from: { spec: scale, label: "first" }, to: { spec: scale, label: "second" } })],
      exposures: [
        expose({ spec: scale, label: "first", tag: "default", direction: "input" }, "in"),
        expose({ spec: scale, label: "second", tag: "default", direction: "output" }, "out"),
      ],
    });
    expect(flow.nodes).toEqual(["first", "second"]);
    const job = await flow.enqueueJob({ liveEnv: env, jobOptions: { first: { factor: 2 }, second: { factor: 3 } } });
    const out = collect<number>(job.output("out"));
    for (const n of [1, 5, 7]) await job.input("in").feed(n);
    await job.input("in").terminate();
    expect(await out).toEqual([6, 30, 42]);
    await job.waitUntilFinish();
    expect(seenOptions.map((o) => o.factor).sort()).toEqual([2, 3]);
    expect(seenOptions.every((o) => o.jobId === job.jobId)).toBe(true);
    await untilCompletedEvent(events);
    expect(doneWorkers(events)).toEqual(["first", "second"]);
  });

  it("generated flow job ids are valid ids (never starting with - or _)", async () => {
    const { env } = createTestEnv();
    const head = JobSpec.define({ name: uniq("head"), input: z.number(), output: z.number() });
    const tail = JobSpec.define({ name: uniq("tail"), input: z.number(), output: z.number() });
    const flow = Liveflow.define({
      name: uniq("ids"),
      connections: [conn({ from: head, to: tail })],
      exposures: [expose(head.input.default, "in")],
    });
    // No worker defs: the jobs stay queued. 2 of nanoid's 64 symbols are invalid first characters.
    for (let i = 0; i < 200; i++) {
      const job = await flow.enqueueJob({ liveEnv: env });
      expect(job.jobId).toMatch(/^[A-Za-z0-9]{21}$/);
    }
  });

  it("validates each node's jobOptions against its own spec", async () => {
    const { env } = createTestEnv();
    const scale = JobSpec.define({
      name: uniq("scale"),
      jobOptions: z.object({ factor: z.number() }),
      input: z.number(),
      output: z.number(),
    });
    const flow = Liveflow.define({
      name: uniq("twice-bad"),
      connections: [conn({ from: { spec: scale, label: "first" }, to: { spec: scale, label: "second" } })],
      exposures: [
        expose({ spec: scale, label: "first", tag: "default", direction: "input" }, "in"),
        expose({ spec: scale, label: "second", tag: "default", direction: "output" }, "out"),
      ],
    });
    await expect(
      flow.enqueueJob({ liveEnv: env, jobOptions: { first: { factor: 2 }, second: { factor: "three" } } }),
    ).rejects.toMatchObject({ name: "ValidationError" });
  });
});
