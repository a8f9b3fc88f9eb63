import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  JobCancelledError,
  JobFailedError,
  JobSpec,
  Liveflow,
  StreamClosedError,
  conn,
  expose,
  type LifecycleEvent,
  type LiveEnv,
  type SupervisionStrategy,
} from "../src/index.js";
import { collect, collectUntilError } from "./helpers/collect.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, deferred, FAST_RETRY, nextEvent } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

let counter = 0;

/** `state` events of the given kind, as node keys in order. */
function workersEntering(events: LifecycleEvent[], state: string): string[] {
  return events.flatMap((e) => (e.type === "worker.state" && e.state === state ? [e.workerName] : []));
}

/**
 * Waits for the job's final `job.status` event, its last: events may arrive
 * after the outcome (a backend across processes), and the checks read all of them.
 */
const untilFinalEvent = (events: LifecycleEvent[], status: "completed" | "failed" | "cancelled") =>
  expect.poll(() => events.some((e) => e.type === "job.status" && e.status === status)).toBe(true);

const executing = (env: LiveEnv, workerName: string, attempt: number) =>
  nextEvent(env, (e) => e.type === "worker.state" && e.workerName === workerName && e.state === "executing" && e.attempt === attempt);

interface FlowOptions {
  strategy?: SupervisionStrategy;
  maxRestarts?: number;
  /** The middle worker throws on message 2 in every attempt, not only the first. */
  middleAlwaysFails?: boolean;
  /** The middle worker waits for this before it throws. */
  gate?: Promise<void>;
}

/**
 * `head → middle → tail`, and `head → side` (a sibling of `middle`, not
 * downstream of it). `middle` throws on message 2 of its first attempt.
 * Each node is its own spec, so node keys are the spec names.
 */
function buildFlow(env: LiveEnv, options: FlowOptions = {}) {
  const n = ++counter;
  const define = (role: string) => JobSpec.define({ name: `${role}-${n}`, input: z.number(), output: z.number() });
  const [head, middle, tail, side] = [define("head"), define("middle"), define("tail"), define("side")];
  const signals = new Map<string, AbortSignal[]>();
  const worker = (spec: typeof head, step: (value: number, attempt: number) => Promise<number>) =>
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, attempt, signal }) => {
        signals.set(spec.name, [...(signals.get(spec.name) ?? []), signal]);
        for await (const value of input) await output.emit(await step(value, attempt));
      },
    });
  worker(head, async (v) => v);
  worker(middle, async (v, attempt) => {
    if (v === 2 && (attempt === 1 || options.middleAlwaysFails)) {
      await options.gate;
      throw new Error(`middle chokes on ${v} (attempt ${attempt})`);
    }
    return v * 10;
  });
  worker(tail, async (v) => v + 1);
  worker(side, async (v) => -v);
  const flow = Liveflow.define({
    name: `supervised-${n}`,
    connections: [conn({ from: head, to: middle }), conn({ from: middle, to: tail }), conn({ from: head, to: side })],
    exposures: [expose(head.input.default, "in"), expose(tail.output.default, "out"), expose(side.output.default, "side")],
    supervision: {
      ...FAST_RETRY,
      ...(options.maxRestarts !== undefined ? { maxRestarts: options.maxRestarts } : {}),
      ...(options.strategy ? { strategy: options.strategy } : {}),
    },
  });
  return { flow, head: head.name, middle: middle.name, tail: tail.name, side: side.name, signals };
}

describe("Liveflow supervision strategies", () => {
  const cases: Array<[SupervisionStrategy, (w: ReturnType<typeof buildFlow>) => string[]]> = [
    ["one_for_one", (w) => [w.middle]],
    ["one_for_all", (w) => [w.head, w.middle, w.tail, w.side]],
    ["rest_for_one", (w) => [w.middle, w.tail]],
  ];

  it.each(cases)("%s: a failing middle worker restarts exactly its restart set, and no message is lost", async (strategy, expected) => {
    const { env, clock } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    autoAdvanceBackoff(env, clock);
    const w = buildFlow(env, { strategy });
    const restartSet = expected(w);
    const job = await w.flow.enqueueJob({ liveEnv: env });
    const out = collect<number>(job.output("out"));
    const side = collect<number>(job.output("side"));
    // The input stays open until every restart happened, so no worker has finished yet.
    const resumed = Promise.all(restartSet.map((name) => executing(env, name, 2)));
    for (const v of [1, 2, 3]) await job.input("in").feed(v);
    await resumed;
    for (const v of [4, 5]) await job.input("in").feed(v);
    await job.input("in").terminate();

    // At least once: every input reaches each exposed output (a replayed message may repeat).
    expect(new Set(await out)).toEqual(new Set([11, 21, 31, 41, 51]));
    expect(new Set(await side)).toEqual(new Set([-1, -2, -3, -4, -5]));
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    await untilFinalEvent(events, "completed");
    expect(workersEntering(events, "error")).toEqual([w.middle]);
    expect(workersEntering(events, "recovering").sort()).toEqual([...restartSet].sort());
    // A restarted worker ran a second attempt; the others ran only one.
    for (const name of [w.head, w.middle, w.tail, w.side]) {
      expect(w.signals.get(name)?.length, name).toBe(restartSet.includes(name) ? 2 : 1);
    }
  });

  it("one_for_all leaves workers that already finished alone", async () => {
    const { env, clock } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    autoAdvanceBackoff(env, clock);
    const gate = deferred();
    const w = buildFlow(env, { strategy: "one_for_all", gate: gate.promise });
    const job = await w.flow.enqueueJob({ liveEnv: env });
    const out = collect<number>(job.output("out"));
    const headAndSideDone = Promise.all(
      [w.head, w.side].map((name) => nextEvent(env, (e) => e.type === "worker.state" && e.workerName === name && e.state === "done")),
    );
    for (const v of [1, 2, 3]) await job.input("in").feed(v);
    await job.input("in").terminate();
    await headAndSideDone;
    gate.resolve(); // only now does the middle worker fail
    expect(new Set(await out)).toEqual(new Set([11, 21, 31]));
    await job.waitUntilFinish();
    await untilFinalEvent(events, "completed");
    expect(workersEntering(events, "recovering").sort()).toEqual([w.middle, w.tail].sort());
  });

  it.each(["one_for_one", "one_for_all", "rest_for_one"] as const)(
    "%s: past the restart intensity (maxRestarts: 1) the flow job fails and every exposed reader throws",
    async (strategy) => {
      const { env, clock } = createTestEnv();
      autoAdvanceBackoff(env, clock);
      const w = buildFlow(env, { strategy, maxRestarts: 1, middleAlwaysFails: true });
      const job = await w.flow.enqueueJob({ liveEnv: env });
      const out = collectUntilError<number>(job.output("out"));
      const side = collectUntilError<number>(job.output("side"));
      for (const v of [1, 2, 3]) await job.input("in").feed(v);

      const error = await job.waitUntilFinish().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).message).toContain("exhausted its restart budget (1 restarts");
      expect((error as JobFailedError).cause).toMatchObject({ message: "middle chokes on 2 (attempt 2)" });
      expect((error as JobFailedError).restarts).toHaveLength(1);
      expect(job.status).toBe("failed");
      const [outResult, sideResult] = await Promise.all([out, side]);
      expectSameError(outResult.error, error);
      expectSameError(sideResult.error, error);
      // Readers attaching after the end throw too.
      expectSameError(await collect(job.output("out")).then(() => undefined, (e: unknown) => e), error);
      await expect(job.input("in").feed(4)).rejects.toBeInstanceOf(StreamClosedError);
    },
  );

  it("restart intensity is counted per job: two workers failing once each spend a budget of 1", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const n = ++counter;
    const first = JobSpec.define({ name: `first-${n}`, input: z.number(), output: z.number() });
    const second = JobSpec.define({ name: `second-${n}`, input: z.number(), output: z.number() });
    for (const spec of [first, second]) {
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ input, output, attempt }) => {
          for await (const v of input) {
            if (attempt === 1) throw new Error(`${spec.name} fails once`);
            await output.emit(v);
          }
        },
      });
    }
    const flow = Liveflow.define({
      name: `budget-${n}`,
      connections: [conn({ from: first, to: second })],
      exposures: [expose(first.input.default, "in"), expose(second.output.default, "out")],
      supervision: { ...FAST_RETRY, maxRestarts: 1 },
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const out = collectUntilError<number>(job.output("out"));
    await job.input("in").feed(1);
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toMatchObject({ message: `${second.name} fails once` });
    expectSameError((await out).error, error);
  });

  it("cancel mid-flow: the job is cancelled, readers throw, every worker stops in reverse topological order", async () => {
    const { env } = createTestEnv();
    const events: LifecycleEvent[] = [];
    env.subscribe((e) => events.push(e));
    const w = buildFlow(env);
    const allExecuting = Promise.all([w.head, w.middle, w.tail, w.side].map((name) => executing(env, name, 1)));
    const job = await w.flow.enqueueJob({ liveEnv: env });
    const out = collectUntilError<number>(job.output("out"));
    const side = collectUntilError<number>(job.output("side"));
    await job.input("in").feed(1);
    await allExecuting;
    // The first message has gone all the way through both branches.
    expect(await job.output("out").first()).toMatchObject({ data: 11 });
    expect(await job.output("side").first()).toMatchObject({ data: -1 });

    await job.cancel("kitchen closed");
    expect(job.status).toBe("cancelled");
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobCancelledError);
    expect((error as JobCancelledError).reason).toBe("kitchen closed");
    const [outResult, sideResult] = await Promise.all([out, side]);
    expect(outResult).toEqual({ data: [11], error });
    expect(sideResult).toEqual({ data: [-1], error });
    for (const name of [w.head, w.middle, w.tail, w.side]) {
      expect(w.signals.get(name)?.every((signal) => signal.aborted), name).toBe(true);
    }
    expect(w.flow.nodes[0]).toBe(w.head);
    await untilFinalEvent(events, "cancelled");
    expect(workersEntering(events, "stopping")).toEqual([...w.flow.nodes].reverse());
    expect(workersEntering(events, "stopped").sort()).toEqual([...w.flow.nodes].sort());
    expect(workersEntering(events, "done")).toEqual([]);
  });
});
