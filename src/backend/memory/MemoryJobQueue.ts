import { ConfigurationError, JobCancelledError } from "../../errors.js";
import type { CancelAnswer, JobLease, JobOutcome, JobQueue, JobRecord, JobRunner, JobTicket, QueueConsumer } from "../Backend.js";
import type { JobStatus } from "../events.js";

/** The lease of the memory backend: never lost, never resumed. */
const NEVER_LOST: AbortSignal = new AbortController().signal;

/** A job of the memory queue: its ticket, and while it runs, its lease. */
class MemoryTicket implements JobTicket, JobLease {
  status: JobStatus = "queued";
  readonly outcome: Promise<JobOutcome>;
  readonly jobId: string;
  private settle!: (outcome: JobOutcome) => void;
  private cancelHandler: ((reason: string) => void) | undefined;
  private cancelRequested: string | undefined;
  private cancelDelivered = false;
  /** The consumer running it: its slot frees when the job ends. */
  consumer: Consumer | undefined;

  constructor(
    private readonly queue: MemoryJobQueue,
    readonly queueKey: string,
    /** Until the job is handed out: then the runner has it, and the ticket lets it go. */
    private record: JobRecord | undefined,
  ) {
    this.jobId = record!.jobId;
    this.outcome = new Promise<JobOutcome>((resolve) => (this.settle = resolve));
  }

  // On the prototype, not per ticket: the memory backend never loses a lease, nor resumes a job.
  get resumed(): boolean {
    return false;
  }

  get lost(): AbortSignal {
    return NEVER_LOST;
  }

  cancel(reason: string): Promise<CancelAnswer> {
    return Promise.resolve(this.cancelNow(reason));
  }

  /** Cancels in this step (the memory queue needs no I/O). */
  private cancelNow(reason: string): CancelAnswer {
    if (this.status === "queued") {
      const outcome: JobOutcome = { status: "cancelled", error: new JobCancelledError(this.jobId, reason) };
      this.end(outcome);
      return { was: "queued", outcome };
    }
    if (this.status !== "running") return { was: "final" };
    this.cancelRequested ??= reason;
    this.deliverCancel();
    return { was: "running" };
  }

  onCancel(handler: (reason: string) => void): void {
    this.cancelHandler = handler;
    // A cancel that came before the runner listened.
    this.deliverCancel();
  }

  /** Tells the runner of the first cancel, once. */
  private deliverCancel(): void {
    if (this.cancelDelivered || this.cancelRequested === undefined || !this.cancelHandler) return;
    this.cancelDelivered = true;
    this.cancelHandler(this.cancelRequested);
  }

  finish(outcome: JobOutcome): void {
    if (this.status !== "running") return;
    this.end(outcome);
  }

  /** @internal The queue hands the job out to `consumer`: its record, which the ticket no longer keeps. */
  start(consumer: Consumer): JobRecord {
    this.status = "running";
    this.consumer = consumer;
    const record = this.record!;
    this.record = undefined;
    return record;
  }

  private end(outcome: JobOutcome): void {
    const ran = this.status === "running";
    this.status = outcome.status;
    this.cancelHandler = undefined;
    this.settle(this.queue.transported(outcome));
    this.queue.ended(this, ran);
  }
}

/** FIFO of tickets, per queue; cancelled ones leave lazily (at the head, or in batches). */
class Fifo {
  private items: Array<MemoryTicket | undefined> = [];
  private head = 0;
  /** Tickets that left from the middle (cancelled), not yet removed. */
  stale = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: MemoryTicket): void {
    this.items.push(item);
  }
  peek(): MemoryTicket | undefined {
    return this.items[this.head];
  }
  shift(): MemoryTicket | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** Keeps only the queued tickets. */
  dropStale(): void {
    this.items = this.items.slice(this.head).filter((item) => item !== undefined && item.status === "queued");
    this.head = 0;
    this.stale = 0;
  }
}

interface Consumer {
  readonly concurrency: number;
  readonly run: JobRunner;
  running: number;
  open: boolean;
}

/**
 * The memory job queue: FIFO per queue key, jobs handed to the queue's
 * consumer while it has a free slot. A job queued before its queue has a
 * consumer waits (and keeps its input).
 */
export class MemoryJobQueue implements JobQueue {
  private readonly live = new Map<string, MemoryTicket>();
  private readonly queues = new Map<string, Fifo>();
  private readonly consumers = new Map<string, Consumer>();
  /** Queues to drain; a set iterated while it grows, so a drain asked for during one is not lost. */
  private readonly pendingDrains = new Set<string>();
  private draining = false;
  private closed = false;

  /**
   * @param transport what an outcome becomes on its way to waiters (copying
   *   mode: its error serialised and rebuilt).
   */
  constructor(
    private readonly transport: (outcome: JobOutcome) => JobOutcome,
    /** What a record becomes on its way in (copying mode: a structured copy). */
    private readonly store: (record: JobRecord) => JobRecord = (record) => record,
  ) {}

  add(queueKey: string, record: JobRecord, announce: (ticket: JobTicket) => void): Promise<JobTicket> {
    try {
      return Promise.resolve(this.addNow(queueKey, record, announce));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Adds in this step: the ticket exists, and the job waits, when `add` returns. */
  private addNow(queueKey: string, record: JobRecord, announce: (ticket: JobTicket) => void): JobTicket {
    // A job added to a closed backend would never run, and nobody would be told.
    if (this.closed) throw new ConfigurationError(`Cannot add job "${record.jobId}" to queue "${queueKey}": the backend is closed`);
    if (this.live.has(record.jobId)) {
      throw new ConfigurationError(`Job id "${record.jobId}" is already in use; pass a unique jobId or omit it`);
    }
    const stored = this.store(record);
    const ticket = new MemoryTicket(this, queueKey, stored);
    this.live.set(record.jobId, ticket);
    let fifo = this.queues.get(queueKey);
    if (!fifo) this.queues.set(queueKey, (fifo = new Fifo()));
    fifo.push(ticket);
    // Announced before the job can start (the queue hands it out after this step).
    announce(ticket);
    queueMicrotask(() => this.drain(queueKey));
    return ticket;
  }

  find(jobId: string): Promise<JobTicket | undefined> {
    return Promise.resolve(this.live.get(jobId));
  }

  consume(queueKey: string, concurrency: number, run: JobRunner): QueueConsumer {
    if (this.closed) throw new ConfigurationError(`Cannot consume queue "${queueKey}": the backend is closed`);
    if (this.consumers.has(queueKey)) throw new ConfigurationError(`Queue "${queueKey}" already has a consumer in this backend; close it first`);
    const consumer: Consumer = { concurrency, run, running: 0, open: true };
    this.consumers.set(queueKey, consumer);
    // After the caller's step, as for `add`: an env that starts consuming a flow's queue as it adds its first job announces it first.
    queueMicrotask(() => this.drain(queueKey));
    return {
      close: () => {
        consumer.open = false;
        if (this.consumers.get(queueKey) === consumer) this.consumers.delete(queueKey);
      },
    };
  }

  /** Stops every consumer: no job is handed out any more (running ones go on). */
  close(): void {
    this.closed = true;
    for (const consumer of this.consumers.values()) consumer.open = false;
    this.consumers.clear();
  }

  /** @internal */
  transported(outcome: JobOutcome): JobOutcome {
    return this.transport(outcome);
  }

  /**
   * @internal A job is final. A running one frees its slot; waiting jobs start
   * after the current step, so its own final event comes first. A cancelled
   * queued one leaves its queue (in batches, so many cancels stay linear).
   */
  ended(ticket: MemoryTicket, ran: boolean): void {
    this.live.delete(ticket.jobId);
    if (ran) {
      // The slot of the consumer that ran it (a consumer closed meanwhile frees none of its successor's).
      if (ticket.consumer) ticket.consumer.running--;
      queueMicrotask(() => this.drain(ticket.queueKey));
      return;
    }
    const fifo = this.queues.get(ticket.queueKey);
    if (fifo && ++fifo.stale * 2 >= fifo.size) fifo.dropStale();
  }

  /**
   * Hands out as many queued jobs as the consumer's free slots allow, oldest
   * first. Runners run user code (listeners) that may add, consume or
   * cancel: a drain asked for meanwhile runs once the current one is over.
   */
  private drain(queueKey: string): void {
    this.pendingDrains.add(queueKey);
    if (this.draining) return;
    this.draining = true;
    try {
      for (const key of this.pendingDrains) {
        this.pendingDrains.delete(key);
        this.drainNow(key);
      }
    } finally {
      this.draining = false;
    }
  }

  private drainNow(queueKey: string): void {
    const fifo = this.queues.get(queueKey);
    const consumer = this.consumers.get(queueKey);
    if (!fifo) return;
    while (fifo.size > 0) {
      const ticket = fifo.peek()!;
      if (ticket.status !== "queued") {
        fifo.shift(); // cancelled while waiting
        continue;
      }
      if (!consumer || !consumer.open || consumer.running >= consumer.concurrency) break;
      fifo.shift();
      consumer.running++;
      consumer.run(ticket.start(consumer), ticket);
    }
    if (fifo.size === 0 && this.queues.get(queueKey) === fifo) this.queues.delete(queueKey);
  }
}
