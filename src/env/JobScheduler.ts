import type { JobRuntime } from "../job/JobRuntime.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";

/**
 * A job's place in its queue. Taken when `enqueueJob` is called, filled once
 * its options are valid (or dropped): a job still validating holds its place,
 * so jobs start in call order even when validation is async.
 */
export interface QueueEntry {
  readonly queueKey: string;
  job: JobRuntime | undefined;
  dropped: boolean;
}

/** FIFO of queue entries, per queue. */
class Fifo {
  private items: Array<QueueEntry | undefined> = [];
  private head = 0;
  /** Entries that left from the middle (cancelled, dropped), not yet removed. */
  stale = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: QueueEntry): void {
    this.items.push(item);
  }
  peek(): QueueEntry | undefined {
    return this.items[this.head];
  }
  shift(): QueueEntry | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** Keeps only the entries `keep` accepts. */
  retain(keep: (item: QueueEntry) => boolean): void {
    this.items = this.items.slice(this.head).filter((item) => item !== undefined && keep(item));
    this.head = 0;
    this.stale = 0;
  }
}

/** An entry still waiting: validating, or a job not yet started and not cancelled. */
const waiting = (entry: QueueEntry) => !entry.dropped && (entry.job === undefined || entry.job.isQueued);

/**
 * Starts queued jobs when every spec they run has a worker def and a slot is
 * free (`concurrency` running jobs per def per env; flows are not limited),
 * first in first out per queue.
 */
export class JobScheduler {
  private readonly queues = new Map<string, Fifo>();
  private readonly runningCount = new Map<string, number>();
  private readonly started = new WeakSet<JobRuntime>();
  /** Queues to drain; a set, iterated while it grows, so a drain asked for during one is not lost. */
  private readonly pendingDrains = new Set<string>();
  private draining = false;

  constructor(private readonly findWorker: (specName: string) => AnyLiveWorkerDef | undefined) {}

  /** Takes the next place in a queue, for a job whose options are still validating. */
  reserve(queueKey: string): QueueEntry {
    let fifo = this.queues.get(queueKey);
    if (!fifo) this.queues.set(queueKey, (fifo = new Fifo()));
    const entry: QueueEntry = { queueKey, job: undefined, dropped: false };
    fifo.push(entry);
    return entry;
  }

  /** Gives a place back (its job was never created). */
  drop(entry: QueueEntry): void {
    entry.dropped = true;
    this.drain(entry.queueKey);
  }

  /**
   * A job reached its final status: free its slot (waiting jobs start at the
   * next `drain`). A job cancelled while queued had none; it is dropped from
   * its queue (in batches, so cancelling many queued jobs stays linear)
   * instead of waiting to reach the head.
   */
  release(job: JobRuntime): void {
    const name = job.plan.queueKey;
    if (this.started.has(job)) {
      this.runningCount.set(name, (this.runningCount.get(name) ?? 1) - 1);
      return;
    }
    const fifo = this.queues.get(name);
    if (fifo && ++fifo.stale * 2 >= fifo.size) fifo.retain(waiting);
  }

  /**
   * Starts as many waiting jobs of one queue as slots allow, oldest first.
   * Starting a job runs listeners, which may enqueue, define workers or
   * cancel: a drain asked for meanwhile runs once the current one is over.
   */
  drain(queueKey: string): void {
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
    if (!fifo) return;
    while (fifo.size > 0) {
      const entry = fifo.peek()!;
      if (!waiting(entry)) {
        fifo.shift(); // cancelled while waiting, or dropped
        continue;
      }
      const job = entry.job;
      if (!job) break; // still validating: it holds its place
      const limit = job.concurrencyLimit(this.findWorker);
      if (limit === undefined || (this.runningCount.get(queueKey) ?? 0) >= limit) break;
      fifo.shift();
      this.runningCount.set(queueKey, (this.runningCount.get(queueKey) ?? 0) + 1);
      this.started.add(job);
      job.start(this.findWorker);
    }
    if (fifo.size === 0 && this.queues.get(queueKey) === fifo) this.queues.delete(queueKey);
  }

  /** Drains every queue (a new worker def may unblock several). */
  drainAll(): void {
    for (const key of [...this.queues.keys()]) this.drain(key);
  }
}
