/** Conformance, `Backend.close`: idempotent, it stops every consumer, and refuses adds afterwards. */
import { describe, expect, it } from "vitest";
import type { LifecycleEvent } from "../../src/backend/events.js";
import { ConfigurationError } from "../../src/errors.js";
import { jobRecord, quiet, recordingConsumer } from "../helpers/backendProbes.js";
import { add, ticketState, type Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function closeCases({ factory, open, storeOf, unlessGap }: Conformance): void {
  describe("Backend", () => {
    it("closes idempotently: a second close, and two at once, resolve", async () => {
      const backend = open();
      await backend.close();
      await backend.close();
      const other = open();
      await Promise.all([other.close(), other.close()]);
    });

    unlessGap("close-stops-consumers")("stops every queue consumer on close, and refuses jobs added afterwards (ConfigurationError): none is left waiting unseen", async () => {
      const backend = open();
      const queue = recordingConsumer(backend, "q", 1);
      await backend.close();
      await expect(add(backend, "q", jobRecord("a"))).rejects.toThrow(ConfigurationError);
      expect(await (await storeOf(backend)).jobs.find("a")).toBeUndefined();
      await quiet(factory);
      expect(queue.runs).toHaveLength(0);
    });

    unlessGap("close-stops-consumers")("neither announces nor stores an add to a closed backend: nothing is published", async () => {
      const backend = open();
      const heard: LifecycleEvent[] = [];
      backend.events.subscribe((event) => heard.push(event));
      const journal: LifecycleEvent[] = [];
      backend.events.journal("a").subscribe((event) => journal.push(event));
      await backend.close();
      const announced: Array<ReturnType<typeof ticketState>> = [];
      await expect(add(backend, "q", jobRecord("a"), announced)).rejects.toThrow(ConfigurationError);
      await quiet(factory);
      expect(announced).toEqual([]);
      expect(heard).toEqual([]);
      expect(journal).toEqual([]);
      expect(await (await storeOf(backend)).jobs.find("a")).toBeUndefined();
    });
  });
}
