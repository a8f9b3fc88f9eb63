/**
 * Orders a process's writes to Redis: each write is queued, and the queue
 * is sent at the end of the current step, in call order, on one connection
 * (ioredis pipelines what is sent in one step). Appends to one stream made
 * one after another coalesce into one script call.
 */
export class WriteQueue {
  private ops: Array<PendingOp> = [];
  private scheduled = false;

  /** Queues `send` (it issues its commands when the queue flushes). */
  push(send: () => void): void {
    this.ops.push({ send, batch: undefined });
    this.schedule();
  }

  /** Queues a command whose answer matters (a read that must see the writes queued before it, and none after). */
  ordered<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.push(() => send().then(resolve, reject)));
  }

  /**
   * Adds `item` to the batch of `owner` when that batch is the last thing
   * queued, else starts a batch that `sendBatch` sends at the flush.
   */
  batch<T>(owner: object, item: T, sendBatch: (items: T[]) => void): void {
    const last = this.ops[this.ops.length - 1];
    if (last?.batch && last.batch.owner === owner) {
      (last.batch.items as T[]).push(item);
      return;
    }
    const items: T[] = [item];
    this.ops.push({ send: () => sendBatch(items), batch: { owner, items } });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends what is queued, in order. */
  flush(): void {
    this.scheduled = false;
    const ops = this.ops;
    this.ops = [];
    for (const op of ops) op.send();
  }
}

interface PendingOp {
  send: () => void;
  batch: { owner: object; items: unknown[] } | undefined;
}
