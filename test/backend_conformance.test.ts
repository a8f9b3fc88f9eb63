/**
 * What every `Backend` must do, exercised on the interface alone (no env, no
 * spec): each case runs against each backend `LW_BACKEND` selects (default:
 * all available; see `helpers/backends.ts`). The contract is the docstrings
 * of `src/backend/Backend.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Backend, JobOutcome, JobRecord, JobTicket, StreamConsumer, StreamMessage, StreamReader } from "../src/backend/Backend.js";
import type { LifecycleEvent } from "../src/backend/events.js";
import {
  ConfigurationError,
  JobCancelledError,
  JobFailedError,
  StreamClosedError,
  UnrecoverableError,
  ValidationError,
  type RestartRecord,
} from "../src/errors.js";
import {
  TestGuard,
  failureOf,
  jobRecord,
  progressEvent,
  quiet,
  readAll,
  recordingConsumer,
  stateEvent,
  statusEvent,
  stillPending,
  streamKey,
  streamOptions,
  until,
} from "./helpers/backendProbes.js";
import { selectBackends, selectedBackends } from "./helpers/backends.js";

/** The `queued` event a client adds `record` with. */
function queuedEvent(record: JobRecord): LifecycleEvent {
  return { type: "job.status", jobId: record.jobId, specName: record.name, at: record.enqueuedAt, status: "queued" };
}

/** What a ticket says of its job (a backend may hand out another object per call). */
function ticketState(ticket: JobTicket | undefined): { jobId: string; queueKey: string; status: string } | undefined {
  return ticket && { jobId: ticket.jobId, queueKey: ticket.queueKey, status: ticket.status };
}

/**
 * Adds `record` to `queueKey` as the env does: its `announce` publishes the
 * job's `queued` event. `announced` collects what each call of `announce`
 * was given (the ticket's state then).
 */
function add(backend: Backend, queueKey: string, record: JobRecord, announced?: Array<ReturnType<typeof ticketState>>): Promise<JobTicket> {
  return backend.jobs.add(queueKey, record, (ticket) => {
    announced?.push(ticketState(ticket));
    backend.events.publish(queuedEvent(record));
  });
}

describe("LW_BACKEND selection", () => {
  it("selects one backend by name, or every one that needs no service when unset or empty", () => {
    expect(selectBackends("memory-copy").map((factory) => factory.name)).toEqual(["memory-copy"]);
    expect(selectBackends("redis").map((factory) => factory.name)).toEqual(["redis"]);
    const all = selectBackends(undefined).map((factory) => factory.name);
    expect(all).toEqual(["memory", "memory-copy"]);
    expect(selectBackends("").map((factory) => factory.name)).toEqual(all);
  });

  it("fails loudly for an unknown name, naming the choices", () => {
    expect(() => selectBackends("memroy")).toThrow(/Unknown LW_BACKEND "memroy".*memory, memory-copy/);
  });

});

describe.each(selectedBackends().map((factory) => [factory.name, factory] as const))("%s backend", (_name, factory) => {
  const opened: Backend[] = [];
  /** What the backends reported to their env's logger (a shared backend's failed write, a lost lease). */
  const reported: string[] = [];
  const open = (): Backend => {
    const backend = factory.create();
    opened.push(backend);
    bindLikeAnEnv(backend);
    return backend;
  };
  /** As an env takes a backend: a shared one keeps its keys apart under the env's projectId. */
  const bindLikeAnEnv = (backend: Backend): void =>
    backend.bind?.({ projectId: "conformance", logger: { warn: (message) => reported.push(message), error: (message) => reported.push(message) } });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
    // No write failed unseen (a backend reports what no caller waits for).
    expect(reported.splice(0)).toEqual([]);
  });

  /**
   * A backend with jobs of these ids (default j1) added to a queue nobody
   * consumes: streams belong to a job the backend holds (see `StreamStore`).
   */
  const withJob = async (...jobIds: string[]): Promise<Backend> => {
    const backend = open();
    for (const jobId of jobIds.length > 0 ? jobIds : ["j1"]) await add(backend, "idle", jobRecord(jobId));
    return backend;
  };

  /**
   * The reader's next message, once there: at once (`nextNow`) on a backend
   * that does no I/O, which promises that much; else once the reader has read
   * it from the store (`next`), as a reader in another process would.
   */
  const arrived = async (reader: StreamReader): Promise<StreamMessage | undefined> => (factory.immediate ? reader.nextNow() : await reader.next());
  /** The consumer's next message (not taken), once there; see `arrived`. */
  const peekArrived = async (consumer: StreamConsumer): Promise<StreamMessage | undefined> => (factory.immediate ? consumer.peekNow() : await consumer.peek());
  /** True when the reader has no next message (now, or within the backend's quiet time). */
  const nothingMore = async (reader: StreamReader): Promise<boolean> =>
    factory.immediate ? reader.nextNow() === undefined : await stillPending(factory, reader.next());
  /**
   * A new consumer, once it has read what the store keeps for it: its
   * checkpoint comes with its first read on a backend that does I/O (the
   * input holds a message, or has ended).
   */
  const consumerOpened = async (consumer: StreamConsumer): Promise<StreamConsumer> => {
    if (!factory.immediate) await consumer.peek();
    return consumer;
  };

  /**
   * What answers for `backend`'s store once it is closed: itself, or (a
   * shared backend, whose closed instance reaches its store no more) another
   * process's backend on the same store.
   */
  const storeOf = async (backend: Backend): Promise<Backend> => {
    if (!backend.shared) return backend;
    const peer = factory.peer!(backend);
    opened.push(peer);
    bindLikeAnEnv(peer);
    return peer;
  };

  /** A case this backend is known to miss (`knownGaps`) runs as an expected failure. */
  const unlessGap = (gap: string): typeof it => (factory.knownGaps.has(gap) ? (it.fails as typeof it) : it);
  // Cases of one mode only say so in their title, so a skipped one states why it is skipped.
  type Case = (title: string, body: () => Promise<void> | void) => void;
  const whenCopying: Case = (title, body) => it.runIf(factory.copies)(`${title} [copying backends only]`, body);
  const whenNotCopying: Case = (title, body) => it.runIf(!factory.copies)(`${title} [backends that share objects only]`, body);
  const whenCopyingUnlessGap =
    (gap: string): Case =>
    (title, body) =>
      (factory.copies ? unlessGap(gap) : it.skip)(`${title} [copying backends only]`, body);

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

  describe("StreamStore and JobStream", () => {
    it("opens the same stream for the same key, and another for another job, node, tag or role", async () => {
      const backend = await withJob("j1", "j2");
      const stream = backend.streams.open(streamKey("j1"), streamOptions());
      expect(backend.streams.open(streamKey("j1"), streamOptions())).toBe(stream);
      const others = [
        streamKey("j2"),
        streamKey("j1", { node: "slice" }),
        streamKey("j1", { tag: "log" }),
        streamKey("j1", { role: "input" }),
      ].map((key) => backend.streams.open(key, streamOptions()));
      expect(new Set([stream, ...others]).size).toBe(5);
      await stream.append("only in j1");
      for (const other of others) expect(await other.last()).toBeUndefined();
    });

    it("keeps the options of the first open", async () => {
      const backend = await withJob();
      const stream = backend.streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      backend.streams.open(streamKey("j1"), streamOptions({ highWaterMark: 100 }));
      stream.reader();
      expect(await stillPending(factory, stream.append("a"))).toBe(true);
    });

    it("forgets a job's streams on dispose: the next open makes a new one, the old one stays usable", async () => {
      const backend = await withJob();
      const old = backend.streams.open(streamKey("j1"), streamOptions());
      await old.append("before");
      backend.streams.dispose("j1");
      const fresh = backend.streams.open(streamKey("j1"), streamOptions());
      expect(fresh).not.toBe(old);
      // A shared backend forgets its own handles only: the job's data stays for other processes until the job is forgotten (StreamStore.dispose).
      if (backend.shared) expect(await fresh.last()).toMatchObject({ data: "before" });
      else expect(await fresh.last()).toBeUndefined();
      await old.append("after");
      old.end("done");
      expect(await readAll(old.reader())).toEqual(["before", "after"]);
    });

    it("names the stream, its job and spec in its label", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1", { role: "input", tag: "default" }), streamOptions());
      expect(stream.label).toContain('"default"');
      expect(stream.label).toContain('"j1"');
      expect(stream.label).toContain('"chop"');
    });

    it("keeps append order, offsets counting from 0", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      for (const data of ["a", "b", "c"]) await stream.append(data);
      const messages = [await arrived(reader), await arrived(reader), await arrived(reader)];
      expect(messages.map((message) => [message?.offset, message?.data])).toEqual([
        [0, "a"],
        [1, "b"],
        [2, "c"],
      ]);
      expect(await nothingMore(reader)).toBe(true);
    });

    it("gives each reader its own cursor", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const eager = stream.reader();
      const lazy = stream.reader();
      await stream.append("a");
      await stream.append("b");
      expect([(await arrived(eager))?.data, (await arrived(eager))?.data]).toEqual(["a", "b"]);
      expect((await arrived(lazy))?.data).toBe("a");
      const another = stream.reader();
      expect((await arrived(another))?.data).toBe("a");
      expect((await arrived(lazy))?.data).toBe("b");
    });

    it("starts a live reader at the next message appended, skipping what came before", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      await stream.append("old");
      const live = stream.reader("live");
      expect(live.nextNow()).toBeUndefined();
      await stream.append("new");
      stream.end("done");
      expect(await readAll(live)).toEqual(["new"]);
    });

    it("starts a late reader at the oldest message the history limit keeps", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ historyLimit: 2 }));
      for (const data of [1, 2, 3, 4, 5]) await stream.append(data);
      stream.end("done");
      const late = stream.reader();
      expect((await arrived(late))?.offset).toBe(3);
      expect(await readAll(late)).toEqual([5]);
    });

    it("keeps what an open reader has not read, beyond the history limit", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ historyLimit: 1 }));
      const reader = stream.reader();
      for (const data of [1, 2, 3, 4]) await stream.append(data);
      stream.end("done");
      expect(await readAll(reader)).toEqual([1, 2, 3, 4]);
      expect(await readAll(stream.reader())).toEqual([4]);
    });

    it("nextNow takes only what is there now; next waits and resolves on the next append", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      expect(reader.nextNow()).toBeUndefined();
      const waiting = reader.next();
      expect(await stillPending(factory, waiting)).toBe(true);
      await stream.append("a");
      expect((await waiting)?.data).toBe("a");
      await stream.append("b");
      expect((await arrived(reader))?.data).toBe("b");
      expect(reader.nextNow()).toBeUndefined();
    });

    it("ends: readers finish after the last message, appends fail with StreamClosedError naming the stream", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      const waiting = stream.reader("live").next();
      await stream.append("a");
      const idle = stream.reader("live");
      const idleWait = idle.next();
      expect(stream.closed).toBeUndefined();
      stream.end("job completed");
      stream.end("ended again");
      expect(stream.closed?.reason).toBe("job completed");
      expect(stream.closed?.error).toBeUndefined();
      expect((await waiting)?.data).toBe("a");
      expect(await idleWait).toBeUndefined();
      expect(await readAll(reader)).toEqual(["a"]);
      const error = await failureOf(() => stream.append("late"));
      expect(error).toBeInstanceOf(StreamClosedError);
      expect((error as Error).message).toContain(stream.label);
      expect((await stream.last())?.data).toBe("a");
    });

    it("fails: readers and the consumer reject with the error after the last message; appends fail", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const reader = output.reader();
      await output.append("a");
      await input.append("x");
      const consumer = input.consumer();
      const failure = new UnrecoverableError("oven on fire");
      output.fail(failure, "job failed");
      input.fail(failure, "job failed");
      expect(output.closed?.reason).toBe("job failed");
      expect((await reader.next())?.data).toBe("a");
      await expect(reader.next()).rejects.toThrow("oven on fire");
      await expect(output.reader("live").next()).rejects.toBeInstanceOf(UnrecoverableError);
      const last = (await consumer.peek())!;
      expect(last.data).toBe("x");
      consumer.take(last);
      await expect(consumer.peek()).rejects.toThrow("oven on fire");
      expect(await failureOf(() => output.append("late"))).toBeInstanceOf(StreamClosedError);
    });

    whenCopying("gives each reader of a failed stream a copy of its own of the error, rebuilt as its class", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const waiting = output.reader().next();
      const failure = new UnrecoverableError("oven on fire");
      output.fail(failure, "job failed");
      const errors = [await failureOf(() => waiting), await failureOf(() => output.reader().next()), await failureOf(() => output.reader().next())];
      for (const error of errors) {
        expect(error).toBeInstanceOf(UnrecoverableError);
        expect(error).not.toBe(failure);
        expect((error as Error).message).toBe("oven on fire");
      }
      expect(new Set(errors).size).toBe(errors.length);
    });

    it("rejects a pending next or peek with the canceller's reason once it fires, and at once after", async () => {
      const backend = await withJob();
      const reader = backend.streams.open(streamKey("j1"), streamOptions()).reader();
      const consumer = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions()).consumer();
      const attempt = new TestGuard();
      const next = reader.next(attempt);
      const peek = consumer.peek(attempt);
      expect(await stillPending(factory, next)).toBe(true);
      expect(await stillPending(factory, peek)).toBe(true);
      const reason = new Error("attempt 1 abandoned");
      attempt.cancel(reason);
      await expect(next).rejects.toBe(reason);
      await expect(peek).rejects.toBe(reason);
      await expect(reader.next(attempt)).rejects.toBe(reason);
      await expect(consumer.peek(attempt)).rejects.toBe(reason);
    });

    it("makes an output's writer wait once its slowest reader is highWaterMark behind, until that reader reads", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 2 }));
      const fast = stream.reader();
      const slow = stream.reader();
      expect(await stillPending(factory, stream.append("a"))).toBe(false);
      const full = stream.append("b");
      expect(await stillPending(factory, full)).toBe(true);
      await arrived(fast);
      await arrived(fast);
      expect(await stillPending(factory, full)).toBe(true);
      await arrived(slow);
      await full;
    });

    it("lets a closed reader hold no writer back", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      const reader = stream.reader();
      const full = stream.append("a");
      expect(await stillPending(factory, full)).toBe(true);
      reader.close();
      reader.close();
      await full;
      expect(await stillPending(factory, stream.append("b"))).toBe(false);
    });

    it("never makes the writer of an output without readers wait", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 2, historyLimit: 10 }));
      for (let n = 0; n < 10; n++) expect(await stillPending(factory, stream.append(n))).toBe(false);
    });

    it("makes an input's writer wait once highWaterMark messages are unacknowledged, until the consumer acks", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1", { role: "input" }), streamOptions({ highWaterMark: 2 }));
      expect(await stillPending(factory, stream.append("a"))).toBe(false);
      const full = stream.append("b");
      expect(await stillPending(factory, full)).toBe(true);
      const consumer = stream.consumer();
      consumer.take((await peekArrived(consumer))!);
      expect(await stillPending(factory, full)).toBe(true);
      consumer.ack();
      await full;
    });

    it("rejects a waiting writer with its guard's reason once the guard fires", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      stream.reader();
      const attempt = new TestGuard();
      const full = stream.append("a", attempt);
      expect(await stillPending(factory, full)).toBe(true);
      const reason = new Error("attempt 1 abandoned");
      attempt.cancel(reason);
      await expect(full).rejects.toBe(reason);
    });

    unlessGap("writer-waits-for-room")("keeps a writer waiting for room when another writer's guard fires", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1", { role: "input" }), streamOptions({ highWaterMark: 1 }));
      const feeder = stream.append("from a client");
      const upstream = new TestGuard();
      const piped = stream.append("from upstream", upstream);
      upstream.cancel(new Error("upstream attempt abandoned"));
      await expect(piped).rejects.toThrow("upstream attempt abandoned");
      expect(await stillPending(factory, feeder)).toBe(true);
    });

    it("releases a writer waiting for room when the stream ends (it does not hang)", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      stream.reader();
      const full = stream.append("a");
      let settled = false;
      full.then(
        () => (settled = true),
        () => (settled = true),
      );
      stream.end("job completed");
      await until(() => settled, "the waiting writer to be released");
    });

    it("writes nothing when the writer's guard refuses (assertLive throws)", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      const stale = new TestGuard();
      const reason = new Error("attempt 1 is stale");
      stale.cancel(reason);
      expect(await failureOf(() => stream.append("from a stale attempt", stale))).toBe(reason);
      expect(reader.nextNow()).toBeUndefined();
      expect(await stream.last()).toBeUndefined();
      await stream.append("from the live attempt", new TestGuard());
      expect(await arrived(reader)).toMatchObject({ offset: 0, data: "from the live attempt" });
    });

    it("stamps messages with the stream's clock, and with 0 without one", async () => {
      const backend = await withJob();
      let time = 1_000;
      const output = backend.streams.open(streamKey("j1"), streamOptions({ now: () => time }));
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const reader = output.reader();
      await output.append("a");
      time = 1_500;
      await output.append("b");
      await input.append("x");
      expect([(await arrived(reader))?.timestamp, (await arrived(reader))?.timestamp]).toEqual([1_000, 1_500]);
      expect((await peekArrived(input.consumer()))?.timestamp).toBe(0);
    });

    it("resolves last() to undefined before any append, then to the newest message, on outputs and inputs", async () => {
      const backend = await withJob();
      for (const role of ["output", "input"] as const) {
        const stream = backend.streams.open(streamKey("j1", { role }), streamOptions());
        await expect(stream.last()).resolves.toBeUndefined();
        await stream.append("a");
        await expect(stream.last()).resolves.toMatchObject({ data: "a", offset: 0 });
        await stream.append("b");
        await expect(stream.last()).resolves.toMatchObject({ data: "b", offset: 1 });
        if (role === "input") {
          // Acknowledged messages leave an input; the newest stays last().
          const consumer = stream.consumer();
          consumer.take((await peekArrived(consumer))!);
          consumer.take((await peekArrived(consumer))!);
          consumer.ack();
        }
        stream.end("done");
        await expect(stream.last()).resolves.toMatchObject({ data: "b", offset: 1 });
      }
    });

    it("keeps the newest message as last(), even when the history limit dropped it", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ historyLimit: 0 }));
      expect(await stream.last()).toBeUndefined();
      await stream.append("a");
      await stream.append("b");
      expect(await stream.last()).toMatchObject({ data: "b", offset: 1 });
      expect(await nothingMore(stream.reader())).toBe(true);
    });

    it("orders messages of a job's streams by arrival", async () => {
      const backend = await withJob();
      const sauce = backend.streams.open(streamKey("j1", { tag: "sauce" }), streamOptions());
      const dough = backend.streams.open(streamKey("j1", { tag: "dough" }), streamOptions());
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const orders: number[] = [];
      for (const stream of [sauce, dough, input, sauce, dough]) {
        await stream.append("x");
        orders.push((await stream.last())!.order);
      }
      expect([...orders].sort((a, b) => a - b)).toEqual(orders);
      expect(new Set(orders).size).toBe(orders.length);
    });
  });

  describe("StreamConsumer", () => {
    /** An input of job j1 holding `data`. */
    async function inputWith(backend: Backend, ...data: unknown[]) {
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      for (const item of data) await input.append(item);
      return input;
    }

    it("starts at the first message, and peeking does not take it", async () => {
      const consumer = (await inputWith(await withJob(), "a", "b")).consumer();
      expect((await peekArrived(consumer))?.data).toBe("a");
      expect(consumer.peekNow()?.data).toBe("a");
      expect((await consumer.peek())?.data).toBe("a");
    });

    it("moves to the next message on take; a new consumer starts after what was acknowledged", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      expect((await peekArrived(consumer))?.data).toBe("b");
      consumer.ack();
      consumer.close();
      expect((await peekArrived(input.consumer()))?.data).toBe("b");
    });

    it("starts a new consumer again at a message taken but not acknowledged (at-least-once)", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      consumer.ack();
      consumer.take((await peekArrived(consumer))!);
      consumer.close();
      const next = await consumerOpened(input.consumer());
      expect(await peekArrived(next)).toMatchObject({ data: "b", offset: 1 });
    });

    it("shows, once caught up with another input's message, every message of its input that arrived before that one", async () => {
      const backend = await withJob();
      const sauce = backend.streams.open(streamKey("j1", { role: "input", tag: "sauce" }), streamOptions());
      const dough = backend.streams.open(streamKey("j1", { role: "input", tag: "dough" }), streamOptions());
      const fromSauce = sauce.consumer();
      const fromDough = dough.consumer();
      // The dough consumer looked before anything arrived, and waits.
      const waiting = fromDough.peek();
      expect(await stillPending(factory, waiting)).toBe(true);
      await dough.append("dough first");
      await sauce.append("sauce second");
      const second = (await fromSauce.peek())!;
      await fromDough.catchUp?.(second);
      const first = fromDough.peekNow();
      expect(first?.data).toBe("dough first");
      expect(first!.order).toBeLessThan(second.order);
      expect((await waiting)?.data).toBe("dough first");
    });

    it("waits in peek for the next message, and resolves undefined after the last one once the input ends", async () => {
      const input = await inputWith(await withJob());
      const consumer = input.consumer();
      const waiting = consumer.peek();
      expect(await stillPending(factory, waiting)).toBe(true);
      await input.append("a");
      const message = (await waiting)!;
      expect(message.data).toBe("a");
      consumer.take(message);
      const atEnd = consumer.peek();
      input.end("input terminated");
      expect(await atEnd).toBeUndefined();
    });

    it("commits ack(checkpoint) with the acknowledgement: a new consumer gets both", async () => {
      const input = await inputWith(await withJob(), "a", "b");
      const consumer = input.consumer();
      expect(consumer.checkpoint).toBeUndefined();
      consumer.take((await peekArrived(consumer))!);
      consumer.ack({ seen: 1 });
      expect(consumer.checkpoint).toEqual({ seen: 1 });
      const next = await consumerOpened(input.consumer());
      expect(next.checkpoint).toEqual({ seen: 1 });
      expect((await peekArrived(next))?.data).toBe("b");
    });

    it("keeps the last checkpoint on an ack without one", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      consumer.ack({ seen: 1 });
      consumer.take((await peekArrived(consumer))!);
      consumer.ack();
      const next = await consumerOpened(input.consumer());
      expect(next.checkpoint).toEqual({ seen: 1 });
      expect((await peekArrived(next))?.data).toBe("c");
    });

    it("fences a consumer's acks with its guard: a stale ack acknowledges nothing and commits no checkpoint", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const attempt = new TestGuard();
      const consumer = input.consumer(attempt);
      consumer.take((await peekArrived(consumer))!);
      consumer.ack({ seen: 1 });
      consumer.take((await peekArrived(consumer))!);
      attempt.cancel(new Error("attempt 1 is stale"));
      try {
        consumer.ack({ seen: 2 });
      } catch {
        // Refusing by throwing is allowed; what counts is that nothing was committed.
      }
      const next = await consumerOpened(input.consumer(new TestGuard()));
      expect(next.checkpoint).toEqual({ seen: 1 });
      expect((await peekArrived(next))?.data).toBe("b");
    });

    whenCopying("hands out copies of data: changing the original after append changes nothing for readers", async () => {
      const backend = await withJob();
      const order = { toppings: ["basil"] };
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const reader = output.reader();
      await output.append(order);
      await input.append(order);
      order.toppings.push("pineapple");
      const read = (await arrived(reader))!.data;
      const consumed = (await peekArrived(input.consumer()))!.data;
      expect(read).not.toBe(order);
      expect(read).toEqual({ toppings: ["basil"] });
      expect(consumed).toEqual({ toppings: ["basil"] });
      expect((await output.last())!.data).toEqual({ toppings: ["basil"] });
    });

    whenCopying("commits a copy of the checkpoint: changing it after the ack changes nothing", async () => {
      // "b" stays for the next consumer to read (with the checkpoint).
      const input = await inputWith(await withJob(), "a", "b");
      const consumer = input.consumer();
      const state = { seen: ["a"] };
      consumer.take((await peekArrived(consumer))!);
      consumer.ack(state);
      state.seen.push("b");
      expect((await consumerOpened(input.consumer())).checkpoint).toEqual({ seen: ["a"] });
    });

    whenCopyingUnlessGap("copy-per-receiver")("gives each reader and consumer its own copy: what one changes, the next does not see", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const first = output.reader();
      const second = output.reader();
      await output.append({ toppings: ["basil"] });
      ((await arrived(first))!.data as { toppings: string[] }).toppings.push("changed by reader 1");
      expect((await arrived(second))!.data).toEqual({ toppings: ["basil"] });

      const input = await inputWith(backend, "a", "b");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      consumer.ack({ seen: ["a"] });
      (consumer.checkpoint as { seen: string[] }).seen.push("changed by attempt 1");
      expect((await consumerOpened(input.consumer())).checkpoint).toEqual({ seen: ["a"] });
    });

    whenCopying("refuses data or a checkpoint that cannot be copied (a function) with a ValidationError naming the stream, writing nothing", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const reader = output.reader();
      const refused = await failureOf(() => output.append({ onDone: () => "hi" }));
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).message).toContain(output.label);
      expect(await output.last()).toBeUndefined();
      await output.append("plain");
      expect(await arrived(reader)).toMatchObject({ data: "plain", offset: 0 });

      const input = await inputWith(backend, "a", "b");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      consumer.ack({ seen: 1 });
      consumer.take((await peekArrived(consumer))!);
      expect(await failureOf(() => consumer.ack({ resume: () => "b" }))).toBeInstanceOf(ValidationError);
      const next = await consumerOpened(input.consumer());
      expect(next.checkpoint).toEqual({ seen: 1 });
      expect((await peekArrived(next))?.data).toBe("b");
    });
  });

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
});
