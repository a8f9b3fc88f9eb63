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
  label: string;
  schema: Schema | undefined;
  clock: Clock;
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
  readonly label: string;
  private readonly schema: Schema | undefined;
  private readonly clock: Clock;
  private readonly limits: StreamLimits;
  private buffer: Array<StreamMessage<T> | undefined> = [];
  private head = 0;
  private baseOffset = 0;
  private nextOffset = 0;
  private readWaiters: Array<() => void> = [];
  private spaceWaiters: Array<() => void> = [];
  private readonly cursors = new Set<Cursor>();
  private closed: { error?: unknown; reason: string } | undefined;

  constructor(options: DataStreamOptions) {
    this.label = options.label;
    this.schema = options.schema;
    this.clock = options.clock;
    this.limits = { highWaterMark: options.highWaterMark, historyLimit: options.historyLimit };
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
   * Validates and appends. Rejects with `ValidationError` (nothing written) or
   * `StreamClosedError`; resolves once the slowest reader is below the
   * high-water mark. `beforeAppend` runs just before the append (after an
   * async validation too) and may throw to cancel it.
   */
  write(value: unknown, beforeAppend?: () => void): Promise<void> {
    this.assertOpen();
    if (!this.schema) {
      beforeAppend?.();
      return this.appendAndWait(value as T);
    }
    const checked = validate(this.schema, value, this.label);
    if (checked instanceof Promise) {
      return checked.then((data) => {
        this.assertOpen();
        beforeAppend?.();
        return this.appendAndWait(data as T);
      });
    }
    beforeAppend?.();
    return this.appendAndWait(checked as T);
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamClosedError(`Cannot write to ${this.label}: ${this.closed.reason}`);
  }

  private appendAndWait(data: T): Promise<void> {
    this.append(data);
    return this.lag() >= this.limits.highWaterMark ? this.waitForSpace() : WRITTEN;
  }

  /** Appends a message that is already valid. */
  append(data: T): void {
    const message: StreamMessage<T> = {
      data,
      timestamp: this.clock.now(),
      offset: this.nextOffset++,
      sequence: appendSequence++,
    };
    this.buffer.push(message);
    this.trim();
    if (this.readWaiters.length > 0) this.wake("read");
  }

  private async waitForSpace(): Promise<void> {
    while (!this.closed && this.lag() >= this.limits.highWaterMark) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
  }

  /** How far the slowest cursor is behind the newest message. */
  lag(): number {
    let slowest = this.nextOffset;
    for (const cursor of this.cursors) if (cursor.position < slowest) slowest = cursor.position;
    return this.nextOffset - slowest;
  }

  /** Opens a cursor at `position` (default: the oldest kept message). */
  openCursor(position = this.baseOffset): Cursor {
    const cursor = { position: Math.max(position, this.baseOffset) };
    this.cursors.add(cursor);
    return cursor;
  }

  closeCursor(cursor: Cursor): void {
    if (this.cursors.delete(cursor)) this.afterAdvance();
  }

  /** Moves a cursor forward (never back) and releases writers and memory. */
  advance(cursor: Cursor, position: number): void {
    if (position <= cursor.position) return;
    cursor.position = position;
    this.afterAdvance();
  }

  private afterAdvance(): void {
    this.trim();
    if (this.spaceWaiters.length > 0 && this.lag() < this.limits.highWaterMark) this.wake("space");
  }

  /** The message at `offset`, or undefined when not written yet (or dropped). */
  at(offset: number): StreamMessage<T> | undefined {
    if (offset < this.baseOffset || offset >= this.nextOffset) return undefined;
    return this.buffer[this.head + offset - this.baseOffset];
  }

  /**
   * The first kept message at or after `offset`; waits for one. Resolves
   * `undefined` at the end of a stream that ended normally, rejects with the
   * stream's error when it failed, or with `signal.reason` once `signal` aborts.
   */
  async read(offset: number, signal?: AbortSignal): Promise<StreamMessage<T> | undefined> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const message = this.at(Math.max(offset, this.baseOffset));
      if (message) return message;
      if (this.closed) {
        if (this.closed.error !== undefined) throw this.closed.error;
        return undefined;
      }
      await new Promise<void>((resolve) => {
        if (!signal) {
          this.readWaiters.push(resolve);
          return;
        }
        // One listener per wait, removed when data wakes us: long streams add nothing up.
        const wake = () => {
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.readWaiters.push(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
  }

  /** Ends the stream: readers finish after the last message; writes throw. */
  end(reason = "the stream has ended"): void {
    if (this.closed) return;
    this.closed = { reason };
    this.wake("read");
    this.wake("space");
  }

  /** Fails the stream: readers throw `error` after the last message. */
  fail(error: unknown, reason = "the job has failed"): void {
    if (this.closed) return;
    this.closed = { error, reason };
    this.wake("read");
    this.wake("space");
  }

  private wake(which: "read" | "space"): void {
    const waiters = which === "read" ? this.readWaiters : this.spaceWaiters;
    if (which === "read") this.readWaiters = [];
    else this.spaceWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Drops messages no cursor needs and the history limit does not keep. */
  private trim(): void {
    let keepFrom = this.nextOffset - this.limits.historyLimit;
    for (const cursor of this.cursors) if (cursor.position < keepFrom) keepFrom = cursor.position;
    while (this.baseOffset < keepFrom) {
      this.buffer[this.head++] = undefined;
      this.baseOffset++;
    }
    if (this.head > 64 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
  }
}
