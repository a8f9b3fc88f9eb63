import type { JobRuntime } from "../job/JobRuntime.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";

/** FIFO of jobs waiting for a slot, per spec. */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  /** Items that left the queue from the middle (cancelled), not yet dropped. */
  stale = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** Keeps only the items `keep` accepts (drops the stale ones). */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.slice(this.head).filter((item) => item !== undefined && keep(item));
    this.head = 0;
    this.stale = 0;
  }
}

/**
 * Starts queued jobs when every spec they run has a worker def and a slot is
 * free (`concurrency` running jobs per def per env; flows are not limited),
 * first in first out per queue.
 */
export class JobScheduler {
  private readonly waiting = new Map<string, Fifo<JobRuntime>>();
  private readonly runningCount = new Map<string, number>();
  private readonly started = new WeakSet<JobRuntime>();

  constructor(private readonly findWorker: (specName: string) => AnyLiveWorkerDef | undefined) {}

  enqueue(job: JobRuntime): void {
    const name = job.plan.queueKey;
    let fifo = this.waiting.get(name);
    if (!fifo) this.waiting.set(name, (fifo = new Fifo()));
    fifo.push(job);
    this.drain(name);
  }

  /**
   * A job reached its final status: free its slot. A job cancelled while
   * queued had none; it is dropped from its queue (in batches, so cancelling
   * many queued jobs stays linear) instead of waiting to reach the head.
   */
  release(job: JobRuntime): void {
    const name = job.plan.queueKey;
    if (this.started.has(job)) {
      this.runningCount.set(name, (this.runningCount.get(name) ?? 1) - 1);
    } else {
      const fifo = this.waiting.get(name);
      if (fifo && ++fifo.stale * 2 >= fifo.size) fifo.retain((waiting) => waiting.isQueued);
    }
    this.drain(name);
  }

  /** Starts as many waiting jobs of one queue as slots allow. */
  drain(queueKey: string): void {
    const fifo = this.waiting.get(queueKey);
    if (!fifo) return;
    while (fifo.size > 0) {
      const job = fifo.peek()!;
      if (!job.isQueued) {
        fifo.shift(); // cancelled while waiting
        continue;
      }
      const limit = job.concurrencyLimit(this.findWorker);
      if (limit === undefined || (this.runningCount.get(queueKey) ?? 0) >= limit) break;
      fifo.shift();
      this.runningCount.set(queueKey, (this.runningCount.get(queueKey) ?? 0) + 1);
      this.started.add(job);
      job.start(this.findWorker);
    }
    if (fifo.size === 0) this.waiting.delete(queueKey);
  }

  /** Drains every queue (a new worker def may unblock several). */
  drainAll(): void {
    for (const key of [...this.waiting.keys()]) this.drain(key);
  }
}
