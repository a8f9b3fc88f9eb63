/**
 * Conformance, `JobQueue`: how a queue hands its jobs out (order,
 * concurrency, when), and how it announces and refuses adds.
 */
import { describe, expect, it } from "vitest";
import type { LifecycleEvent } from "../../src/backend/events.js";
import { ConfigurationError } from "../../src/errors.js";
import { jobRecord, quiet, recordingConsumer, statusEvent, until } from "../helpers/backendProbes.js";
import { add, queuedEvent, ticketState, type Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function jobQueueHandsOutCases({ factory, open }: Conformance): void {
  describe("JobQueue", () => {
    it("hands a queue's jobs out first in, first out", async () => {
      const backend = open();
      await add(backend, "q", jobRecord("a"));
      await add(backend, "q", jobRecord("b"));
      const queue = recordingConsumer(backend, "q", 1);
      await add(backend, "q", jobRecord("c"));
      await add(backend, "q", jobRecord("d"));
      for (let handed = 1; handed <= 4; handed++) {
        await until(() => queue.runs.length === handed, `job ${handed} to start`);
        queue.finish(queue.runs[handed - 1]!.record.jobId);
      }
      expect(queue.ids()).toEqual(["a", "b", "c", "d"]);
    });

    it("keeps a job waiting while its queue has no consumer, and starts it when one comes", async () => {
      const backend = open();
      const ticket = await add(backend, "q", jobRecord("a"));
      await quiet(factory);
      expect(ticket.status).toBe("queued");
      const queue = recordingConsumer(backend, "q", 1);
      await until(() => queue.runs.length === 1, "the waiting job to start");
      expect(queue.ids()).toEqual(["a"]);
      expect(ticket.status).toBe("running");
    });

    it("hands a waiting job to a new consumer after the caller's step, not during consume()", async () => {
      const backend = open();
      await add(backend, "q", jobRecord("a"));
      await quiet(factory);
      const queue = recordingConsumer(backend, "q", 1);
      expect(queue.runs).toHaveLength(0);
      await until(() => queue.runs.length === 1, "the waiting job to start");
      expect(queue.ids()).toEqual(["a"]);
    });

    it("never runs more jobs at once than the consumer's concurrency, and fills every slot", async () => {
      const backend = open();
      const queue = recordingConsumer(backend, "q", 2);
      for (const id of ["a", "b", "c", "d", "e"]) await add(backend, "q", jobRecord(id));
      await until(() => queue.runs.length === 2, "two jobs to start");
      await quiet(factory);
      expect(queue.runs).toHaveLength(2);
      for (let finished = 0; finished < 5; finished++) {
        await until(() => queue.runs.length === Math.min(5, finished + 2), "a freed slot to be filled");
        queue.finish(queue.runs[finished]!.record.jobId);
      }
      expect(queue.ids()).toEqual(["a", "b", "c", "d", "e"]);
      expect(queue.maxRunning()).toBe(2);
    });

    it("runs every waiting job at once with concurrency Infinity", async () => {
      const backend = open();
      for (let n = 0; n < 40; n++) await add(backend, "q", jobRecord(`job-${n}`));
      const queue = recordingConsumer(backend, "q", Infinity);
      await until(() => queue.runs.length === 40, "all 40 jobs to start");
      expect(queue.running()).toBe(40);
    });

    it("frees a slot on finish, but starts the next job only after the finisher's step: its final event comes first", async () => {
      const backend = open();
      const log: string[] = [];
      const queue = recordingConsumer(backend, "q", 1, (run) => log.push(`start ${run.record.jobId}`));
      await add(backend, "q", jobRecord("a"));
      await add(backend, "q", jobRecord("b"));
      await until(() => queue.runs.length === 1, "the first job to start");
      queue.finish("a");
      log.push("final event of a");
      expect(queue.runs).toHaveLength(1);
      await until(() => queue.runs.length === 2, "the next job to start in the freed slot");
      expect(log).toEqual(["start a", "final event of a", "start b"]);
    });

    it("announces a stored job (its ticket, queued) before any consumer is handed it: the queued event comes before the runner's", async () => {
      const backend = open();
      const heard: LifecycleEvent[] = [];
      backend.events.subscribe((event) => heard.push(event));
      const journal: LifecycleEvent[] = [];
      backend.events.journal("a").subscribe((event) => journal.push(event));
      const announced: Array<ReturnType<typeof ticketState>> = [];
      // How many announcements there were when the runner got the job; the runner then publishes its own event.
      const announcedAtStart: number[] = [];
      const running = statusEvent("a", "running");
      const queue = recordingConsumer(backend, "q", 1, () => {
        announcedAtStart.push(announced.length);
        backend.events.publish(running);
      });
      await quiet(factory); // the consumer waits for work: it takes the job as soon as the queue hands it out
      const record = { ...jobRecord("a"), enqueuedAt: 1234 };
      const ticket = await add(backend, "q", record, announced);
      await until(() => queue.runs.length === 1, "the job to start");
      expect(announcedAtStart).toEqual([1]);
      expect(announced).toEqual([{ jobId: "a", queueKey: "q", status: "queued" }]);
      expect(ticket).toMatchObject({ jobId: "a", queueKey: "q" });
      const queued = queuedEvent(record);
      await until(() => heard.length === 2 && journal.length === 2, "both events");
      await quiet(factory);
      expect(heard).toEqual([queued, running]);
      expect(journal).toEqual([queued, running]);
      // Announced once.
      expect(announced).toHaveLength(1);
    });

    it("refuses to add a job whose id is queued or running (ConfigurationError) and changes nothing", async () => {
      const backend = open();
      const ticket = await add(backend, "q", jobRecord("a", { size: 1 }));
      await expect(add(backend, "q", jobRecord("a", { size: 2 }))).rejects.toThrow(ConfigurationError);
      await expect(add(backend, "other", jobRecord("a", { size: 3 }))).rejects.toThrow(ConfigurationError);
      expect((await backend.jobs.find("a"))?.status).toBe("queued");
      const queue = recordingConsumer(backend, "q", Infinity);
      await until(() => queue.runs.length === 1, "the job to start");
      await expect(add(backend, "q", jobRecord("a", { size: 4 }))).rejects.toThrow(ConfigurationError);
      await quiet(factory);
      expect(queue.runs.map((run) => run.record.jobOptions)).toEqual([{ size: 1 }]);
      expect(ticket.status).toBe("running");
      queue.finish("a");
      expect((await ticket.outcome).status).toBe("completed");
      // Final: the id is free again.
      await add(backend, "q", jobRecord("a", { size: 5 }));
      await until(() => queue.runs.length === 2, "the new job of that id to start");
      expect(queue.runs[1]!.record.jobOptions).toEqual({ size: 5 });
    });

    it("neither announces nor stores an add it refuses (an id queued or running): nothing is published", async () => {
      const backend = open();
      const heard: LifecycleEvent[] = [];
      backend.events.subscribe((event) => heard.push(event));
      const journal: LifecycleEvent[] = [];
      backend.events.journal("a").subscribe((event) => journal.push(event));
      // Each add's record (and so its queued event) differs by enqueuedAt: a refused one published would show.
      const record = (size: number) => ({ ...jobRecord("a", { size }), enqueuedAt: size });
      const announced: Array<ReturnType<typeof ticketState>> = [];
      const refused: Array<ReturnType<typeof ticketState>> = [];
      await add(backend, "q", record(1), announced);
      await expect(add(backend, "q", record(2), refused)).rejects.toThrow(ConfigurationError);
      await expect(add(backend, "other", record(3), refused)).rejects.toThrow(ConfigurationError);
      expect(ticketState(await backend.jobs.find("a"))).toEqual({ jobId: "a", queueKey: "q", status: "queued" });
      const other = recordingConsumer(backend, "other", Infinity);
      const queue = recordingConsumer(backend, "q", Infinity);
      await until(() => queue.runs.length === 1, "the job to start");
      await expect(add(backend, "q", record(4), refused)).rejects.toThrow(ConfigurationError);
      await expect(add(backend, "other", record(5), refused)).rejects.toThrow(ConfigurationError);
      await quiet(factory);
      expect(announced).toHaveLength(1);
      expect(refused).toEqual([]);
      expect(heard).toEqual([queuedEvent(record(1))]);
      expect(journal).toEqual([queuedEvent(record(1))]);
      expect(queue.runs.map((run) => run.record)).toEqual([record(1)]);
      expect(other.runs).toHaveLength(0);
      expect(ticketState(await backend.jobs.find("a"))).toEqual({ jobId: "a", queueKey: "q", status: "running" });
    });
  });
}
