/**
 * Every lookup keyed by a user string (spec name, node label, tag, alias,
 * log level, an error's fields) reads own keys only: a name that is also an
 * `Object.prototype` member (`constructor`, `toString`, `hasOwnProperty`,
 * `valueOf`) is an ordinary name, and nothing reaches `Object.prototype`.
 */
import { createActor, fromPromise, SimulatedClock } from "xstate";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { jobMachine, workerMachine } from "../machines/index.js";
import { JobSpec, Liveflow, TimeoutError, ValidationError, conn, consoleLogger, expose, serializeError } from "../src/index.js";
import { collect } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

describe("names that are Object.prototype members", () => {
  it("specs, labels, tags and aliases named constructor / toString / hasOwnProperty / valueOf run a whole flow", async () => {
    const before = prototypeKeys();
    const { env } = createTestEnv();
    const Factor = z.object({ factor: z.number().default(1) });
    // Spec names, tags and labels are all prototype member names.
    const first = JobSpec.define({ name: "constructor", input: z.number(), output: { toString: z.number() } });
    const middle = JobSpec.define({
      name: "hasOwnProperty",
      input: { toString: z.number() },
      output: { valueOf: z.number() },
      jobOptions: Factor,
    });
    const last = JobSpec.define({ name: "valueOf", input: z.number(), output: z.string() });
    const seenOptions = new Map<string, unknown>();
    first.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, jobOptions }) => {
        seenOptions.set("constructor", jobOptions);
        for await (const n of input) await output("toString").emit(n + 1);
      },
    });
    middle.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, jobOptions }) => {
        seenOptions.set("hasOwnProperty", jobOptions);
        for await (const n of input("toString")) await output("valueOf").emit(n * jobOptions.factor);
      },
    });
    last.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, jobOptions }) => {
        seenOptions.set("valueOf", jobOptions);
        for await (const n of input) await output.emit(`#${n}`);
      },
    });
    const flow = Liveflow.define({
      name: "toString",
      connections: [
        conn({ from: first.output.toString, to: { spec: middle, label: "valueOf", tag: "toString" } }),
        conn({ from: { spec: middle, label: "valueOf", tag: "valueOf" }, to: { spec: last, label: "toString" } }),
      ],
      exposures: [expose(first.input.default, "toString"), expose({ spec: last, label: "toString", tag: "default", direction: "output" }, "constructor")],
    });
    expect(flow.nodes).toEqual(["constructor", "valueOf", "toString"]);

    // Options only for the node labelled `valueOf`; `constructor` and `toString` get none,
    // and an inherited key is not an option for a node.
    const jobOptions = Object.assign(Object.create({ toString: { factor: 99 } }) as Record<string, unknown>, { valueOf: { factor: 10 } });
    const job = await flow.enqueueJob({ liveEnv: env, jobOptions });
    const reading = collect<string>(job.output("constructor"));
    for (const n of [1, 2, 3]) await job.input("toString").feed(n);
    await job.input("toString").terminate();
    expect(await reading).toEqual(["#20", "#30", "#40"]);
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    expect(seenOptions.size).toBe(3);
    expect(seenOptions.get("constructor")).toBeUndefined();
    expect(seenOptions.get("hasOwnProperty")).toEqual({ factor: 10 });
    expect(seenOptions.get("valueOf")).toBeUndefined();
    expect(prototypeKeys()).toEqual(before);
  });

  it("a plain job of a spec named toString, with tags named constructor and hasOwnProperty", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "toString", input: { constructor: z.string() }, output: { hasOwnProperty: z.string() } });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const s of input("constructor")) await output("hasOwnProperty").emit(s.toUpperCase());
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input("constructor").feed("leek");
    await job.input("constructor").terminate();
    expect(await collect(job.output("hasOwnProperty"))).toEqual(["LEEK"]);
    // Tags the spec does not declare are unknown, prototype members included.
    expect(spec.input).not.toHaveProperty("toString");
    expect(() => job.output("valueOf" as never)).toThrow(/Unknown output tag "valueOf"/);
  });
});

describe("the machines read their per-worker records by own keys", () => {
  it("a worker named toString gets the job's init timeout when START lists no per-worker timeouts", async () => {
    const clock = new SimulatedClock();
    const hangingInit = workerMachine.provide({ actors: { initialize: fromPromise(() => new Promise<void>(() => {})) } });
    const job = createActor(jobMachine.provide({ actors: { worker: hangingInit } }), {
      clock,
      input: { jobId: "j1", specName: "s", workers: ["toString"] },
    }).start();
    const failures: unknown[] = [];
    job.system.inspect((event) => {
      if (event.type === "@xstate.event" && event.event.type === "WORKER.FAILED") failures.push(event.event.error);
    });
    job.send({ type: "START", retry: { maxRestarts: 0, withinMs: 1_000, resetAfterMs: 1_000, backoff: { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 } }, timeouts: { initMs: 100 } });
    clock.increment(100);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(TimeoutError);
    expect(job.getSnapshot().value).toBe("failed");
    job.stop();
  });

  it("rest_for_one restarts a failed worker named constructor when no downstream map was given", async () => {
    const clock = new SimulatedClock();
    let runs = 0;
    const failingOnce = workerMachine.provide({
      actors: {
        execute: fromPromise(async () => {
          if (++runs === 1) throw new Error("first run fails");
        }),
      },
    });
    const job = createActor(jobMachine.provide({ actors: { worker: failingOnce } }), {
      clock,
      input: { jobId: "j2", specName: "s", workers: ["constructor"], strategy: "rest_for_one" },
    }).start();
    job.send({ type: "START", retry: { maxRestarts: 1, withinMs: 1_000, resetAfterMs: 1_000, backoff: { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 } }, timeouts: {}, withoutInit: ["constructor"] });
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.increment(1);
    }
    expect(job.getSnapshot().status).toBe("done");
    expect(job.getSnapshot().value).toBe("completed");
    expect(runs).toBe(2);
  });
});

describe("other user-keyed lookups", () => {
  it("consoleLogger refuses a level that is not a level, prototype members included", () => {
    for (const level of ["constructor", "toString", "verbose", ""]) {
      expect(() => consoleLogger(level as never)).toThrow(ValidationError);
    }
    expect(() => consoleLogger("silent")).not.toThrow();
  });

  it("serializeError keeps an error's own `__proto__` field as data, never as the prototype of its result", () => {
    const error = Object.defineProperty(new Error("odd"), "__proto__", { value: { injected: true }, enumerable: true });
    const json = serializeError(error);
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect((json as Record<string, unknown>).injected).toBeUndefined();
    expect(Object.hasOwn(json, "__proto__")).toBe(true);
  });
});
