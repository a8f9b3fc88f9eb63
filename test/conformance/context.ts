/**
 * What the conformance cases share: the backend under test (opened, bound
 * and closed as an env would), and the helpers that keep one case's meaning
 * on every backend (a backend that does I/O is waited for where one without
 * has things at once). `test/backend_conformance.test.ts` runs the cases.
 */
import { afterEach, expect, it } from "vitest";
import type { Backend, JobRecord, JobTicket, StreamConsumer, StreamMessage, StreamReader } from "../../src/backend/Backend.js";
import type { LifecycleEvent } from "../../src/backend/events.js";
import { jobRecord, stillPending } from "../helpers/backendProbes.js";
import type { BackendFactory } from "../helpers/backends.js";

/** The `queued` event a client adds `record` with. */
export function queuedEvent(record: JobRecord): LifecycleEvent {
  return { type: "job.status", jobId: record.jobId, specName: record.name, at: record.enqueuedAt, status: "queued" };
}

/** What a ticket says of its job (a backend may hand out another object per call). */
export function ticketState(ticket: JobTicket | undefined): { jobId: string; queueKey: string; status: string } | undefined {
  return ticket && { jobId: ticket.jobId, queueKey: ticket.queueKey, status: ticket.status };
}

/**
 * Adds `record` to `queueKey` as the env does: its `announce` publishes the
 * job's `queued` event. `announced` collects what each call of `announce`
 * was given (the ticket's state then).
 */
export function add(backend: Backend, queueKey: string, record: JobRecord, announced?: Array<ReturnType<typeof ticketState>>): Promise<JobTicket> {
  return backend.jobs.add(queueKey, record, (ticket) => {
    announced?.push(ticketState(ticket));
    backend.events.publish(queuedEvent(record));
  });
}

/** A case registered for one mode of backend only: its title says which. */
export type Case = (title: string, body: () => Promise<void> | void) => void;

/** The backend under test and the helpers of its cases (see `conformance`). */
export type Conformance = ReturnType<typeof conformance>;

/**
 * Sets up the cases of one backend: call it inside that backend's
 * `describe` (it closes what a case opened after each case, and checks that
 * nothing was reported).
 */
export function conformance(factory: BackendFactory) {
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
   * A new consumer, once it has read what the store keeps for it: where it
   * starts (the first message not acknowledged) comes with its first read on
   * a backend that does I/O (the input holds a message, or has ended).
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
  const whenCopying: Case = (title, body) => it.runIf(factory.copies)(`${title} [copying backends only]`, body);
  const whenNotCopying: Case = (title, body) => it.runIf(!factory.copies)(`${title} [backends that share objects only]`, body);
  const whenCopyingUnlessGap =
    (gap: string): Case =>
    (title, body) =>
      (factory.copies ? unlessGap(gap) : it.skip)(`${title} [copying backends only]`, body);

  return { factory, open, withJob, arrived, peekArrived, nothingMore, consumerOpened, storeOf, unlessGap, whenCopying, whenNotCopying, whenCopyingUnlessGap };
}
