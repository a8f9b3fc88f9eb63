import { streamLabel } from "../streamLabel.js";
import { MessageRing } from "./MessageRing.js";
import { StreamClosedError } from "../../errors.js";
import { APPENDED, type JobStream, type StreamConsumer, type StreamKey, type StreamMessage, type StreamOptions, type StreamReader, type WaitCanceller, type WriteGuard } from "../Backend.js";


/** Process-wide append order: orders messages of different streams appended in one millisecond. */
let appendOrder = 0;

const NO_CURSORS: readonly Cursor[] = Object.freeze([]);

/** What `next` of an ended stream resolves to: one shared settled promise. */
const ENDED: Promise<undefined> = Promise.resolve(undefined);

/** A position that pins retention and counts toward backpressure: a reader, or an input's acknowledged offset. */
interface Cursor {
  position: number;
}

/**
 * A job stream kept in memory: a buffer with independent cursors, bounded
 * retention and backpressure. Data never becomes an XState event: writers
 * append here and readers wait here directly.
 */
export class MemoryJobStream extends MessageRing implements JobStream {
  private labelText: string | undefined;
  private readonly now: (() => number) | undefined;
  private readonly copy: ((data: unknown, where: string) => unknown) | undefined;
  private readonly copyError: ((error: unknown) => unknown) | undefined;
  private readonly highWaterMark: number;
  /** Waiting writers resume once the slowest cursor is at most this far behind: half the mark. */
  private readonly resumeLag: number;
  private readonly historyLimit: number;
  private watchedReader: WaitCanceller | undefined;
  private watchedWriter: WaitCanceller | undefined;
  private newestMessage: StreamMessage | undefined;
  // Created on first use, exactly sized: most streams of an idle job have no waiter at all.
  private readWaiters: PendingRead[] | undefined;
  /** Readers waiting through `whenReady`: one in a slot (the usual case: no array per wait), more in a list. */
  private readyWaker: (() => void) | undefined;
  private readyWakers: Array<() => void> | undefined;
  private spaceWaiters: SpaceWaiter[] | undefined;
  /** Copied on change (cursors open and close rarely, and are scanned per message). */
  private cursors: readonly Cursor[] = NO_CURSORS;
  /** An input's acknowledged offset. */
  private acknowledged: Cursor | undefined;
  closed: { error?: unknown; reason: string } | undefined;

  /**
   * @param options limits, and `now` to stamp each message (without it, inputs, messages carry 0).
   * @param copy copies each message's data on append (`structuredClone`), as a process boundary would; `where` names what is copied in its error.
   * @param copyError gives each reader that throws a failed stream's error a copy of its own, as a process boundary would.
   */
  constructor(
    private readonly key: StreamKey,
    options: StreamOptions,
    copy: ((data: unknown, where: string) => unknown) | undefined,
    copyError?: (error: unknown) => unknown,
  ) {
    super();
    this.now = options.now;
    this.copy = copy;
    this.copyError = copyError;
    this.highWaterMark = options.highWaterMark;
    // Waking writers at half the mark, not one message below it, lets a writer that keeps
    // up with a slower reader go on for half the mark per wait instead of one message.
    this.resumeLag = Math.floor(options.highWaterMark / 2);
    // Inputs keep only unacknowledged messages: the acknowledged cursor pins them.
    this.historyLimit = key.role === "output" ? options.historyLimit : 0;
    if (key.role === "input") this.acknowledged = this.openCursor(0);
  }

  /** True when this is the stream `key` names (same job assumed). */
  is(key: StreamKey): boolean {
    return this.key.role === key.role && this.key.tag === key.tag && this.key.node === key.node;
  }

  /** Built when first needed: most streams never need their name. */
  get label(): string {
    return (this.labelText ??= streamLabel(this.key));
  }

  append(data: unknown, guard?: WriteGuard): Promise<void> {
    if (this.closed) throw new StreamClosedError(`Cannot write to ${this.label}: ${this.closed.reason}`);
    guard?.assertLive();
    const message: StreamMessage = {
      data: this.copy ? this.copy(data, `the message for ${this.label}`) : data,
      timestamp: this.now ? this.now() : 0,
      offset: this.nextOffset,
      order: appendOrder++,
    };
    this.keep(message);
    this.newestMessage = message;
    this.trim();
    if (this.readWaiters !== undefined || this.readyWaker !== undefined) this.wakeReaders();
    return this.lag() >= this.highWaterMark ? this.waitForSpace(guard) : APPENDED;
  }

  end(reason: string): void {
    if (this.closed) return;
    this.closed = { reason };
    this.wakeReaders();
    this.wakeWriters();
  }

  fail(error: unknown, reason: string): void {
    if (this.closed) return;
    this.closed = { error, reason };
    this.wakeReaders();
    this.wakeWriters();
  }

  last(): Promise<StreamMessage | undefined> {
    try {
      return Promise.resolve(this.deliver(this.newestMessage));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  reader(from: "oldest" | "live" = "oldest"): StreamReader {
    return new MemoryReader(this, this.openCursor(from === "live" ? this.nextOffset : this.baseOffset));
  }

  consumer(guard?: WriteGuard): StreamConsumer {
    if (!this.acknowledged) throw new Error(`internal: ${this.label} is not an input`);
    return new MemoryConsumer(this, this.acknowledged, guard);
  }

  /** @internal What a reader gets of a stored message: in copying mode, a copy of its own. */
  deliver(message: StreamMessage): StreamMessage;
  deliver(message: StreamMessage | undefined): StreamMessage | undefined;
  deliver(message: StreamMessage | undefined): StreamMessage | undefined {
    return this.copy && message ? { ...message, data: this.copy(message.data, `the message for ${this.label}`) } : message;
  }

  /** @internal What a reader of a failed stream throws: in copying mode, a copy of its own. */
  failure(): unknown {
    const error = this.closed?.error;
    return this.copyError ? this.copyError(error) : error;
  }

  /** @internal Acknowledges up to `position`. */
  acknowledge(position: number): void {
    this.advance(this.acknowledged!, position);
  }

  /**
   * Resolves once the slowest cursor is at most half the high-water mark
   * behind, or the stream closed: writers are woken exactly then, so one
   * promise per wait suffices. A writer whose canceller fires rejects at once with its reason.
   */
  private waitForSpace(canceller?: WaitCanceller): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: SpaceWaiter = { canceller, resolve, reject };
      if (this.spaceWaiters) this.spaceWaiters.push(waiter);
      else this.spaceWaiters = [waiter];
      if (canceller && this.watchedWriter !== canceller) {
        // One wake-up per writer and stream; outputs have one live writer (the attempt).
        this.watchedWriter = canceller;
        canceller.onCancel(() => this.wakeWriters());
      }
    });
  }

  /** How far the slowest cursor is behind the newest message. */
  private lag(): number {
    const cursors = this.cursors;
    let slowest = this.nextOffset;
    for (let i = 0; i < cursors.length; i++) if (cursors[i]!.position < slowest) slowest = cursors[i]!.position;
    return this.nextOffset - slowest;
  }

  /** @internal Opens a cursor at `position` (at least the oldest kept message). */
  openCursor(position: number): Cursor {
    const cursor = { position: Math.max(position, this.baseOffset) };
    this.cursors = this.cursors.length === 0 ? [cursor] : [...this.cursors, cursor];
    return cursor;
  }

  /** @internal */
  closeCursor(cursor: Cursor): void {
    if (!this.cursors.includes(cursor)) return;
    this.cursors = this.cursors.length === 1 ? NO_CURSORS : this.cursors.filter((open) => open !== cursor);
    this.afterAdvance();
  }

  /** @internal Moves a cursor forward (never back) and releases writers and memory. */
  advance(cursor: Cursor, position: number): void {
    if (position <= cursor.position) return;
    cursor.position = position;
    this.afterAdvance();
  }

  private afterAdvance(): void {
    this.trim();
    if (this.spaceWaiters !== undefined && this.lag() <= this.resumeLag) this.wakeWriters();
  }

  /**
   * @internal The first kept message at or after `offset` (as `deliver`
   * gives it), waiting for one; `cursor` (a reader's) moves past it as it is
   * given. Resolves `undefined` at a normal end, rejects with the stream's
   * error or the canceller's reason once it fires.
   */
  read(offset: number, canceller?: WaitCanceller, cursor?: Cursor): Promise<StreamMessage | undefined> {
    if (canceller?.cancelled) return Promise.reject(canceller.cancelReason);
    const message = this.at(offset);
    if (message) return Promise.resolve(this.give(message, cursor));
    if (this.closed) return this.closed.error !== undefined ? Promise.reject(this.failure()) : ENDED;
    if (canceller) this.watch(canceller);
    // One promise per wait: the waiter takes the message itself when it comes (no continuation).
    return new Promise((resolve, reject) => this.waitForData(new PendingRead(this, offset, canceller, cursor, resolve, reject)));
  }

  /** @internal Gives `message` to a read: moves `cursor` (a reader's) past it, and delivers it. */
  give(message: StreamMessage, cursor: Cursor | undefined): StreamMessage {
    if (cursor) this.advance(cursor, message.offset + 1);
    return this.deliver(message);
  }

  /** Wakes this stream's readers when `canceller` fires: one wake-up per canceller, not per read. */
  private watch(canceller: WaitCanceller): void {
    // One attempt at a time reads an input: remembering the last canceller suffices.
    if (this.watchedReader === canceller) return;
    this.watchedReader = canceller;
    canceller.onCancel(() => this.wakeReaders());
  }

  /** @internal Calls `wake` once a message at or after `offset` is there, the stream closed, or `canceller` fired (see `StreamReader.whenReady`). */
  whenReady(offset: number, wake: () => void, canceller?: WaitCanceller): void {
    if (this.closed !== undefined || canceller?.cancelled || this.at(offset) !== undefined) return wake();
    if (canceller) this.watch(canceller);
    if (this.readyWaker === undefined) this.readyWaker = wake;
    else (this.readyWakers ??= []).push(wake);
  }

  private waitForData(pending: PendingRead): void {
    if (this.readWaiters) this.readWaiters.push(pending);
    else this.readWaiters = [pending];
  }

  private wakeReaders(): void {
    const waker = this.readyWaker;
    if (waker !== undefined) {
      // Every waiting reader is at the end of the stream: whatever woke one wakes them all.
      const wakers = this.readyWakers;
      this.readyWaker = undefined;
      this.readyWakers = undefined;
      waker();
      if (wakers) for (const wake of wakers) wake();
    }
    const waiters = this.readWaiters;
    if (!waiters) return;
    this.readWaiters = undefined;
    for (const pending of waiters) if (!pending.settle()) this.waitForData(pending);
  }

  /** Settles the writers that can go on: room (or the stream closed) resolves, a fired canceller rejects; the others wait on. */
  private wakeWriters(): void {
    const waiters = this.spaceWaiters;
    if (!waiters) return;
    this.spaceWaiters = undefined;
    const room = this.closed !== undefined || this.lag() <= this.resumeLag;
    for (const waiter of waiters) {
      if (waiter.canceller?.cancelled) waiter.reject(waiter.canceller.cancelReason);
      else if (room) waiter.resolve();
      else (this.spaceWaiters ??= []).push(waiter);
    }
  }

  /** Drops messages no cursor needs and the history limit does not keep. */
  private trim(): void {
    let keepFrom = this.nextOffset - this.historyLimit;
    // Runs per message (append, advance): most calls have nothing to drop.
    if (keepFrom <= this.baseOffset) return;
    const cursors = this.cursors;
    for (let i = 0; i < cursors.length; i++) if (cursors[i]!.position < keepFrom) keepFrom = cursors[i]!.position;
    if (keepFrom <= this.baseOffset) return;
    this.dropBefore(keepFrom);
  }
}

/** A reader with its own cursor. */
class MemoryReader implements StreamReader {
  constructor(
    private readonly stream: MemoryJobStream,
    private readonly cursor: Cursor,
  ) {}

  nextNow(): StreamMessage | undefined {
    const message = this.stream.at(this.cursor.position);
    if (message) this.stream.advance(this.cursor, message.offset + 1);
    return this.stream.deliver(message);
  }

  next(canceller?: WaitCanceller): Promise<StreamMessage | undefined> {
    return this.stream.read(this.cursor.position, canceller, this.cursor);
  }

  whenReady(wake: () => void, canceller?: WaitCanceller): void {
    this.stream.whenReady(this.cursor.position, wake, canceller);
  }

  close(): void {
    this.stream.closeCursor(this.cursor);
  }
}

/** The consumer of an input: hands out from the first unacknowledged message. */
export class MemoryConsumer implements StreamConsumer {
  /** The next offset to hand out. */
  private position: number;

  constructor(
    private readonly stream: MemoryJobStream,
    acknowledged: Cursor,
    private readonly guard: WriteGuard | undefined,
  ) {
    this.position = acknowledged.position;
  }

  peekNow(): StreamMessage | undefined {
    return this.stream.deliver(this.stream.at(this.position));
  }

  peek(canceller?: WaitCanceller): Promise<StreamMessage | undefined> {
    return this.stream.read(this.position, canceller);
  }

  take(message: StreamMessage): void {
    this.position = message.offset + 1;
  }

  ack(): void {
    this.guard?.assertLive();
    this.stream.acknowledge(this.position);
  }

  /** @internal Acknowledges what was taken, without the guard's check (`MemoryStreamStore.commit` made it). */
  acknowledgeTaken(): void {
    this.stream.acknowledge(this.position);
  }

  close(): void {}
}

/** A writer waiting for room. */
interface SpaceWaiter {
  readonly canceller: WaitCanceller | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** One read waiting for data (or for its canceller). Settles at most once. */
class PendingRead {
  private settled = false;

  constructor(
    private readonly stream: MemoryJobStream,
    private readonly offset: number,
    private readonly canceller: WaitCanceller | undefined,
    private readonly cursor: Cursor | undefined,
    private readonly resolve: (message: StreamMessage | undefined) => void,
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
    const message = this.stream.at(this.offset);
    const closed = this.stream.closed;
    if (!message && !closed) return false;
    this.settled = true;
    if (message) this.give(message);
    else if (closed!.error !== undefined) this.reject(this.stream.failure());
    else this.resolve(undefined);
    return true;
  }

  /** Runs inside the writer's append: a copy that throws (it cannot: the stored message is a copy already) rejects this read only. */
  private give(message: StreamMessage): void {
    try {
      this.resolve(this.stream.give(message, this.cursor));
    } catch (error) {
      this.reject(error);
    }
  }
}
