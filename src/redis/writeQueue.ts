/**
 * When a queue is sent: at the end of this turn of the event loop
 * (`setImmediate`, taken when this module loads, so a test's fake timers do
 * not hold writes back). A writer that awaits each write in a loop (`await
 * feed(x)` resolves at once while there is room) makes all its writes of the
 * turn before the queue is sent: they go in one script call, not one round
 * trip each.
 */
const deferred: (callback: () => void) => unknown = globalThis.setImmediate ?? ((callback: () => void) => setTimeout(callback, 0));

/**
 * Orders a process's writes to Redis: each write is queued, and the queue
 * is sent at the end of the event loop's turn, in call order, on one connection
 * (ioredis pipelines what is sent in one step). Batched writes of one owner
 * (appends to a stream, acknowledgements of a consumer) coalesce into one
 * script call: a batch takes items until the next plain write (a barrier:
 * an end marker, an event, a job's outcome), so those stay after every
 * item called before them; batches of different owners may be reordered
 * among themselves.
 */
export class WriteQueue {
  private ops: Array<PendingOp> = [];
  /** Batches still taking items (since the last plain write). */
  private open = new Map<object, OpenBatch<unknown>>();
  private scheduled = false;

  /** Queues `send` (it issues its commands when the queue flushes), after everything queued so far. */
  push(send: () => void): void {
    this.ops.push({ send });
    this.open.clear();
    this.groups.clear();
    this.schedule();
  }

  /**
   * Runs a read so that it sees every write this process queued before it:
   * after them when some are queued (`ordered`), else at once.
   */
  afterWrites<T>(read: () => Promise<T>): Promise<T> {
    return this.ops.length > 0 ? this.ordered(read) : read();
  }

  /** Queues a command whose answer matters (a read that must see the writes queued before it, and none after). */
  ordered<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.push(() => send().then(resolve, reject)));
  }

  /**
   * Adds `item` to the open batch of `owner`, or starts one that `sendBatch`
   * sends at the flush. Owners of one `group` (the streams of one job and
   * direction) keep their call order among themselves: an item of another
   * owner of the group closes the group's open batch, so `a1 b1 b2 a2` goes as
   * `[a1] [b1 b2] [a2]` (merged inputs see that arrival order), while owners
   * of different groups coalesce freely.
   *
   * A batch goes where its first item was queued: what joins it later moves
   * earlier than the writes queued in between (right for appends: storing an
   * output sooner never hurts). `late`: the batch goes where its newest item
   * was queued instead, so what joins it moves nothing earlier (right for
   * acknowledgements: acknowledging message n before the outputs queued for
   * it would break at-least-once; acknowledging later only redelivers more).
   */
  batch<T>(owner: object, item: T, sendBatch: (items: T[]) => void, options: { group?: string; late?: boolean } = {}): void {
    const { group, late = false } = options;
    if (group !== undefined) {
      const current = this.groups.get(group);
      if (current !== undefined && current !== owner) this.open.delete(current);
      this.groups.set(group, owner);
    }
    const open = this.open.get(owner) as OpenBatch<T> | undefined;
    if (open) {
      open.items.push(item);
      if (late && open.at !== this.ops.length - 1) {
        // Moves to the end of the queue: its old place sends nothing.
        this.ops[open.at] = SKIPPED;
        open.at = this.ops.length;
        this.ops.push(open.op);
      }
      return;
    }
    const batch: OpenBatch<T> = { items: [item], op: { send: () => sendBatch(batch.items) }, at: this.ops.length };
    this.open.set(owner, batch);
    this.ops.push(batch.op);
    this.schedule();
  }

  /** Per group, the owner whose batch was the last one to take an item. */
  private groups = new Map<string, object>();

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    deferred(() => this.flush());
  }

  /** Sends what is queued, in order. */
  flush(): void {
    this.scheduled = false;
    const ops = this.ops;
    this.ops = [];
    this.open.clear();
    this.groups.clear();
    for (const op of ops) op.send();
  }
}

interface PendingOp {
  send: () => void;
}

/** A batch still taking items, and the queued op that sends it. */
interface OpenBatch<T> {
  items: T[];
  op: PendingOp;
  /** Where `op` stands in the queue. */
  at: number;
}

/** The place a late batch left when it moved to the end of the queue. */
const SKIPPED: PendingOp = { send: () => {} };
