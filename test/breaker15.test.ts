/**
 * Breaker tests for issue 15 (stateful workers): attacks on "each
 * acknowledged message changed the committed state exactly once", on the
 * frozen state, and on the typed errors around it. Runs on the suite's
 * backend (memory, memory-copy, redis). Tests that fail on main are defects,
 * each described in its comment.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigurationError,
  JobFailedError,
  JobSpec,
  Liveflow,
  ValidationError,
  conn,
  expose,
  type LiveJob,
  type RetryOptions,
} from "../src/index.js";
import { suiteBackend } from "./helpers/backends.js";
import { collect } from "./helpers/collect.js";
import { autoAdvanceBackoff, closeAll, createTestEnv, deferred, FAST_RETRY, nextEvent } from "./helpers/env.js";

afterEach(async () => {
  await closeAll();
});

let counter = 0;
const uniq = (name: string) => `${name}-b15-${++counter}`;

const NO_RETRY: RetryOptions = { maxRestarts: 0 };
type Counts = Record<string, number>;

async function feedAll(job: LiveJob, data: readonly unknown[], tag = "default"): Promise<void> {
  for (const item of data) await job.input(tag).feed(item);
  await job.input(tag).terminate();
}

const outcomeOf = (job: LiveJob) =>
  job.waitUntilFinish().then(
    () => "completed" as const,
    (error: unknown) => error,
  );

describe("breaker15: after the processor returned", () => {
  // DEFECT: an attempt stays live after its processor returned (NodeRuntime.completeAttempt never fences it), so
  // work the processor left running keeps reading input and committing state after the job completed.
  it("a read left running after the processor returned commits nothing: job.state() is the state at the return", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("detached"), input: z.string() });
    const gate = deferred();
    const late = deferred<unknown>();
    spec.defineWorker({
      liveEnv: env,
      initialState: (): Counts => ({}),
      processor: async ({ input, updateState }) => {
        const words = input[Symbol.asyncIterator]();
        const first = await words.next();
        updateState((counts) => {
          counts[first.value as string] = 1;
        });
        // Work left behind: it reads on once the job is over.
        void gate.promise.then(async () => {
          try {
            for (let next = await words.next(); !next.done; next = await words.next()) {
              const word = next.value as string;
              updateState((counts) => {
                counts[word] = (counts[word] ?? 0) + 1;
              });
            }
            late.resolve("read and committed after the return");
          } catch (error) {
            late.resolve(error);
          }
        });
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, ["kale", "leek", "okra"]);
    await job.waitUntilFinish();
    const atTheEnd = await job.state();
    expect(atTheEnd).toEqual({ kale: 1 });
    gate.resolve();
    const lateOutcome = await late.promise;
    await new Promise((resolve) => setTimeout(resolve, suiteBackend().quietMs + 20));
    const seen = {
      // The committed state of a completed job never changes…
      state: await job.state(),
      // …and the late work is refused with a typed error.
      lateOutcome: lateOutcome instanceof ConfigurationError ? "ConfigurationError" : lateOutcome,
    };
    expect(seen).toEqual({ state: atTheEnd, lateOutcome: "ConfigurationError" });
  });

  // DEFECT (same cause, memory backends): the late commit lands in the store after the job's runtime disposed of it
  // (MemoryStreamStore.commit recreates the job's states), so a NEW job of the same id shows the old job's state.
  it.each(["before", "while"] as const)("a late commit of a completed job does not leak into a new job of the same id (late work %s the new job runs)", async (when) => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("leak"), input: z.string() });
    const gate = deferred();
    const late = deferred<unknown>();
    const secondGate = deferred();
    let runs = 0;
    spec.defineWorker({
      liveEnv: env,
      initialState: (): Counts => ({}),
      processor: async ({ input, updateState }) => {
        runs++;
        if (runs === 2) {
          // The second job of the id waits before its first commit.
          await secondGate.promise;
          return;
        }
        const words = input[Symbol.asyncIterator]();
        await words.next();
        void gate.promise.then(async () => {
          try {
            for (let next = await words.next(); !next.done; next = await words.next()) {
              const word = next.value as string;
              updateState((counts) => {
                counts[word] = (counts[word] ?? 0) + 1;
              });
            }
            late.resolve("committed late");
          } catch (error) {
            late.resolve(error);
          }
        });
      },
    });
    const lateWork = async () => {
      gate.resolve();
      await late.promise;
      await new Promise((resolve) => setTimeout(resolve, suiteBackend().quietMs + 20));
    };
    const jobId = uniq("reused");
    const first = await spec.enqueueJob({ liveEnv: env, jobId });
    await feedAll(first, ["kale", "stale-1", "stale-2"]);
    await first.waitUntilFinish();
    if (when === "before") await lateWork();
    const running = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.jobId === jobId);
    const second = await spec.enqueueJob({ liveEnv: env, jobId });
    await running;
    if (when === "while") await lateWork();
    const beforeItsFirstCommit = await second.state();
    secondGate.resolve();
    await second.waitUntilFinish();
    // The new job committed nothing yet then.
    expect(beforeItsFirstCommit).toBeUndefined();
  });

  // DEFECT (same cause): updateState after the processor returned succeeds silently; it is never committed.
  it("updateState called after the processor returned throws a typed error", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("after-return") });
    const gate = deferred();
    const late = deferred<unknown>();
    spec.defineWorker({
      liveEnv: env,
      initialState: () => ({ n: 0 }),
      processor: async ({ updateState }) => {
        updateState((s) => {
          s.n = 1;
        });
        void gate.promise.then(() => {
          try {
            updateState((s) => {
              s.n = 2;
            });
            late.resolve("applied");
          } catch (error) {
            late.resolve(error);
          }
        });
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    gate.resolve();
    const error = await late.promise;
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/after its processor returned/);
    expect(await job.state()).toEqual({ n: 1 });
  });
});

describe("breaker15: the frozen state", () => {
  // DEFECT: immer does not freeze non-draftable values (typed arrays, Dates): the processor changes the committed
  // state in place, without updateState and without a commit; a restart in this process starts from it.
  it("an async recipe is refused with a ConfigurationError, the state unchanged", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("async-recipe"), input: z.number() });
    const seen: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: NO_RETRY,
      initialState: () => ({ n: 0 }),
      processor: async ({ input, state, updateState }) => {
        for await (const n of input) {
          try {
            // Returns a promise of the next state (a recipe written `async` by mistake).
            updateState((async () => ({ n })) as never);
            seen.push("accepted");
          } catch (error) {
            seen.push(error);
          }
          seen.push(state());
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [5]);
    await outcomeOf(job);
    expect(seen[0]).toBeInstanceOf(ConfigurationError);
    expect(seen[1]).toEqual({ n: 0 });
  });

  // Newcomer trial: an async recipe that changes the draft before its first await, and a concise arrow that changes the
  // draft and returns a value, made immer throw its own (retryable) error: now typed, not retried.
  it("an async recipe that changes the draft first, and a recipe that both changes the draft and returns a value, are ConfigurationErrors naming the fix", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("recipe-misuse"), input: z.number() });
    const seen: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: NO_RETRY,
      initialState: () => ({ n: 0 }),
      processor: async ({ input, state, updateState }) => {
        for await (const n of input) {
          for (const recipe of [
            (async (draft: { n: number }) => {
              draft.n = n;
            }) as never,
            ((draft: { n: number }) => (draft.n = n)) as never,
          ]) {
            try {
              updateState(recipe);
              seen.push("accepted");
            } catch (error) {
              seen.push(error instanceof ConfigurationError ? error.message : error);
            }
          }
          seen.push(state());
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [5]);
    await outcomeOf(job);
    expect(seen[0]).toMatch(/got an async recipe/);
    expect(seen[1]).toMatch(/immer refused the recipe .*change the draft or return a new state, not both/);
    expect(seen[2]).toEqual({ n: 0 });
    expect(job.status).toBe("completed");
  });

  // Maps and Sets cross every backend (README: plain data includes them), but immer needs its MapSet plugin to draft them.
  it("a Set in the state can be updated, or the update fails with a typed, non-retried error", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: uniq("set"), input: z.string() });
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      initialState: () => ({ seen: new Set<string>() }),
      processor: async ({ input, updateState }) => {
        attempts++;
        for await (const word of input) {
          updateState((draft) => {
            draft.seen.add(word);
          });
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, ["kale"]).catch(() => {});
    const outcome = await outcomeOf(job);
    if (outcome === "completed") {
      expect([...((await job.state()) as { seen: Set<string> }).seen]).toEqual(["kale"]);
    } else {
      expect(outcome).toBeInstanceOf(JobFailedError);
      expect((outcome as JobFailedError).cause).toBeInstanceOf(ConfigurationError);
      expect(attempts).toBe(1);
    }
  });
  // DEFECT (low): updateState called inside a recipe applies to the state before the outer recipe, and the outer
  // recipe's result then replaces it: the inner change is lost without an error.
  it("updateState called from inside a recipe throws a typed error, or both changes apply", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("nested") });
    const seen: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: NO_RETRY,
      initialState: () => ({ inner: 0, outer: 0 }),
      processor: async ({ updateState }) => {
        try {
          updateState((draft) => {
            updateState((inner) => {
              inner.inner = 1;
            });
            draft.outer = 1;
          });
        } catch (error) {
          seen.push(error);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await outcomeOf(job);
    const state = await job.state();
    if (seen.length > 0) expect(seen[0]).toBeInstanceOf(ConfigurationError);
    else expect(state).toEqual({ inner: 1, outer: 1 });
  });
});

describe("breaker15: schema checks and non-cloneable states", () => {
  it("an async state schema fails the job with a ConfigurationError at the first commit, not retried, no hang", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({
      name: uniq("async-schema"),
      input: z.number(),
      state: z.object({ n: z.number() }).refine(async () => true),
    });
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      initialState: () => ({ n: 0 }),
      processor: async ({ input, updateState }) => {
        attempts++;
        for await (const n of input) updateState((s) => ({ n: s.n + n }));
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const fed = feedAll(job, [1, 2]).catch(() => {});
    const outcome = await outcomeOf(job);
    await fed;
    expect(outcome).toBeInstanceOf(JobFailedError);
    expect((outcome as JobFailedError).cause).toBeInstanceOf(ConfigurationError);
    expect(((outcome as JobFailedError).cause as Error).message).toMatch(/asynchronously/);
    expect(attempts).toBe(1);
    expect(await job.state()).toBeUndefined();
  });

  // The run-time behaviour holds. TYPE DEFECT (reported, not asserted here: vitest does not type-check): the
  // worker's state type is the schema's OUTPUT (StateOf in src/spec/JobSpec.ts), while the state is stored and
  // checked as the schema's INPUT: without the casts below, `initialState` must return a number here.
  it("a schema with a transform checks the state but stores it as given", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({
      name: uniq("transform"),
      input: z.string(),
      state: z.object({ words: z.array(z.string()) }).transform((s) => s.words.length),
    });
    spec.defineWorker({
      liveEnv: env,
      initialState: (() => ({ words: [] as string[] })) as never,
      processor: async ({ input, updateState }) => {
        for await (const w of input) {
          updateState((s: any) => {
            s.words.push(w);
          });
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, ["a", "b"]);
    await job.waitUntilFinish();
    expect(await job.state()).toEqual({ words: ["a", "b"] });
  });

  it.runIf(suiteBackend().copies)("a state holding a function fails the job with a ValidationError naming the worker, nothing committed [copying backends]", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const spec = JobSpec.define({ name: uniq("fn-state"), input: z.number() });
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: FAST_RETRY,
      initialState: () => ({ n: 0 }),
      processor: async ({ input, updateState }) => {
        attempts++;
        for await (const n of input) {
          updateState((s) => {
            s.n += n;
          });
          if (n === 2) updateState((s) => ({ ...s, f: () => 1 }));
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const fed = feedAll(job, [1, 2, 3]).catch(() => {});
    const outcome = await outcomeOf(job);
    await fed;
    expect(outcome).toBeInstanceOf(JobFailedError);
    expect((outcome as JobFailedError).cause).toBeInstanceOf(ValidationError);
    expect(((outcome as JobFailedError).cause as Error).message).toMatch(/state of worker/);
    expect(attempts).toBe(1);
    expect(await job.state()).toEqual({ n: 1 });
  });

  // DEFECT (low): an initialState that returns a promise is taken as the state (a Promise) instead of being refused.
  it("an async initialState is refused with a ConfigurationError", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("async-initial") });
    spec.defineWorker({
      liveEnv: env,
      retry: NO_RETRY,
      initialState: (async () => ({ n: 0 })) as never,
      processor: async () => {},
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const outcome = await outcomeOf(job);
    expect(outcome).toBeInstanceOf(JobFailedError);
    expect((outcome as JobFailedError).cause).toBeInstanceOf(ConfigurationError);
  });
});

describe("breaker15: returns, cancels, reuse, flows", () => {
  it("a processor that returns without reading all its input commits what it took; one that only updates its state commits it", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("early-return"), input: z.number() });
    spec.defineWorker({
      liveEnv: env,
      initialState: () => ({ sum: 0, done: false }),
      processor: async ({ input, updateState }) => {
        for await (const n of input) {
          updateState((s) => {
            s.sum += n;
          });
          if (n === 2) break;
        }
        updateState((s) => {
          s.done = true;
        });
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await feedAll(job, [1, 2, 3, 4]).catch(() => {});
    await job.waitUntilFinish();
    expect(await job.state()).toEqual({ sum: 3, done: true });
  });

  it("a cancelled job keeps the state committed before the cancel, not the uncommitted change", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("cancel"), input: z.number() });
    const holding = deferred();
    spec.defineWorker({
      liveEnv: env,
      initialState: () => ({ sum: 0 }),
      processor: async ({ input, updateState, signal }) => {
        for await (const n of input) {
          updateState((s) => {
            s.sum += n;
          });
          if (n === 2) {
            holding.resolve();
            await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
          }
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.input.feed(1);
    await job.input.feed(2);
    await holding.promise;
    await job.cancel("enough");
    await outcomeOf(job);
    expect(await job.state()).toEqual({ sum: 1 });
  });

  it("a job id reused after a final job starts from initialState, and job.state() of the new job does not show the old state", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: uniq("reuse"), input: z.number() });
    const startedFrom: unknown[] = [];
    const gate = deferred();
    spec.defineWorker({
      liveEnv: env,
      initialState: () => ({ sum: 0 }),
      processor: async ({ input, state, updateState }) => {
        startedFrom.push(state());
        if (startedFrom.length === 2) await gate.promise;
        for await (const n of input) {
          updateState((s) => {
            s.sum += n;
          });
        }
      },
    });
    const jobId = uniq("same-id");
    const first = await spec.enqueueJob({ liveEnv: env, jobId });
    await feedAll(first, [10, 20]);
    await first.waitUntilFinish();
    expect(await first.state()).toEqual({ sum: 30 });
    const running = nextEvent(env, (e) => e.type === "worker.state" && e.state === "executing" && e.jobId === jobId);
    const second = await spec.enqueueJob({ liveEnv: env, jobId });
    await running;
    await expect.poll(() => startedFrom.length).toBe(2);
    expect(startedFrom[1]).toEqual({ sum: 0 });
    expect(await second.state()).toBeUndefined();
    gate.resolve();
    await feedAll(second, [1]);
    await second.waitUntilFinish();
    expect(await second.state()).toEqual({ sum: 1 });
  });

  it("one_for_all: a stateful sibling restarted mid-message keeps exact state", async () => {
    const { env, clock } = createTestEnv();
    autoAdvanceBackoff(env, clock);
    const counter = JobSpec.define({ name: uniq("counter"), input: z.string(), output: z.string() });
    const flaky = JobSpec.define({ name: uniq("flaky"), input: z.string(), output: z.string() });
    let flakyFailed = false;
    const counterHolding = deferred();
    counter.defineWorker({
      liveEnv: env,
      initialState: (): Counts => ({}),
      processor: async ({ input, output, updateState, attempt, signal }) => {
        for await (const w of input) {
          updateState((c) => {
            c[w] = (c[w] ?? 0) + 1;
          });
          if (w === "leek" && attempt === 1) {
            counterHolding.resolve();
            // Mid-message (counted, not committed) when its sibling's failure restarts it.
            await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
          }
          await output.emit(w);
        }
      },
    });
    flaky.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const w of input) {
          await counterHolding.promise;
          if (!flakyFailed) {
            flakyFailed = true;
            throw new Error("sibling failure");
          }
          await output.emit(w);
        }
      },
    });
    const flow = Liveflow.define({
      name: uniq("ofa"),
      connections: [conn({ from: { spec: counter, label: "count" }, to: { spec: flaky, label: "pass" } })],
      exposures: [
        expose({ spec: counter, label: "count", tag: "default", direction: "input" }, "in"),
        expose({ spec: flaky, label: "pass", tag: "default", direction: "output" }, "out"),
      ],
      supervision: { ...FAST_RETRY, strategy: "one_for_all" } as never,
    });
    const job = await flow.enqueueJob({ liveEnv: env });
    const out = collect(job.output("out"));
    for (const w of ["kale", "leek", "kale"]) await job.input("in").feed(w);
    await job.input("in").terminate();
    await job.waitUntilFinish();
    await out;
    expect(flakyFailed).toBe(true);
    expect(await job.state("count")).toEqual({ kale: 2, leek: 1 });
  });
});

