/**
 * Conformance, a stateful worker's seam: `StreamStore.commit` (its state and
 * the acknowledgement of what its consumers took, as one step) and
 * `StreamStore.states(jobId).read(node)`.
 */
import { describe, expect, it } from "vitest";
import type { Backend, JobStream } from "../../src/backend/Backend.js";
import { ValidationError } from "../../src/errors.js";
import { TestGuard, failureOf, streamKey, streamOptions } from "../helpers/backendProbes.js";
import type { Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function stateCases({ withJob, peekArrived, consumerOpened, storeOf, whenCopying }: Conformance): void {
  describe("StreamStore.commit and states", () => {
    /** Input `tag` of node "chop" of job `jobId`, holding `data`. */
    async function inputWith(backend: Backend, tag: string, jobId: string, ...data: unknown[]): Promise<JobStream> {
      const input = backend.streams.open(streamKey(jobId, { role: "input", tag }), streamOptions());
      for (const item of data) await input.append(item);
      return input;
    }

    /** Where a new consumer of `input` starts: the data of its first message (undefined at an ended, empty input). */
    async function firstUnacknowledged(input: JobStream): Promise<unknown> {
      const next = await consumerOpened(input.consumer(new TestGuard()));
      return (await peekArrived(next))?.data;
    }

    it("reads undefined for a node before any commit, of a job the store holds or not", async () => {
      const backend = await withJob();
      expect(await backend.streams.states("j1").read("chop")).toBeUndefined();
      expect(await backend.streams.states("never-added").read("chop")).toBeUndefined();
    });

    it("acknowledges what the consumer took and stores the state, together: a new consumer starts after it, the state reads back equal", async () => {
      const backend = await withJob();
      const input = await inputWith(backend, "default", "j1", "a", "b", "c");
      const consumer = input.consumer(new TestGuard());
      consumer.take((await peekArrived(consumer))!);
      consumer.take((await peekArrived(consumer))!);
      // "c" was looked at, not taken: it is not acknowledged.
      expect((await peekArrived(consumer))?.data).toBe("c");
      const guard = new TestGuard();
      backend.streams.commit("j1", "chop", [consumer], { counts: { a: 1, b: 1 } }, guard);
      // Read right after the call (not awaited): a read sees every commit this process called before it.
      expect(await backend.streams.states("j1").read("chop")).toEqual({ counts: { a: 1, b: 1 } });
      consumer.close();
      expect(await firstUnacknowledged(input)).toBe("c");
    });

    it("keeps the last commit's state, per node and per job; a commit with nothing taken stores the state alone", async () => {
      const backend = await withJob("j1", "j2");
      const input = await inputWith(backend, "default", "j1", "a", "b");
      const consumer = input.consumer(new TestGuard());
      consumer.take((await peekArrived(consumer))!);
      backend.streams.commit("j1", "chop", [consumer], { seen: 1 });
      // Nothing taken since: the state changes, the acknowledgement stays where it was.
      backend.streams.commit("j1", "chop", [consumer], { seen: 2 });
      backend.streams.commit("j1", "slice", [], 7);
      backend.streams.commit("j2", "chop", [], "j2's");
      const states = backend.streams.states("j1");
      expect(await states.read("chop")).toEqual({ seen: 2 });
      expect(await states.read("slice")).toBe(7);
      expect(await states.read("bake")).toBeUndefined();
      expect(await backend.streams.states("j2").read("chop")).toBe("j2's");
      consumer.close();
      expect(await firstUnacknowledged(input)).toBe("b");
    });

    it("commits several inputs at once: each new consumer starts after what its input's consumer took", async () => {
      const backend = await withJob();
      const sauce = await inputWith(backend, "sauce", "j1", "tomato", "pesto", "cream");
      const dough = await inputWith(backend, "dough", "j1", "thin", "thick");
      const fromSauce = sauce.consumer(new TestGuard());
      const fromDough = dough.consumer(new TestGuard());
      fromSauce.take((await peekArrived(fromSauce))!);
      fromSauce.take((await peekArrived(fromSauce))!);
      fromDough.take((await peekArrived(fromDough))!);
      backend.streams.commit("j1", "chop", [fromSauce, fromDough], { sauces: 2, doughs: 1 }, new TestGuard());
      expect(await backend.streams.states("j1").read("chop")).toEqual({ sauces: 2, doughs: 1 });
      fromSauce.close();
      fromDough.close();
      expect(await firstUnacknowledged(sauce)).toBe("cream");
      expect(await firstUnacknowledged(dough)).toBe("thick");
    });

    it("commits nothing behind a fenced guard: neither the acknowledgement nor the state", async () => {
      const backend = await withJob();
      const sauce = await inputWith(backend, "sauce", "j1", "tomato", "pesto");
      const dough = await inputWith(backend, "dough", "j1", "thin", "thick");
      const attempt = new TestGuard();
      const fromSauce = sauce.consumer(attempt);
      const fromDough = dough.consumer(attempt);
      fromSauce.take((await peekArrived(fromSauce))!);
      backend.streams.commit("j1", "chop", [fromSauce, fromDough], { sauces: 1, doughs: 0 }, attempt);
      fromSauce.take((await peekArrived(fromSauce))!);
      fromDough.take((await peekArrived(fromDough))!);
      attempt.cancel(new Error("attempt 1 is stale"));
      try {
        backend.streams.commit("j1", "chop", [fromSauce, fromDough], { sauces: 2, doughs: 1 }, attempt);
      } catch {
        // Refusing by throwing is allowed; what counts is that nothing was committed.
      }
      expect(await backend.streams.states("j1").read("chop")).toEqual({ sauces: 1, doughs: 0 });
      expect(await firstUnacknowledged(sauce)).toBe("pesto");
      expect(await firstUnacknowledged(dough)).toBe("thin");
    });

    it("keeps a job's states for a handle taken before the store disposed of the job", async () => {
      const backend = await withJob();
      const states = backend.streams.states("j1");
      backend.streams.commit("j1", "chop", [], { counts: { a: 1 } });
      backend.streams.dispose("j1");
      expect(await states.read("chop")).toEqual({ counts: { a: 1 } });
      // A shared backend forgets its own handles only: the state stays for other processes until the job is forgotten.
      const fresh = await backend.streams.states("j1").read("chop");
      if (backend.shared) expect(fresh).toEqual({ counts: { a: 1 } });
      else expect(fresh).toBeUndefined();
    });

    it("answers another process of the env with the committed state (a shared backend's peer; else the backend itself)", async () => {
      const backend = await withJob();
      backend.streams.commit("j1", "chop", [], { counts: new Map([["a", 2]]), at: new Date(5) });
      // Read here first: this process's commit has reached the store.
      await backend.streams.states("j1").read("chop");
      expect(await (await storeOf(backend)).streams.states("j1").read("chop")).toEqual({ counts: new Map([["a", 2]]), at: new Date(5) });
    });

    whenCopying("stores a copy of the state, and hands out a copy per read: changing either changes nothing", async () => {
      const backend = await withJob();
      const state = { counts: { a: 1 } };
      backend.streams.commit("j1", "chop", [], state);
      state.counts.a = 99;
      const read = (await backend.streams.states("j1").read("chop")) as { counts: Record<string, number> };
      expect(read).not.toBe(state);
      expect(read).toEqual({ counts: { a: 1 } });
      read.counts.a = 42;
      expect(await backend.streams.states("j1").read("chop")).toEqual({ counts: { a: 1 } });
    });

    whenCopying("refuses a state that cannot be copied (a function) with a ValidationError naming the worker and job, committing nothing: no acknowledgement either", async () => {
      const backend = await withJob();
      const input = await inputWith(backend, "default", "j1", "a", "b");
      const consumer = input.consumer(new TestGuard());
      consumer.take((await peekArrived(consumer))!);
      backend.streams.commit("j1", "chop", [consumer], { seen: 1 });
      consumer.take((await peekArrived(consumer))!);
      const refused = await failureOf(() => backend.streams.commit("j1", "chop", [consumer], { seen: 2, resume: () => "b" }));
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).message).toContain('"chop"');
      expect((refused as ValidationError).message).toContain('"j1"');
      expect(await backend.streams.states("j1").read("chop")).toEqual({ seen: 1 });
      consumer.close();
      expect(await firstUnacknowledged(input)).toBe("b");
    });
  });
}
