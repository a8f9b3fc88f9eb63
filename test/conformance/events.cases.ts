/** Conformance, `EventBus` and `JobJournal`: delivery, unsubscribing, replay, the final status, limits, copies. */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/Backend.js";
import type { LifecycleEvent } from "../../src/backend/events.js";
import { progressEvent, quiet, stateEvent, statusEvent, until } from "../helpers/backendProbes.js";
import type { Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function eventCases({ factory, open, whenCopying, whenCopyingUnlessGap }: Conformance): void {
  describe("EventBus and JobJournal", () => {
    /** Subscribes to `journal`, collecting what it delivers. */
    function journalOf(backend: Backend, jobId: string): { events: LifecycleEvent[]; unsubscribe: () => void } {
      const events: LifecycleEvent[] = [];
      const unsubscribe = backend.events.journal(jobId).subscribe((event) => events.push(event));
      return { events, unsubscribe };
    }

    it("delivers a published event to every env listener and to its job's journal only", async () => {
      const backend = open();
      const first: LifecycleEvent[] = [];
      const second: LifecycleEvent[] = [];
      backend.events.subscribe((event) => first.push(event));
      backend.events.subscribe((event) => second.push(event));
      const mine = journalOf(backend, "j1");
      const theirs = journalOf(backend, "j2");
      const event = stateEvent("j1", 1);
      backend.events.publish(event);
      await until(() => first.length === 1 && second.length === 1 && mine.events.length === 1, "the event everywhere");
      await quiet(factory);
      expect(first).toEqual([event]);
      expect(second).toEqual([event]);
      expect(mine.events).toEqual([event]);
      expect(theirs.events).toEqual([]);
    });

    it("stops delivering to a listener that unsubscribed", async () => {
      const backend = open();
      const env: LifecycleEvent[] = [];
      const unsubscribe = backend.events.subscribe((event) => env.push(event));
      const journal = journalOf(backend, "j1");
      backend.events.publish(stateEvent("j1", 1));
      await until(() => env.length === 1 && journal.events.length === 1, "the first event");
      unsubscribe();
      journal.unsubscribe();
      backend.events.publish(stateEvent("j1", 2));
      await quiet(factory);
      expect(env.map((event) => event.at)).toEqual([1]);
      expect(journal.events.map((event) => event.at)).toEqual([1]);
    });

    it("replays a journal's events to a late subscriber, then delivers live ones", async () => {
      const backend = open();
      backend.events.publish(statusEvent("j1", "queued"));
      backend.events.publish(statusEvent("j1", "running"));
      const late = journalOf(backend, "j1");
      await until(() => late.events.length === 2, "the replay");
      backend.events.publish(stateEvent("j1", 1));
      await until(() => late.events.length === 3, "the live event");
      expect(late.events.map((event) => event.type === "job.status" ? event.status : event.type)).toEqual(["queued", "running", "worker.state"]);
    });

    it("closes a journal at the final status: no more events, no listeners kept; a late subscriber still gets the replay", async () => {
      const backend = open();
      const early = journalOf(backend, "j1");
      backend.events.publish(statusEvent("j1", "running"));
      backend.events.publish(statusEvent("j1", "completed"));
      await until(() => early.events.length === 2, "the final status");
      backend.events.publish(stateEvent("j1", 99));
      await quiet(factory);
      expect(early.events).toHaveLength(2);
      const late = journalOf(backend, "j1");
      await until(() => late.events.length === 2, "the replay");
      await quiet(factory);
      expect(late.events).toEqual(early.events);
      expect(late.events.at(-1)).toMatchObject({ type: "job.status", status: "completed" });
    });

    it("keeps the newest 256 events of a job for late subscribers", async () => {
      const backend = open();
      const live = journalOf(backend, "j1");
      for (let n = 0; n < 300; n++) backend.events.publish(stateEvent("j1", n));
      await until(() => live.events.length === 300, "every live event");
      const late = journalOf(backend, "j1");
      await until(() => late.events.length === 256, "the replay");
      await quiet(factory);
      expect(late.events).toHaveLength(256);
      expect(late.events[0]!.at).toBe(44);
      expect(late.events.at(-1)!.at).toBe(299);
    });

    it("keeps only the newest of consecutive progress reports of one worker", async () => {
      const backend = open();
      const published = [
        stateEvent("j1", 1),
        progressEvent("j1", "oven", 10),
        progressEvent("j1", "oven", 20),
        progressEvent("j1", "slicer", 5),
        progressEvent("j1", "oven", 30),
        stateEvent("j1", 2),
      ];
      const live = journalOf(backend, "j1");
      for (const event of published) backend.events.publish(event);
      await until(() => live.events.length === published.length, "every live event");
      const late = journalOf(backend, "j1");
      await until(() => late.events.length >= 5, "the replay");
      await quiet(factory);
      expect(late.events).toEqual([published[0], published[2], published[3], published[4], published[5]]);
    });

    it("forgets a job's journal on dispose: the next journal of that id starts empty (a shared backend's, once the job is forgotten)", async () => {
      const backend = open();
      backend.events.publish(stateEvent("j1", 1));
      const before = journalOf(backend, "j1");
      await until(() => before.events.length === 1, "the replay");
      backend.events.dispose("j1");
      const after = journalOf(backend, "j1");
      if (backend.shared) {
        // Other processes may still subscribe: the journal stays until the job is forgotten (EventBus.dispose).
        await until(() => after.events.length === 1, "the replay of the kept journal");
        await quiet(factory);
        expect(after.events).toEqual(before.events);
        return;
      }
      await quiet(factory);
      expect(after.events).toEqual([]);
    });

    whenCopying("delivers copies of events: changing the published event changes nothing listeners got", async () => {
      const backend = open();
      const env: LifecycleEvent[] = [];
      backend.events.subscribe((event) => env.push(event));
      const journal = journalOf(backend, "j1");
      const event = progressEvent("j1", "oven", { percent: 10 });
      backend.events.publish(event);
      (event as { value: { percent: number } }).value.percent = 99;
      await until(() => env.length === 1 && journal.events.length === 1, "the event");
      const late = journalOf(backend, "j1");
      await until(() => late.events.length === 1, "the replay");
      for (const got of [env[0], journal.events[0], late.events[0]]) {
        expect(got).not.toBe(event);
        expect(got).toMatchObject({ type: "job.progress", value: { percent: 10 } });
      }
    });

    whenCopyingUnlessGap("copy-per-receiver")("gives each listener its own copy: what one changes, the others and the replay do not see", async () => {
      const backend = open();
      const seen: unknown[] = [];
      backend.events.subscribe((event) => {
        seen.push(structuredClone(event));
        (event as { value: { percent: number } }).value.percent = -1;
      });
      backend.events.subscribe((event) => seen.push(structuredClone(event)));
      backend.events.publish(progressEvent("j1", "oven", { percent: 10 }));
      await until(() => seen.length === 2, "both listeners");
      const replay: LifecycleEvent[] = [];
      backend.events.journal("j1").subscribe((event) => replay.push(event));
      await until(() => replay.length === 1, "the replay");
      expect(seen[1]).toMatchObject({ value: { percent: 10 } });
      expect(replay[0]).toMatchObject({ value: { percent: 10 } });
    });
  });
}
