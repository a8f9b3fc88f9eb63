import type { EventBus, JobJournal } from "../Backend.js";
import { isFinalStatus, type LifecycleEvent, type LifecycleListener } from "../events.js";

/** Events a job's journal keeps for subscribers that come late. */
export const JOURNAL_LIMIT = 256;


/**
 * Delivers lifecycle events in process: each to its job's journal (job
 * listeners first), then to the env's listeners. Listeners given here are the
 * env's guarded wrappers: they never throw.
 */
export class MemoryEventBus implements EventBus {
  private readonly listeners = new Set<LifecycleListener>();
  private readonly journals = new Map<string, MemoryJournal>();

  /** @param copy copies each event on the way in (copying mode). */
  constructor(private readonly copy: ((event: LifecycleEvent) => LifecycleEvent) | undefined) {}

  publish(event: LifecycleEvent): void {
    const stored = this.copy ? this.copy(event) : event;
    this.journal(stored.jobId).record(stored);
    if (this.listeners.size === 0) return;
    // A listener subscribed while this event is delivered gets the events after it, not this one.
    for (const listener of [...this.listeners]) listener(this.copy ? this.copy(stored) : stored);
  }

  subscribe(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  journal(jobId: string): MemoryJournal {
    let journal = this.journals.get(jobId);
    if (!journal) this.journals.set(jobId, (journal = new MemoryJournal(this.copy)));
    return journal;
  }

  dispose(jobId: string): void {
    this.journals.delete(jobId);
  }
}

/**
 * One job's events, in the order they were published. Keeps the newest
 * `JOURNAL_LIMIT`; a progress report replaces the one before it when that
 * was the same worker's (progress is a gauge). After the final status it
 * takes no more events and keeps no listeners.
 */
export class MemoryJournal implements JobJournal {
  private readonly events: LifecycleEvent[] = [];
  /** Events recorded so far; event n sits at `events[n - (recorded - events.length)]`. */
  private recorded = 0;
  // Made on first use: most jobs never get a listener of their own.
  private listeners: Set<LifecycleListener> | undefined;
  private closed = false;

  /** @param copy gives each listener a copy of its own (copying mode). */
  constructor(private readonly copy: ((event: LifecycleEvent) => LifecycleEvent) | undefined) {}

  private delivered(event: LifecycleEvent): LifecycleEvent {
    return this.copy ? this.copy(event) : event;
  }

  record(event: LifecycleEvent): void {
    if (this.closed) return;
    const last = this.events.at(-1);
    if (event.type === "job.progress" && last?.type === "job.progress" && last.workerName === event.workerName) {
      this.events[this.events.length - 1] = event;
    } else {
      this.events.push(event);
      this.recorded++;
      if (this.events.length > JOURNAL_LIMIT) this.events.shift();
    }
    // A listener subscribed while this event is delivered got it in its replay: iterate a copy.
    if (this.listeners) for (const listener of [...this.listeners]) listener(this.delivered(event));
    if (event.type === "job.status" && isFinalStatus(event.status)) {
      this.closed = true;
      this.listeners = undefined;
    }
  }

  subscribe(listener: LifecycleListener): () => void {
    // Events a replayed listener causes are recorded meanwhile: replay up to the newest.
    for (let n = this.recorded - this.events.length; n < this.recorded; n++) {
      const event = this.events[n - (this.recorded - this.events.length)];
      if (event) listener(this.delivered(event));
    }
    if (this.closed) return () => {};
    (this.listeners ??= new Set()).add(listener);
    return () => {
      this.listeners?.delete(listener);
    };
  }
}
