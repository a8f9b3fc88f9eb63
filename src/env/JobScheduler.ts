import type { JobRuntime } from "../job/JobRuntime.js";
import type { AnyLiveWorkerDef } from "../worker/LiveWorkerDef.js";

/** FIFO of jobs waiting for a slot, per spec. */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
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
}

/**
 * Starts queued jobs when their spec has a worker def and a free slot
 * (`concurrency` running jobs per def per env), first in first out.
 */
export class JobScheduler {
  private readonly waiting = new Map<string, Fifo<JobRuntime>>();
  private readonly runningCount = new Map<string, number>();
  private readonly started = new WeakSet<JobRuntime>();

  constructor(private readonly findWorker: (specName: string) => AnyLiveWorkerDef | undefined) {}

  enqueue(job: JobRuntime): void {
    const name = job.spec.name;
    let fifo = this.waiting.get(name);
    if (!fifo) this.waiting.set(name, (fifo = new Fifo()));
    fifo.push(job);
    this.drain(name);
  }

  /** A job reached its final status: free its slot (a cancelled queued job had none). */
  release(job: JobRuntime): void {
    const name = job.spec.name;
    if (this.started.has(job)) {
      this.runningCount.set(name, (this.runningCount.get(name) ?? 1) - 1);
    }
    this.drain(name);
  }

  /** Starts as many waiting jobs of `specName` as slots allow. */
  drain(specName: string): void {
    const def = this.findWorker(specName);
    const fifo = this.waiting.get(specName);
    if (!def || !fifo) return;
    while (fifo.size > 0 && (this.runningCount.get(specName) ?? 0) < def.concurrency) {
      const job = fifo.shift()!;
      if (job.status !== "queued") continue; // cancelled while waiting
      this.runningCount.set(specName, (this.runningCount.get(specName) ?? 0) + 1);
      this.started.add(job);
      job.start(def);
    }
    if (fifo.size === 0) this.waiting.delete(specName);
  }
}
