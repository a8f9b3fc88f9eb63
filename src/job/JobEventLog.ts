import type { LifecycleEvent, LifecycleListener } from "../backend/events.js";

/** Events a job keeps for subscribers that come late (`job.subscribe` replays them first). */
export const JOB_EVENT_HISTORY_LIMIT = 256;

/** Calls one listener so that nothing it throws reaches the caller. */
export type GuardedCall = (listener: LifecycleListener, event: LifecycleEvent) => void;

/**
 * The lifecycle events of one job, in the order they happened, and the
 * job's own listeners.
 *
 * Recording and delivering are apart: the machines record events inside
 * their transitions (so causes are recorded before their effects), and the
 * runtime delivers them to listeners (`flush`) once XState is between steps,
 * where user code may safely send events to actors. A subscriber first gets
 * the events delivered so far, then live ones, so `job.subscribe()` right
 * after `await enqueueJob()` still sees the job start. Keeps the newest
 * `JOB_EVENT_HISTORY_LIMIT` events; a progress report replaces the one
 * before it when that was the same worker's (progress is a gauge).
 */
export class JobEventLog {
  private readonly events: LifecycleEvent[] = [];
  /** Events recorded so far; event n sits at `events[n - (recorded - events.length)]`. */
  private recorded = 0;
  /** Events handed to listeners so far. */
  private delivered = 0;
  private delivering = false;
  // Created on first use: most jobs never get a listener of their own.
  private listeners: Set<LifecycleListener> | undefined;
  private closed = false;

  /**
   * @param call calls a job listener, guarded.
   * @param broadcast hands an event to the env's listeners.
   */
  constructor(
    private readonly call: GuardedCall,
    private readonly broadcast: (event: LifecycleEvent) => void,
  ) {}

  /** Records `event`; listeners get it at the next `flush`. Nothing is recorded once the log is closed (the job is final). */
  record(event: LifecycleEvent): void {
    if (this.closed) return;
    const last = this.events.at(-1);
    if (
      event.type === "job.progress" &&
      last?.type === "job.progress" &&
      last.workerName === event.workerName &&
      this.delivered === this.recorded
    ) {
      this.events[this.events.length - 1] = event;
      this.delivered--;
      return;
    }
    this.events.push(event);
    this.recorded++;
    if (this.events.length > JOB_EVENT_HISTORY_LIMIT) this.events.shift();
  }

  /** Hands every recorded, undelivered event to the job's and the env's listeners, in order. */
  flush(): void {
    // A listener that causes more events (a cancel) is not re-entered: the outer loop delivers them.
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.delivered < this.recorded) {
        const event = this.at(this.delivered++);
        if (!event) continue;
        // A listener subscribed while this event is delivered got it in its replay: iterate a copy.
        if (this.listeners) for (const listener of [...this.listeners]) this.call(listener, event);
        this.broadcast(event);
      }
    } finally {
      this.delivering = false;
    }
  }

  /**
   * Replays the events delivered so far to `listener`, then adds it for live
   * ones (none once the log is closed).
   */
  subscribe(listener: LifecycleListener): () => void {
    for (let n = this.recorded - this.events.length; n < this.delivered; n++) {
      const event = this.at(n);
      if (event) this.call(listener, event);
    }
    if (this.closed) return () => {};
    (this.listeners ??= new Set()).add(listener);
    return () => {
      this.listeners?.delete(listener);
    };
  }

  /** The job is final: after this flush no live events follow; listeners are dropped. */
  close(): void {
    this.flush();
    this.closed = true;
    this.listeners = undefined;
  }

  /** The events kept, oldest first. */
  snapshot(): readonly LifecycleEvent[] {
    return [...this.events];
  }

  private at(n: number): LifecycleEvent | undefined {
    return this.events[n - (this.recorded - this.events.length)];
  }
}
