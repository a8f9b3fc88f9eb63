import { StreamClosedError } from "../errors.js";
import { validate, type Schema } from "../schema.js";
import type { Clock } from "../clock.js";

/** One message of a stream. `offset` counts from 0 per stream. */
export interface StreamMessage<T> {
  data: T;
  timestamp: number;
  offset: number;
  /**
   * Process-wide append order across all streams: orders messages of
   * different streams written within the same millisecond (`input.merge`).
   */
  sequence: number;
}

let appendSequence = 0;

const NO_CURSORS: readonly Cursor[] = Object.freeze([]);

/** What `read` of an ended stream resolves to: one shared settled promise. */
const ENDED: Promise<undefined> = Promise.resolve(undefined);

/** What a write that need not wait returns: one shared settled promise, no allocation per message. */
export const WRITTEN: Promise<void> = Promise.resolve();

/** Limits of one stream. */
export interface StreamLimits {
  /**
   * Writers wait (`feed`, `emit` return a pending promise) while the slowest
   * attached reader is this many messages behind. Default 1024.
   */
  highWaterMark: number;
  /**
   * Messages kept for readers that attach later (output streams). Older ones
   * are dropped: a late reader starts at the oldest kept. Default 1024.
   */
  historyLimit: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { highWaterMark: 1024, historyLimit: 1024 };

export interface DataStreamOptions extends StreamLimits {
  /** Used in error messages, e.g. `input "default" of job "j1" (spec "chop")`. */
  /** Or who names it, on first use (most streams never need their name). */
  label: string | StreamNamer;
  schema: Schema | undefined;
  /**
   * Stamps each message with `clock.now()`. Omitted for streams whose
   * timestamps nobody reads (job inputs): their messages carry 0.
   */
  clock: Clock | undefined;
}

/**
 * What ends a wait inside a stream early: the waiting attempt being
 * abandoned. Lighter than an `AbortSignal` (no event target per attempt):
 * a stream registers one wake-up per canceller that waits on it.
 */
export interface WaitCanceller {
  readonly cancelled: boolean;
  /** What the wait rejects with once cancelled. */
  readonly cancelReason: unknown;
  /** Calls `wake` once when cancelled (at once if it already is). */
  onCancel(wake: () => void): void;
}

/** What `write` checks before it appends; its cancellation ends a wait for space. */
export interface WriteGuard extends WaitCanceller {
  assertLive(): void;
}

/** Names streams it owns in error messages, when first needed. */
export interface StreamNamer {
  nameOf(stream: DataStream<any>): string;
}

/**
 * A position in a stream that pins retention and counts toward backpressure:
 * an output reader, or an input's acknowledged offset.
 */
export interface Cursor {
  position: number;
}

/**
 * An append-only, validated, bounded stream with independent cursors.
 * Data messages never become XState events: writers append here and readers
 * await here directly.
 */
export class DataStream<T = unknown> {
  private labelOrNamer: string | StreamNamer;
  private readonly schema: Schema | undefined;
  private readonly clock: Clock | undefined;
  private watchedReader: WaitCanceller | undefined;
  private watchedWriter: WaitCanceller | undefined;
  private newestMessage: StreamMessage<T> | undefined;
  private readonly highWaterMark: number;
  private readonly historyLimit: number;
  private buffer: Array<StreamMessage<T> | undefined> = [];
  private head = 0;
  private baseOffset = 0;
  private nextOffset = 0;
  // Created on first use, exactly sized: most streams of an idle job have no waiter at all.
  private readWaiters: PendingRead<T>[] | undefined;
  private spaceWaiters: Array<() => void> | undefined;
  /** Copied on change (cursors open and close rarely, and are scanned per message): no Set per stream. */
  private cursors: readonly Cursor[] = NO_CURSORS;
  /** @internal */
  closed: { error?: unknown; reason: string } | undefined;
  /**
   * Writes called but not yet appended, in call order: one waits for an
   * async validation, the others behind it. Undefined when none (the fast path).
   */
  private queued: QueuedWrite<T>[] | undefined;
  /** Waiting for the queued writes to be appended or refused (`settled`). */
  private settledWaiters: Array<() => void> | undefined;
  /** A graceful `end` asked for while writes were queued: it takes effect once they are appended. */
  private ending: { reason: string; done: Promise<void>; resolve: () => void } | undefined;

  constructor(options: DataStreamOptions) {
    this.labelOrNamer = options.label;
    this.schema = options.schema;
    this.clock = options.clock;
    this.highWaterMark = options.highWaterMark;
    this.historyLimit = options.historyLimit;
  }

  /** Names the stream in errors, e.g. `input "default" of job "j1" (spec "chop")`. */
  get label(): string {
    if (typeof this.labelOrNamer !== "string") this.labelOrNamer = this.labelOrNamer.nameOf(this);
    return this.labelOrNamer;
  }

  /** The newest message, kept even when `historyLimit` dropped it (one message, for results). */
  get newest(): StreamMessage<T> | undefined {
    return this.newestMessage;
  }

  /** Messages written so far. */
  get length(): number {
    return this.nextOffset;
  }

  /** Offset of the oldest message still kept. */
  get oldestOffset(): number {
    return this.baseOffset;
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /**
   * Validates and appends. Writes are appended in call order, whatever the
   * schema: a write behind one still validating (an async schema) waits its
   * turn. Rejects with `ValidationError` (nothing written) or
   * `StreamClosedError`; resolves once the slowest reader is below the
   * high-water mark. `guard.assertLive()` runs just before the append (after
   * an async validation too) and may throw to cancel it. May also throw
   * synchronously: callers turn that into a rejection.
   */
  write(value: unknown, guard?: WriteGuard): Promise<void> {
    this.assertOpen();
    if (this.queued === undefined) {
      if (!this.schema) {
        guard?.assertLive();
        return this.appendAndWait(value as T, guard);
      }
      const checked = validate(this.schema, value, this);
      if (!(checked instanceof Promise)) {
        guard?.assertLive();
        return this.appendAndWait(checked as T, guard);
      }
      return this.queue(checked as Promise<T>, guard);
    }
    // Behind a write still validating: wait for its turn (a value that fails a sync schema needs none).
    const checked = this.schema ? validate(this.schema, value, this) : (value as T);
    return this.queue(Promise.resolve(checked as T | Promise<T>), guard);
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamClosedError(`Cannot write to ${this.label}: ${this.closed.reason}`);
    if (this.ending) throw new StreamClosedError(`Cannot write to ${this.label}: ${this.ending.reason}`);
  }

  /** Queues a write whose value is still validating; it is appended when every earlier write was. */
  private queue(checked: Promise<T>, guard: WriteGuard | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: QueuedWrite<T> = { state: "validating", data: undefined, error: undefined, guard, resolve, reject };
      (this.queued ??= []).push(entry);
      checked.then(
        (data) => {
          entry.state = "valid";
          entry.data = data;
          this.appendQueued();
        },
        (error: unknown) => {
          entry.state = "invalid";
          entry.error = error;
          this.appendQueued();
        },
      );
    });
  }

  /** Appends the queued writes at the head whose validation has finished, in order. */
  private appendQueued(): void {
    const queued = this.queued;
    if (!queued) return;
    while (queued.length > 0 && queued[0]!.state !== "validating") {
      const entry = queued.shift()!;
      if (entry.state === "invalid") {
        entry.reject(entry.error);
        continue;
      }
      try {
        entry.guard?.assertLive();
      } catch (error) {
        entry.reject(error);
        continue;
      }
      entry.resolve(this.appendAndWait(entry.data as T, entry.guard));
    }
    if (queued.length > 0) return;
    this.queued = undefined;
    this.wakeSettled();
    const ending = this.ending;
    if (ending) {
      this.ending = undefined;
      this.close(ending.reason);
      ending.resolve();
    }
  }

  /**
   * Resolves once every write already called was appended or refused;
   * undefined when none waits (the common case: no promise).
   */
  settled(): Promise<void> | undefined {
    if (this.queued === undefined) return undefined;
    return new Promise<void>((resolve) => (this.settledWaiters ??= []).push(resolve));
  }

  private wakeSettled(): void {
    const waiters = this.settledWaiters;
    this.settledWaiters = undefined;
    if (waiters) for (const resolve of waiters) resolve();
  }

  /** Refuses every queued write (the stream closed before their turn). */
  private refuseQueued(): void {
    const queued = this.queued;
    this.queued = undefined;
    if (queued) for (const entry of queued) entry.reject(new StreamClosedError(`Cannot write to ${this.label}: ${this.closed!.reason}`));
    this.wakeSettled();
    const ending = this.ending;
    this.ending = undefined;
    ending?.resolve();
  }

  private appendAndWait(data: T, guard: WriteGuard | undefined): Promise<void> {
    this.append(data);
    return this.lag() >= this.highWaterMark ? this.waitForSpace(guard) : WRITTEN;
  }

  /** Appends a message that is already valid. */
  append(data: T): void {
    const message: StreamMessage<T> = {
      data,
      timestamp: this.clock ? this.clock.now() : 0,
      offset: this.nextOffset++,
      sequence: appendSequence++,
    };
    this.buffer.push(message);
    this.newestMessage = message;
    this.trim();
    if (this.readWaiters !== undefined) this.wakeReaders();
  }

  /**
   * Resolves once the slowest reader is below the high-water mark or the
   * stream closed: writers are woken exactly then (`afterAdvance`, `end`,
   * `fail`), so one promise per wait suffices. A writer whose `canceller`
   * fires (its attempt was abandoned: cancel, restart) rejects at once with
   * its reason instead of waiting for a reader that may never come.
   */
  private waitForSpace(canceller?: WaitCanceller): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = canceller ? () => (canceller.cancelled ? reject(canceller.cancelReason) : resolve()) : resolve;
      if (this.spaceWaiters) this.spaceWaiters.push(waiter);
      else this.spaceWaiters = [waiter];
      if (canceller && this.watchedWriter !== canceller) {
        // One wake-up per writer and stream. Waking every writer on a cancel
        // lets another writer of this stream go on one message early: a
        // bounded overshoot, and outputs have one live writer (the attempt) anyway.
        this.watchedWriter = canceller;
        canceller.onCancel(() => this.wakeWriters());
      }
    });
  }

  /** How far the slowest cursor is behind the newest message. */
  lag(): number {
    const cursors = this.cursors;
    let slowest = this.nextOffset;
    for (let i = 0; i < cursors.length; i++) if (cursors[i]!.position < slowest) slowest = cursors[i]!.position;
    return this.nextOffset - slowest;
  }

  /** Opens a cursor at `position` (default: the oldest kept message). */
  openCursor(position = this.baseOffset): Cursor {
    const cursor = { position: Math.max(position, this.baseOffset) };
    this.cursors = this.cursors.length === 0 ? [cursor] : [...this.cursors, cursor];
    return cursor;
  }

  closeCursor(cursor: Cursor): void {
    if (!this.cursors.includes(cursor)) return;
    this.cursors = this.cursors.length === 1 ? NO_CURSORS : this.cursors.filter((open) => open !== cursor);
    this.afterAdvance();
  }

  /** Moves a cursor forward (never back) and releases writers and memory. */
  advance(cursor: Cursor, position: number): void {
    if (position <= cursor.position) return;
    cursor.position = position;
    this.afterAdvance();
  }

  private afterAdvance(): void {
    this.trim();
    if (this.spaceWaiters !== undefined && this.lag() < this.highWaterMark) this.wakeWriters();
  }

  /** The message at `offset`, or undefined when not written yet (or dropped). */
  at(offset: number): StreamMessage<T> | undefined {
    if (offset < this.baseOffset || offset >= this.nextOffset) return undefined;
    return this.buffer[this.head + offset - this.baseOffset];
  }

  /**
   * The first kept message at or after `offset`; waits for one. Resolves
   * `undefined` at the end of a stream that ended normally, rejects with the
   * stream's error when it failed, or with the canceller's reason once it fires.
   */
  read(offset: number, canceller?: WaitCanceller): Promise<StreamMessage<T> | undefined> {
    if (canceller?.cancelled) return Promise.reject(canceller.cancelReason);
    const message = this.at(Math.max(offset, this.baseOffset));
    if (message) return Promise.resolve(message);
    if (this.closed) return this.closed.error !== undefined ? Promise.reject(this.closed.error) : ENDED;
    if (canceller) this.watch(canceller);
    return new Promise((resolve, reject) => this.waitForData(new PendingRead(this, offset, canceller, resolve, reject)));
  }

  /** Wakes this stream's readers when `canceller` fires, so their pending reads reject: one wake-up per canceller, not per read. */
  private watch(canceller: WaitCanceller): void {
    // One reader (attempt) at a time reads an input: remembering the last canceller suffices.
    if (this.watchedReader === canceller) return;
    this.watchedReader = canceller;
    canceller.onCancel(() => this.wakeReaders());
  }

  private waitForData(pending: PendingRead<T>): void {
    if (this.readWaiters) this.readWaiters.push(pending);
    else this.readWaiters = [pending];
  }

  /**
   * Ends the stream once the writes already called are appended (terminate,
   * a worker that returned): readers finish after the last message; later
   * writes throw. Resolves when the end took effect.
   */
  end(reason = "the stream has ended"): Promise<void> {
    if (this.closed) return WRITTEN;
    if (this.ending) return this.ending.done;
    if (this.queued === undefined) {
      this.close(reason);
      return WRITTEN;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.ending = { reason, done, resolve };
    return done;
  }

  /** Ends the stream now (the job finished): readers finish after the last message; writes not yet appended are refused. */
  close(reason = "the stream has ended"): void {
    if (this.closed) return;
    this.closed = { reason };
    this.refuseQueued();
    this.wakeReaders();
    this.wakeWriters();
  }

  /** Fails the stream now: readers throw `error` after the last message; writes not yet appended are refused. */
  fail(error: unknown, reason = "the job has failed"): void {
    if (this.closed) return;
    this.closed = { error, reason };
    this.refuseQueued();
    this.wakeReaders();
    this.wakeWriters();
  }

  /** Settles every pending read that can settle now; the others wait on. */
  private wakeReaders(): void {
    const waiters = this.readWaiters;
    if (!waiters) return;
    this.readWaiters = undefined;
    for (const pending of waiters) if (!pending.settle()) this.waitForData(pending);
  }

  private wakeWriters(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = undefined;
    if (waiters) for (const resolve of waiters) resolve();
  }

  /** Drops messages no cursor needs and the history limit does not keep. */
  private trim(): void {
    let keepFrom = this.nextOffset - this.historyLimit;
    // Runs per message (append, advance): most calls have nothing to drop.
    if (keepFrom <= this.baseOffset) return;
    const cursors = this.cursors;
    for (let i = 0; i < cursors.length; i++) if (cursors[i]!.position < keepFrom) keepFrom = cursors[i]!.position;
    if (keepFrom <= this.baseOffset) return;
    const buffer = this.buffer;
    let head = this.head;
    for (let offset = this.baseOffset; offset < keepFrom; offset++) buffer[head++] = undefined;
    this.baseOffset = keepFrom;
    if (head > 64 && head * 2 > buffer.length) {
      this.buffer = buffer.slice(head);
      head = 0;
    }
    this.head = head;
  }
}

/** A write waiting for its turn (see `DataStream.write`). */
interface QueuedWrite<T> {
  state: "validating" | "valid" | "invalid";
  data: T | undefined;
  error: unknown;
  guard: WriteGuard | undefined;
  resolve: (written: Promise<void>) => void;
  reject: (error: unknown) => void;
}

/**
 * One `read` waiting for data (or for its canceller: the stream wakes its
 * readers then, see `watch`). Settles at most once.
 */
class PendingRead<T> {
  private settled = false;

  constructor(
    private readonly stream: DataStream<T>,
    private readonly offset: number,
    private readonly canceller: WaitCanceller | undefined,
    private readonly resolve: (message: StreamMessage<T> | undefined) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  /** Settles if the stream has an answer now (or its canceller fired); false while it must wait on. */
  settle(): boolean {
    if (this.settled) return true;
    if (this.canceller?.cancelled) {
      this.settled = true;
      this.reject(this.canceller.cancelReason);
      return true;
    }
    const message = this.stream.at(Math.max(this.offset, this.stream.oldestOffset));
    const closed = this.stream.closed;
    if (!message && !closed) return false;
    this.settled = true;
    if (message) this.resolve(message);
    else if (closed!.error !== undefined) this.reject(closed!.error);
    else this.resolve(undefined);
    return true;
  }
}
