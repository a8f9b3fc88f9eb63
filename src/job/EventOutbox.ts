import type { LifecycleEvent } from "../backend/events.js";

/**
 * The lifecycle events of one running job on their way out. The machines
 * record events inside their transitions (so causes are recorded before
 * their effects); the runtime flushes them to the event bus once XState is
 * between steps, where listeners may safely act on the job. A flush asked
 * for while one is delivering (a listener that cancels) is taken over by the
 * outer one, so events go out once each, in order.
 */
export class EventOutbox {
  /** Made when first needed, dropped when delivered: an idle job holds none. */
  private pending: LifecycleEvent[] | undefined;
  private delivering = false;
  private closed = false;

  constructor(private readonly publish: (event: LifecycleEvent) => void) {}

  /** Records `event`; it goes out at the next `flush`. Nothing is recorded once the outbox is closed. */
  record(event: LifecycleEvent): void {
    if (this.closed) return;
    // Most steps record one or two events: an array of one, not an empty one grown to 17 slots by its first push.
    if (this.pending) this.pending.push(event);
    else this.pending = [event];
  }

  /** Records `event` and flushes: with nothing else waiting, it goes out without being recorded at all. */
  deliver(event: LifecycleEvent): void {
    if (this.closed) return;
    if (this.delivering || this.pending) {
      this.record(event);
      this.flush();
      return;
    }
    this.delivering = true;
    try {
      this.publish(event);
    } finally {
      this.delivering = false;
    }
    // What listeners recorded meanwhile.
    this.flush();
  }

  /** Publishes every recorded event, in order. */
  flush(): void {
    if (this.delivering || this.pending === undefined) return;
    this.delivering = true;
    try {
      // Listeners may record more while they run: those go out in this flush too.
      for (let i = 0; i < this.pending.length; i++) this.publish(this.pending[i]!);
    } finally {
      this.pending = undefined;
      this.delivering = false;
    }
  }

  /** The job is final: after this flush nothing more goes out. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
