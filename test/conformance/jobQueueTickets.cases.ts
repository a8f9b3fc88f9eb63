/**
 * Conformance, `JobQueue`: tickets (status, outcome, find), cancel, closed
 * consumers, separate queues, and what crosses the queue as a copy.
 */
import { describe, expect, it } from "vitest";
import type { Backend, JobOutcome } from "../../src/backend/Backend.js";
import { JobCancelledError, JobFailedError, UnrecoverableError, ValidationError, type RestartRecord } from "../../src/errors.js";
import { jobRecord, quiet, recordingConsumer, stillPending, until } from "../helpers/backendProbes.js";
import { add, ticketState, type Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function jobQueueTicketCases({ factory, open, unlessGap, whenCopying, whenNotCopying }: Conformance): void {
  describe("JobQueue", () => {
    it("moves a ticket from queued to running to its final status, and finds it by id", async () => {
      const backend = open();
      const ticket = await add(backend, "q", jobRecord("a"));
      expect(ticket.jobId).toBe("a");
      expect(ticket.status).toBe("queued");
      expect((await backend.jobs.find("a"))?.status).toBe("queued");
      expect(await backend.jobs.find("nobody")).toBeUndefined();
      const queue = recordingConsumer(backend, "q", 1);
      await until(() => queue.runs.length === 1, "the job to start");
      expect(ticket.status).toBe("running");
      expect((await backend.jobs.find("a"))?.status).toBe("running");
      queue.finish("a", { status: "failed", error: new Error("oven broke") });
      expect(ticket.status).toBe("failed");
    });

    it("finds the ticket of a queued, running, or final and kept job, with its status and queue; undefined for an id it does not know", async () => {
      const backend = open();
      expect(await backend.jobs.find("a")).toBeUndefined();
      const waiting = await add(backend, "idle", jobRecord("w"));
      const ticket = await add(backend, "q", jobRecord("a"));
      expect(ticketState(waiting)).toEqual({ jobId: "w", queueKey: "idle", status: "queued" });
      expect(ticketState(ticket)).toEqual({ jobId: "a", queueKey: "q", status: "queued" });
      expect(ticketState(await backend.jobs.find("w"))).toEqual({ jobId: "w", queueKey: "idle", status: "queued" });
      expect(ticketState(await backend.jobs.find("a"))).toEqual({ jobId: "a", queueKey: "q", status: "queued" });
      const queue = recordingConsumer(backend, "q", 1);
      await until(() => queue.runs.length === 1, "the job to start");
      const running = await backend.jobs.find("a");
      expect(ticketState(running)).toEqual({ jobId: "a", queueKey: "q", status: "running" });
      queue.finish("a", { status: "failed", error: new Error("oven broke") });
      // A found ticket is a ticket: its outcome settles with the job's, and its status is final by then.
      expect((await running!.outcome).status).toBe("failed");
      expect(running!.status).toBe("failed");
      // A final job may be forgotten; while it is kept, it is found with its final status.
      const final = await backend.jobs.find("a");
      if (final !== undefined) expect(ticketState(final)).toEqual({ jobId: "a", queueKey: "q", status: "failed" });
      expect(await backend.jobs.find("nobody")).toBeUndefined();
      expect(ticketState(await backend.jobs.find("w"))).toEqual({ jobId: "w", queueKey: "idle", status: "queued" });
    });

    it("settles a ticket's outcome with the outcome the runner finished with, not before", async () => {
      const backend = open();
      const queue = recordingConsumer(backend, "q", 2);
      const completed = await add(backend, "q", jobRecord("a"));
      const failed = await add(backend, "q", jobRecord("b"));
      await until(() => queue.runs.length === 2, "both jobs to start");
      expect(await stillPending(factory, completed.outcome)).toBe(true);
      queue.finish("a");
      queue.finish("b", { status: "failed", error: new UnrecoverableError("oven broke") });
      expect(await completed.outcome).toEqual({ status: "completed" });
      const outcome = await failed.outcome;
      expect(outcome.status).toBe("failed");
      expect(outcome.error).toBeInstanceOf(UnrecoverableError);
      expect((outcome.error as Error).message).toBe("oven broke");
    });

    it("cancels a queued job: 'queued', outcome cancelled with a JobCancelledError keeping the reason; it never runs and its queue moves on", async () => {
      const backend = open();
      const queue = recordingConsumer(backend, "q", 1);
      await add(backend, "q", jobRecord("a"));
      const ticket = await add(backend, "q", jobRecord("b"));
      await add(backend, "q", jobRecord("c"));
      await until(() => queue.runs.length === 1, "the first job to start");
      expect((await ticket.cancel("changed my mind")).was).toBe("queued");
      expect(ticket.status).toBe("cancelled");
      const outcome = await ticket.outcome;
      expect(outcome.status).toBe("cancelled");
      expect(outcome.error).toBeInstanceOf(JobCancelledError);
      expect(outcome.error).toMatchObject({ jobId: "b", reason: "changed my mind" });
      queue.finish("a");
      await until(() => queue.runs.length === 2, "the job after the cancelled one to start");
      queue.finish("c");
      await quiet(factory);
      expect(queue.ids()).toEqual(["a", "c"]);
    });

    it("cancels a running job: 'running', and its runner's onCancel handler gets the reason", async () => {
      const backend = open();
      const reasons: string[] = [];
      const queue = recordingConsumer(backend, "q", 1, (run) => run.lease.onCancel((reason) => reasons.push(reason)));
      const ticket = await add(backend, "q", jobRecord("a"));
      await until(() => queue.runs.length === 1, "the job to start");
      expect((await ticket.cancel("stop now")).was).toBe("running");
      await until(() => reasons.length === 1, "the onCancel handler");
      expect(reasons).toEqual(["stop now"]);
      // The runner ends it; until then it runs.
      expect(ticket.status).toBe("running");
      queue.finish("a", { status: "cancelled", error: new JobCancelledError("a", "stop now") });
      expect((await ticket.outcome).status).toBe("cancelled");
    });

    unlessGap("cancel-handler-at-most-once")("calls a running job's onCancel handler at most once, however often it is cancelled", async () => {
      const backend = open();
      const reasons: string[] = [];
      const queue = recordingConsumer(backend, "q", 1, (run) => run.lease.onCancel((reason) => reasons.push(reason)));
      const ticket = await add(backend, "q", jobRecord("a"));
      await until(() => queue.runs.length === 1, "the job to start");
      expect((await ticket.cancel("first")).was).toBe("running");
      expect((await ticket.cancel("second")).was).toBe("running");
      await until(() => reasons.length > 0, "the onCancel handler");
      await quiet(factory);
      expect(reasons).toEqual(["first"]);
    });

    it("tells an onCancel handler registered after the cancel came, once", async () => {
      const backend = open();
      const queue = recordingConsumer(backend, "q", 1);
      const ticket = await add(backend, "q", jobRecord("a"));
      await until(() => queue.runs.length === 1, "the job to start");
      expect((await ticket.cancel("early")).was).toBe("running");
      const reasons: string[] = [];
      queue.runs[0]!.lease.onCancel((reason) => reasons.push(reason));
      await until(() => reasons.length > 0, "the late onCancel handler");
      await quiet(factory);
      expect(reasons).toEqual(["early"]);
    });

    it("leaves a final job alone on cancel: 'final', status, outcome and handler unchanged", async () => {
      const backend = open();
      const reasons: string[] = [];
      const queue = recordingConsumer(backend, "q", 1, (run) => run.lease.onCancel((reason) => reasons.push(reason)));
      const finished = await add(backend, "q", jobRecord("a"));
      await until(() => queue.runs.length === 1, "the job to start");
      queue.finish("a");
      expect((await finished.cancel("too late")).was).toBe("final");
      expect(finished.status).toBe("completed");
      expect(await finished.outcome).toEqual({ status: "completed" });
      const cancelledWhileQueued = await add(backend, "idle", jobRecord("b"));
      await cancelledWhileQueued.cancel("first reason");
      expect((await cancelledWhileQueued.cancel("second reason")).was).toBe("final");
      expect((await cancelledWhileQueued.outcome).error).toMatchObject({ reason: "first reason" });
      await quiet(factory);
      expect(reasons).toEqual([]);
    });

    it("stops handing out jobs once the consumer is closed; its running job goes on, and a new consumer takes the waiting ones", async () => {
      const backend = open();
      const first = recordingConsumer(backend, "q", 2);
      const running = await add(backend, "q", jobRecord("a"));
      await until(() => first.runs.length === 1, "the job to start");
      first.consumer.close();
      const waiting = await add(backend, "q", jobRecord("b"));
      first.finish("a");
      expect((await running.outcome).status).toBe("completed");
      await quiet(factory);
      expect(first.ids()).toEqual(["a"]);
      expect(waiting.status).toBe("queued");
      const next = recordingConsumer(backend, "q", 1);
      await until(() => next.runs.length === 1, "the next consumer to take the waiting job");
      expect(next.ids()).toEqual(["b"]);
    });

    unlessGap("closed-consumer-frees-no-slot")("a closed consumer's job, finishing, frees no slot of the queue's next consumer", async () => {
      const backend = open();
      const first = recordingConsumer(backend, "q", 1);
      await add(backend, "q", jobRecord("a"));
      await until(() => first.runs.length === 1, "the job to start");
      first.consumer.close();
      const second = recordingConsumer(backend, "q", 1);
      await add(backend, "q", jobRecord("b"));
      await add(backend, "q", jobRecord("c"));
      await until(() => second.runs.length === 1, "the next consumer's first job");
      first.finish("a");
      await quiet(factory);
      expect(second.ids()).toEqual(["b"]);
    });

    it("runs separate queues independently", async () => {
      const backend = open();
      const chop = recordingConsumer(backend, "chop", 1);
      const bake = recordingConsumer(backend, "bake", 1);
      await add(backend, "chop", jobRecord("c1"));
      await add(backend, "chop", jobRecord("c2"));
      await add(backend, "bake", jobRecord("b1"));
      await add(backend, "bake", jobRecord("b2"));
      await add(backend, "nobody-consumes", jobRecord("x"));
      await until(() => chop.runs.length === 1 && bake.runs.length === 1, "one job of each queue");
      bake.finish("b1");
      await until(() => bake.runs.length === 2, "the second bake job");
      await quiet(factory);
      expect(chop.ids()).toEqual(["c1"]);
      expect(bake.ids()).toEqual(["b1", "b2"]);
      expect((await backend.jobs.find("x"))?.status).toBe("queued");
    });

    whenCopying("hands the runner a copy of the job record: changing the added options changes nothing", async () => {
      const backend = open();
      const jobOptions = { size: 3, toppings: ["basil"] };
      const queue = recordingConsumer(backend, "q", 1);
      await add(backend, "q", { jobId: "a", kind: "flow", name: "pizza", jobOptions, enqueuedAt: 1234 });
      jobOptions.toppings.push("pineapple");
      await until(() => queue.runs.length === 1, "the job to start");
      const record = queue.runs[0]!.record;
      expect(record.jobOptions).not.toBe(jobOptions);
      expect(record).toEqual({ jobId: "a", kind: "flow", name: "pizza", jobOptions: { size: 3, toppings: ["basil"] }, enqueuedAt: 1234 });
    });

    /** Finishes one job per outcome and returns the outcomes as the tickets saw them. */
    async function roundTrip(backend: Backend, outcomes: JobOutcome[]): Promise<JobOutcome[]> {
      const queue = recordingConsumer(backend, "q", Infinity);
      const tickets = await Promise.all(outcomes.map((_, n) => add(backend, "q", jobRecord(`job-${n}`))));
      await until(() => queue.runs.length === outcomes.length, "every job to start");
      outcomes.forEach((outcome, n) => queue.finish(`job-${n}`, outcome));
      return Promise.all(tickets.map((ticket) => ticket.outcome));
    }

    const restarts: RestartRecord[] = [{ attempt: 1, at: 5, delayMs: 10, error: { name: "Error", message: "flaky" } }];
    const errorsToCarry = (): Error[] => [
      new JobFailedError("job-0", new Error("burnt"), restarts, "failed", "chop"),
      new JobCancelledError("job-1", "user asked"),
      new ValidationError("size must be at most 3", [{ message: "too big", path: ["size"] }]),
      Object.assign(new Error("disk full"), { name: "DiskError" }),
    ];

    whenNotCopying("delivers an outcome's error itself, not a copy", async () => {
      const errors = errorsToCarry();
      const outcomes = await roundTrip(open(), errors.map((error) => ({ status: "failed", error })));
      outcomes.forEach((outcome, n) => expect(outcome.error).toBe(errors[n]));
    });

    whenCopying("rebuilds an outcome's error as its class: JobFailedError with cause and restarts, JobCancelledError with reason, ValidationError with issues, an Error with its name", async () => {
      const errors = errorsToCarry();
      const [failed, cancelled, invalid, plain] = await roundTrip(open(), [
        { status: "failed", error: errors[0] },
        { status: "cancelled", error: errors[1] },
        { status: "failed", error: errors[2] },
        { status: "failed", error: errors[3] },
      ]);
      expect(failed!.error).not.toBe(errors[0]);
      expect(failed!.error).toBeInstanceOf(JobFailedError);
      expect(failed!.error).toMatchObject({ jobId: "job-0", specName: "chop", restarts, message: errors[0]!.message });
      expect((failed!.error as Error).cause).toBeInstanceOf(Error);
      expect((failed!.error as Error).cause).toMatchObject({ message: "burnt" });
      expect(cancelled!.status).toBe("cancelled");
      expect(cancelled!.error).toBeInstanceOf(JobCancelledError);
      expect(cancelled!.error).toMatchObject({ jobId: "job-1", reason: "user asked", message: errors[1]!.message });
      expect(invalid!.error).toBeInstanceOf(ValidationError);
      expect(invalid!.error).toMatchObject({ message: "size must be at most 3", issues: [{ message: "too big", path: ["size"] }] });
      expect(plain!.error).not.toBe(errors[3]);
      expect(plain!.error).toBeInstanceOf(Error);
      expect(plain!.error).toMatchObject({ name: "DiskError", message: "disk full" });
    });
  });
}
