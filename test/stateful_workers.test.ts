/**
 * Stateful workers (README, "Stateful workers"): `initialState`, `state()`,
 * `updateState(recipe)`, the state committed with each acknowledgement of
 * input, `job.state(node?)`. The guarantee under test: whatever restarts
 * happened, each acknowledged input message changed the committed state
 * exactly once (outputs stay at-least-once). Runs on the suite's backend.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AttemptAbandonedError,
  ConfigurationError,
  JobFailedError,
  JobSpec,
  LiveEnv,
  Liveflow,
  ValidationError,
  conn,
  expose,
  type LiveJob,
  type RetryOptions,
} from "../src/index.js";
import { suiteBackend } from "./helpers/backends.js";
import { collect } from "./helpers/collect.js";
import { flushMicrotasks } from "./helpers/drive.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, deferred, FAST_RETRY, nextEvent } from "./helpers/env.js";
import { seededRandom, type SeededRandom } from "./helpers/seededRandom.js";

const peers: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((env) => env.close()));
  await closeAll();
});

let counter = 0;
/** A fresh name per spec or flow: one worker def per spec per env. */
const uniq = (name: string) => `${name}-${++counter}`;

/** Restarts without a real limit, each after 1 ms of the env's (simulated) clock. */
const GENEROUS_RETRY: RetryOptions = { maxRestarts: 1_000, withinMs: 60_000, backoff: { initialMs: 1, factor: 1, maxMs: 1, jitter: 0 } };

const VOCABULARY = ["basil", "leek", "kale", "okra", "sage", "dill"] as const;

type Counts = Record<string, number>;

function countsOf(words: readonly string[]): Counts {
  const counts: Counts = {};
  for (const word of words) counts[word] = (counts[word] ?? 0) + 1;
  return counts;
}

/** `word#k` for every k from 1 to the word's count: what a counting worker emits, each at least once. */
function expectedEmits(counts: Counts): Set<string> {
  return new Set(Object.entries(counts).flatMap(([word, count]) => Array.from({ length: count }, (_, k) => `${word}#${k + 1}`)));
}

/**
 * Where a processor may throw, decided by a seeded random: at each point,
 * with probability `chance`, at most `budget` times in all (so a job ends
 * whatever the backend does with its restarts).
 */
class FaultPlan {
  /** The points it threw at, in order. */
  readonly thrown: string[] = [];
  private readonly random: SeededRandom;

  constructor(
    seed: number,
    private readonly chance = 0.06,
    private readonly budget = 8,
  ) {
    this.random = seededRandom(seed);
  }

  maybeFail(point: string, chance = this.chance): void {
    if (this.thrown.length >= this.budget || this.random.next() >= chance) return;
    this.thrown.push(point);
    throw new Error(`planted failure ${this.thrown.length} at ${point}`);
  }
}

/** `count` words of the vocabulary, picked by `seed`. */
function wordsFor(seed: number, count: number): string[] {
  const random = seededRandom(seed + 1_000);
  return Array.from({ length: count }, () => random.pick(VOCABULARY));
}

/** Feeds `data` to the job's default input and terminates it. */
async function feedAll(job: LiveJob, data: readonly unknown[]): Promise<void> {
  for (const item of data) await job.input.feed(item);
  await job.input.terminate();
}

const SEEDS = [1, 2, 3, 4, 5, 6];

describe("stateful workers: exactly-once effects on state", () => {
  it("a counting worker that throws at random points ends with the exact counts of what was fed; its outputs are at least once", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const tally = JobSpec.define({
      name: uniq("tally"),
      input: z.string(),
      output: z.string(),
      state: z.record(z.string(), z.number().int().positive()),
    });
    const plans = new Map<string, FaultPlan>();
    tally.defineWorker({
      liveEnv: env,
      retry: GENEROUS_RETRY,
      initialState: (): Counts => ({}),
      processor: async ({ input, output, state, updateState, jobId }) => {
        const plan = plans.get(jobId)!;
        for await (const word of input) {
          plan.maybeFail("before updateState");
          updateState((counts) => {
            counts[word] = (counts[word] ?? 0) + 1;
          });
          // Here the state holds the message's effect, not committed yet: a failure must not count it twice.
          plan.maybeFail("after updateState");
          await output.emit(`${word}#${state()[word]}`);
          plan.maybeFail("after emit");
        }
        plan.maybeFail("after the last message", 0.5);
      },
    });
    const runs = SEEDS.map(async (seed) => {
      const jobId = uniq(`seed-${seed}`);
      plans.set(jobId, new FaultPlan(seed));
      const job = await tally.enqueueJob({ liveEnv: env, jobId });
      const words = wordsFor(seed, 30);
      const emitted = collect(job.output);
      await feedAll(job, words);
      await job.waitUntilFinish();
      const expected = countsOf(words);
      expect(await job.state(), `seed ${seed} (failures at ${plans.get(jobId)!.thrown.join(", ")})`).toEqual(expected);
      // At least once: every count was emitted, and nothing else was (a replayed message emits its count again).
      expect(new Set(await emitted), `seed ${seed}`).toEqual(expectedEmits(expected));
      return plans.get(jobId)!.thrown;
    });
    const thrown = await Promise.all(runs);
    // Every job restarted; the schedules exercise every point, the one between updateState and the commit above all.
    for (const points of thrown) expect(points.length).toBeGreaterThan(0);
    expect(new Set(thrown.flat())).toEqual(new Set(["before updateState", "after updateState", "after emit", "after the last message"]));
  });

  it.each([
    {
      how: "input.merge",
      read: async function* (input: (tag: "sauce" | "dough") => AsyncIterable<string>, merged: AsyncIterable<{ tag: string; data: string }>) {
        yield* merged;
      },
    },
    {
      how: "two inputs read in turn",
      read: async function* (input: (tag: "sauce" | "dough") => AsyncIterable<string>) {
        const readers = (["sauce", "dough"] as const).map((tag) => ({ tag, iterator: input(tag)[Symbol.asyncIterator]() }));
        while (readers.length > 0) {
          for (const reader of [...readers]) {
            const next = await reader.iterator.next();
            if (next.done) readers.splice(readers.indexOf(reader), 1);
            else yield { tag: reader.tag, data: next.value };
          }
        }
      },
    },
  ])("a worker of several inputs ($how) that throws at random points ends with the exact counts of both", async ({ read }) => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const pizza = JobSpec.define({ name: uniq("pizza"), input: { sauce: z.string(), dough: z.string() }, output: z.string() });
    const plans = new Map<string, FaultPlan>();
    pizza.defineWorker({
      liveEnv: env,
      retry: GENEROUS_RETRY,
      initialState: (): Counts => ({}),
      processor: async ({ input, output, updateState, jobId }) => {
        const plan = plans.get(jobId)!;
        for await (const { tag, data } of read(input, input.merge("sauce", "dough"))) {
          plan.maybeFail("before updateState");
          updateState((counts) => {
            counts[`${tag}:${data}`] = (counts[`${tag}:${data}`] ?? 0) + 1;
          });
          plan.maybeFail("after updateState");
          await output.emit(`${tag}:${data}`);
        }
      },
    });
    const runs = SEEDS.map(async (seed) => {
      const jobId = uniq(`seed-${seed}`);
      plans.set(jobId, new FaultPlan(seed));
      const job = await pizza.enqueueJob({ liveEnv: env, jobId });
      const sauces = wordsFor(seed, 15);
      const doughs = wordsFor(seed + 50, 12);
      const feed = async (tag: "sauce" | "dough", words: string[]) => {
        for (const word of words) await job.input(tag).feed(word);
        await job.input(tag).terminate();
      };
      await Promise.all([feed("sauce", sauces), feed("dough", doughs)]);
      await job.waitUntilFinish();
      const expected = countsOf([...sauces.map((word) => `sauce:${word}`), ...doughs.map((word) => `dough:${word}`)]);
      expect(await job.state(), `seed ${seed} (failures at ${plans.get(jobId)!.thrown.join(", ")})`).toEqual(expected);
      return plans.get(jobId)!.thrown;
    });
    const thrown = await Promise.all(runs);
    for (const points of thrown) expect(points.length).toBeGreaterThan(0);
    expect(new Set(thrown.flat())).toEqual(new Set(["before updateState", "after updateState"]));
  });

  it("a flow's stateful nodes each keep their own state: job.state(label); a flow job needs the label", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const words = JobSpec.define({ name: uniq("words"), input: z.string(), output: z.string(), state: z.record(z.string(), z.number()) });
    const lengths = JobSpec.define({ name: uniq("lengths"), input: z.string(), output: z.number(), state: z.object({ letters: z.number(), words: z.number() }) });
    words.defineWorker({
      liveEnv: env,
      initialState: (): Counts => ({}),
      processor: async ({ input, output, updateState, attempt }) => {
        for await (const word of input) {
          updateState((counts) => {
            counts[word] = (counts[word] ?? 0) + 1;
          });
          // Fails once, mid-stream, with its effect on the state not committed yet.
          if (word === "okra" && attempt === 1) throw new Error("dropped the okra");
          await output.emit(word);
        }
      },
    });
    lengths.defineWorker({
      liveEnv: env,
      initialState: () => ({ letters: 0, words: 0 }),
      processor: async ({ input, output, state, updateState }) => {
        for await (const word of input) {
          updateState((total) => {
            total.letters += word.length;
            total.words += 1;
          });
          await output.emit(state().letters);
        }
      },
    });
    const flow = Liveflow.define({
      name: uniq("stateful-flow"),
      connections: [conn({ from: { spec: words, label: "tally" }, to: { spec: lengths, label: "measure" } })],
      exposures: [
        expose({ spec: words, label: "tally", tag: "default", direction: "input" }, "in"),
        expose({ spec: lengths, label: "measure", tag: "default", direction: "output" }, "out"),
      ],
      supervision: GENEROUS_RETRY,
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const fed = ["kale", "okra", "sage", "kale"];
    const out = collect(job.output("out"));
    for (const word of fed) await job.input("in").feed(word);
    await job.input("in").terminate();
    await job.waitUntilFinish();
    await out;
    expect(await job.state("tally")).toEqual({ kale: 2, okra: 1, sage: 1 });
    // "tally" failed on "okra" before emitting it: "measure" got each word once.
    expect(await job.state("measure")).toEqual({ letters: 16, words: 4 });
    await expect(job.state()).rejects.toThrow(ConfigurationError);
    await expect(job.state()).rejects.toThrow(/name one, job\.state\(label\).*"tally".*"measure"/);
    await expect(job.state("oven")).rejects.toThrow(ConfigurationError);
    await expect(job.state("oven")).rejects.toThrow(/no worker "oven"/);
    // A node of the flow's spec name is not one of its nodes either: nodes are keyed by label.
    await expect(job.state(words.name)).rejects.toThrow(ConfigurationError);
  });
});

describe("stateful workers: the state schema", () => {
  const boundedSpec = () => JobSpec.define({ name: uniq("bounded"), input: z.number(), state: z.object({ count: z.number().int().max(3) }) });

  it("a state the schema refuses at a commit fails the job with a ValidationError, not retried; the committed state stays the last valid one", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = boundedSpec();
    const attempts: number[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: GENEROUS_RETRY,
      initialState: () => ({ count: 0 }),
      processor: async ({ input, updateState, attempt }) => {
        attempts.push(attempt);
        for await (const _ of input) {
          updateState((state) => {
            state.count += 1;
          });
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    // The job fails while it is fed: the feed that finds its input closed is not what this test is about.
    const fed = feedAll(job, [1, 2, 3, 4, 5]).catch(() => {});
    const error = await job.waitUntilFinish().then(
      () => undefined,
      (e: unknown) => e,
    );
    await fed;
    expect(error).toBeInstanceOf(JobFailedError);
    const cause = (error as JobFailedError).cause;
    expect(cause).toBeInstanceOf(ValidationError);
    expect((cause as ValidationError).message).toContain("state of worker");
    expect((error as JobFailedError).restarts).toEqual([]);
    expect(attempts).toEqual([1]);
    // Message 4 made the count 4: asking for message 5 committed nothing.
    expect(await job.state()).toEqual({ count: 3 });
  });

  it("a state the schema refuses when the processor returns fails the job the same way", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = boundedSpec();
    const attempts: number[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: GENEROUS_RETRY,
      initialState: () => ({ count: 0 }),
      processor: async ({ input, updateState, attempt }) => {
        attempts.push(attempt);
        for await (const _ of input) {
          updateState((state) => {
            state.count += 1;
          });
        }
        updateState(() => ({ count: 99 }));
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [1, 2]);
    const error = await job.waitUntilFinish().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(ValidationError);
    expect(attempts).toEqual([1]);
    expect(await job.state()).toEqual({ count: 2 });
  });
});

describe("stateful workers: state() and updateState()", () => {
  it("what a recipe throws, updateState throws, the state unchanged; uncaught, it fails the attempt and the restart starts from the committed state", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: uniq("sum"), input: z.number() });
    const boom = new Error("the recipe burnt");
    const startedFrom: unknown[] = [];
    const caught: Array<{ error: unknown; sameState: boolean }> = [];
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      initialState: () => ({ sum: 0 }),
      processor: async ({ input, state, updateState, attempt }) => {
        startedFrom.push(state());
        for await (const n of input) {
          updateState((draft) => {
            draft.sum += n;
          });
          if (n === 2 && attempt === 1) {
            const before = state();
            try {
              updateState((draft) => {
                draft.sum = 1_000;
                throw boom;
              });
            } catch (error) {
              caught.push({ error, sameState: state() === before });
            }
            updateState(() => {
              throw new Error("uncaught recipe failure");
            });
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [1, 2, 3]);
    await job.waitUntilFinish();
    expect(caught).toEqual([{ error: boom, sameState: true }]);
    // Attempt 2 starts from what was committed with message 1: message 2's change died with attempt 1.
    expect(startedFrom).toEqual([{ sum: 0 }, { sum: 1 }]);
    expect(await job.state()).toEqual({ sum: 6 });
  });

  it("works without a schema: state() is frozen (assigning throws TypeError), a recipe may return a replacement", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("free"), input: z.string() });
    const assignments: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      initialState: () => ({ seen: [] as string[], nested: { last: "" } }),
      processor: async ({ input, state, updateState }) => {
        for await (const word of input) {
          for (const assign of [
            () => ((state() as unknown as { nested: { last: string } }).nested.last = word),
            () => (state() as unknown as { seen: string[] }).seen.push(word),
            () => ((state() as unknown as { extra?: number }).extra = 1),
          ]) {
            try {
              assign();
              assignments.push("changed");
            } catch (error) {
              assignments.push(error);
            }
          }
          if (word === "reset") {
            updateState(() => ({ seen: ["reset"], nested: { last: "reset" } }));
          } else {
            updateState((draft) => {
              draft.seen.push(word);
              draft.nested.last = word;
            });
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, ["a", "reset", "b"]);
    await job.waitUntilFinish();
    expect(assignments).toHaveLength(9);
    for (const outcome of assignments) expect(outcome).toBeInstanceOf(TypeError);
    expect(await job.state()).toEqual({ seen: ["reset", "b"], nested: { last: "b" } });
  });

  it("keeps a primitive state (a number), changed by recipes that return the next one", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: uniq("total"), input: z.number(), state: z.number() });
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      initialState: () => 0,
      processor: async ({ input, state, updateState, attempt }) => {
        for await (const n of input) {
          updateState((total) => total + n);
          if (n === 20 && attempt === 1) throw new Error(`failed at ${state()}`);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [10, 20, 30]);
    await job.waitUntilFinish();
    expect(await job.state()).toBe(60);
  });
});

describe("stateful workers: configuration errors", () => {
  it("updateState of a worker without initialState throws a ConfigurationError naming the fix; its state() is undefined", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("stateless"), input: z.number() });
    const seen: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, state, updateState }) => {
        for await (const _ of input) {
          seen.push(state());
          try {
            updateState(() => {});
          } catch (error) {
            seen.push(error);
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [1]);
    await job.waitUntilFinish();
    expect(seen[0]).toBeUndefined();
    expect(seen[1]).toBeInstanceOf(ConfigurationError);
    expect((seen[1] as Error).message).toMatch(/initialState: \(\) =>/);
    expect(await job.state()).toBeUndefined();
  });

  it("updateState with something that is not a function throws a ConfigurationError, the state unchanged", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("misuse"), input: z.number() });
    const seen: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      initialState: () => ({ n: 0 }),
      processor: async ({ input, state, updateState }) => {
        for await (const n of input) {
          try {
            updateState({ n } as never);
          } catch (error) {
            seen.push(error, state());
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [5]);
    await job.waitUntilFinish();
    expect(seen[0]).toBeInstanceOf(ConfigurationError);
    expect(seen[1]).toEqual({ n: 0 });
    expect(await job.state()).toEqual({ n: 0 });
  });

  it("defineWorker refuses a spec with a state schema without initialState, and an initialState that is not a function, registering nothing", () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("strict"), input: z.number(), state: z.object({ n: z.number() }) });
    const processor = async () => {};
    expect(() => spec.defineWorker({ liveEnv: env, processor } as never)).toThrow(ConfigurationError);
    expect(() => spec.defineWorker({ liveEnv: env, processor } as never)).toThrow(/needs initialState/);
    expect(() => spec.defineWorker({ liveEnv: env, processor, initialState: { n: 0 } as never })).toThrow(ConfigurationError);
    expect(() => spec.defineWorker({ liveEnv: env, processor, initialState: { n: 0 } as never })).toThrow(/initialState .* must be a function; got object/);
    // Nothing was registered: a good def still takes the spec's place in the env.
    expect(() => spec.defineWorker({ liveEnv: env, processor, initialState: () => ({ n: 0 }) })).not.toThrow();
  });

  it("JobSpec.define refuses a state that is not a schema", () => {
    for (const state of [{ n: 0 }, "z.number()", 42, null]) {
      expect(() => JobSpec.define({ name: uniq("bad-state"), state: state as never })).toThrow(ConfigurationError);
      expect(() => JobSpec.define({ name: uniq("bad-state"), state: state as never })).toThrow(/state of spec .* must be a Standard Schema/);
    }
  });
});

describe("stateful workers: job.state()", () => {
  const tallySpec = () => JobSpec.define({ name: uniq("tally"), input: z.string(), state: z.record(z.string(), z.number()) });
  const tallyProcessor =
    (gate: Promise<void>) =>
    async ({ input, updateState }: { input: AsyncIterable<string>; updateState: (recipe: (counts: Counts) => void) => void }) => {
      // Waits before it reads: nothing is committed before the first read.
      await gate;
      for await (const word of input) {
        updateState((counts) => {
          counts[word] = (counts[word] ?? 0) + 1;
        });
      }
    };

  it("is undefined before the first commit, and the final state once the job completed; the spec's one worker may be named", async () => {
    const { env } = createTestEnv();
    const spec = tallySpec();
    const gate = deferred();
    const running = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing");
    spec.defineWorker({ liveEnv: env, initialState: (): Counts => ({}), processor: tallyProcessor(gate.promise) });
    const job = await spec.enqueueJob({ liveEnv: env });
    await running;
    expect(await job.state()).toBeUndefined();
    gate.resolve();
    await feedAll(job, ["kale", "leek", "kale"]);
    await job.waitUntilFinish();
    expect(await job.state()).toEqual({ kale: 2, leek: 1 });
    expect(await job.state(spec.name)).toEqual({ kale: 2, leek: 1 });
    await expect(job.state("oven")).rejects.toThrow(ConfigurationError);
  });

  it.runIf(suiteBackend().peer !== undefined)("is read from another process of the env: spec.getJob(id) then state() [shared backends only]", async () => {
    const factory = suiteBackend();
    const backend = factory.create();
    const { env } = createTestEnv({ projectId: uniq("stateful"), backend });
    const spec = tallySpec();
    const gate = deferred();
    gate.resolve();
    spec.defineWorker({ liveEnv: env, initialState: (): Counts => ({}), processor: tallyProcessor(gate.promise) });
    const job = await spec.enqueueJob({ liveEnv: env });
    const elsewhere = LiveEnv.create({ projectId: env.projectId, backend: factory.peer!(backend), logger: { debug() {}, info() {}, warn() {}, error() {} } });
    peers.push(elsewhere);
    const seen = await spec.getJob(job.jobId, { liveEnv: elsewhere });
    expect(seen).toBeDefined();
    await feedAll(job, ["okra", "okra", "dill"]);
    // Waited for there: the other process learns of the end from the store, after the commits made before it.
    // (This process's handle may settle first: a read elsewhere sees only what reached the store.)
    await seen!.waitUntilFinish();
    expect(await seen!.state()).toEqual({ okra: 2, dill: 1 });
  });
});

describe("stateful workers: stale attempts", () => {
  it("an attempt abandoned at its heartbeat timeout changes no committed state: its updateState throws AttemptAbandonedError, its next read commits nothing", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: uniq("stale"), input: z.string() });
    const wake = deferred();
    let stuck = false;
    const stale: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      timeouts: { heartbeatMs: 500 },
      initialState: (): Counts => ({}),
      processor: async ({ input, updateState, attempt }) => {
        const words = input[Symbol.asyncIterator]();
        for (let next = await words.next(); !next.done; next = await words.next().catch((error: unknown) => (stale.push(error), { done: true as const, value: undefined }))) {
          const word = next.value;
          updateState((counts) => {
            counts[word] = (counts[word] ?? 0) + 1;
          });
          if (attempt === 1) {
            // Not committed before the attempt is abandoned: were a stale commit taken, the state would show it.
            updateState((counts) => {
              counts.stale = 1;
            });
            stuck = true;
            // Stuck in something that ignores the signal, then comes back.
            await wake.promise;
            try {
              updateState((counts) => {
                counts[word] = 100;
              });
            } catch (error) {
              stale.push(error);
            }
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const secondRunning = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.attempt === 2);
    await job.input.feed("kale");
    await expect.poll(() => stuck).toBe(true);
    await flushMicrotasks();
    clock.increment(500);
    await secondRunning;
    // Attempt 2 counted "kale" again from the committed state, and committed it asking for the next word.
    await expect.poll(() => job.state()).toEqual({ kale: 1 });
    wake.resolve();
    await expect.poll(() => stale.length).toBe(2);
    expect(stale[0]).toBeInstanceOf(AttemptAbandonedError);
    expect(stale[0]).toMatchObject({ attempt: 1 });
    expect(stale[1]).toBeInstanceOf(AttemptAbandonedError);
    expect(await job.state()).toEqual({ kale: 1 });
    await feedAll(job, ["leek"]);
    await job.waitUntilFinish();
    expect(await job.state()).toEqual({ kale: 1, leek: 1 });
  });

  it("work an attempt left behind when it failed cannot change the state after the restart", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: uniq("lingering"), input: z.string() });
    const later = deferred();
    const lateUpdate = deferred<unknown>();
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      initialState: (): Counts => ({}),
      processor: async ({ input, updateState, attempt }) => {
        for await (const word of input) {
          updateState((counts) => {
            counts[word] = (counts[word] ?? 0) + 1;
          });
          if (attempt === 1 && word === "leek") {
            // A fire-and-forget task that outlives the processor's own promise.
            void later.promise.then(() => {
              try {
                updateState((counts) => {
                  counts.leek = 100;
                });
                lateUpdate.resolve("applied");
              } catch (error) {
                lateUpdate.resolve(error);
              }
            });
            throw new Error("crash with work left behind");
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const restarted = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.attempt === 2);
    await job.input.feed("kale");
    await job.input.feed("leek");
    await restarted;
    later.resolve();
    expect(await lateUpdate.promise).toBeInstanceOf(AttemptAbandonedError);
    await feedAll(job, ["leek"]);
    await job.waitUntilFinish();
    expect(await job.state()).toEqual({ kale: 1, leek: 2 });
  });
});
