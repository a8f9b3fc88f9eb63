import { streamLabel } from "../backend/streamLabel.js";
import { StreamClosedError } from "../errors.js";
import { APPENDED, type JobStream, type StreamConsumer, type StreamKey, type StreamMessage, type StreamOptions, type StreamReader, type WriteGuard } from "../backend/Backend.js";
import { decode, encode, encodeError } from "./codec.js";
import { ChangeSignal } from "./ChangeSignal.js";
import type { RedisContext } from "./context.js";
import { RedisKeys } from "./keys.js";
import { RedisConsumer } from "./RedisConsumer.js";
import { RedisReader } from "./RedisReader.js";
import type { StreamHandle } from "./streamHandle.js";

/** `|`: a channel message `<kind>|<suffix>` concerns one stream of the job. */
const BAR = 0x7c;

/** One queued append: its bytes and timestamp. */
interface PendingAppend {
  bytes: Buffer;
  timestamp: number;
  /** Its number among this process's appends to the stream (from 1). */
  seq: number;
}

/**
 * A job stream in Redis, as this process sees it: appends are queued and
 * sent at the end of the step (one script call per run of appends), readers
 * and the input's consumer read with their own cursors, and a notification
 * on the job's channel wakes whoever waits. `closed` is what this process
 * knows: set when it ended the stream, or read its end.
 */
export class RedisJobStream implements JobStream, StreamHandle {
  closed: { error?: unknown; reason: string } | undefined;
  /** Set once Redis lost the job's data (see `learnLost`). */
  lost: Error | undefined;
  readonly suffix: string;
  readonly streamKey: string;
  readonly jobKey: string;
  readonly channel: string;
  /** Notifications of this job's channel (data, acknowledgements). */
  readonly changes = new ChangeSignal();
  private labelText: string | undefined;
  /** The lag Redis last reported (see `lwAppend`), and appends sent or queued since. */
  private lag = 0;
  /** False until Redis told this process the lag: another process may have filled the stream already. */
  private lagKnown = false;
  /**
   * This process's appends to the stream so far, the last one sent, and the
   * one `lag` was measured right after: the append numbered `s` has
   * `lag + (s - lagAt) - 1` unread (or unacknowledged) messages ahead of it.
   */
  private seq = 0;
  private sentSeq = 0;
  private lagAt = 0;
  private spaceWaiters: Array<{ seq: number; guard: WriteGuard | undefined; resolve: () => void; reject: (error: unknown) => void }> = [];
  private measuring = false;
  private unwatch: (() => void) | undefined;
  private watchReady: Promise<void> | undefined;
  private readonly batchOptions: { readonly group: string };
  /**
   * Batch owner of the appends made under a fencing token: appends of two
   * tokens (a stale run and the run that took the job over, in one
   * process) or with and without one never share a script call.
   */
  private fencedOwner = { token: "" };

  constructor(
    readonly ctx: RedisContext,
    readonly key: StreamKey,
    readonly options: StreamOptions,
  ) {
    this.suffix = RedisKeys.suffix(key);
    this.streamKey = ctx.keys.stream(key.jobId, this.suffix);
    this.jobKey = ctx.keys.job(key.jobId);
    this.channel = ctx.keys.channel(key.jobId);
    // The streams of this job and direction keep the order of their appends among themselves (`input.merge`).
    this.batchOptions = { group: `${this.jobKey}|${key.role}` };
  }

  get label(): string {
    return (this.labelText ??= streamLabel(this.key));
  }

  /** Subscribes to the job's channel (once); resolves when subscribed, so no notification after it is missed. */
  watching(): Promise<void> {
    if (!this.watchReady) {
      const watch = this.ctx.notifier.watch(this.channel, (message) => {
        // `d|<suffix>` (data, an end) and `a|<suffix>` (room) name their stream: another stream's news wakes nobody here.
        if (message.charCodeAt(1) === BAR && message.slice(2) !== this.suffix) return;
        this.changes.bump();
        if (this.spaceWaiters.length > 0) this.measure();
      });
      this.unwatch = watch.stop;
      this.watchReady = watch.ready;
    }
    return this.watchReady;
  }

  get closedHere(): boolean {
    return this.closed !== undefined;
  }

  /**
   * The store forgot the job: stop listening to its channel once nothing of
   * this process waits on it: the stream is closed, or no cursor is open and
   * no writer waits for room. A reader still open keeps it (it may wait for
   * the end); one waiting for an end this process queued needs no
   * notification (closing woke it; its next read comes after the end marker).
   */
  dispose(): void {
    this.disposed = true;
    this.stopWhenUnused();
  }

  private disposed = false;
  /** Cursors of this process open on the stream. */
  private cursors = 0;

  attach(): void {
    this.cursors++;
  }

  detach(): void {
    this.cursors--;
    this.stopWhenUnused();
  }

  private stopWhenUnused(): void {
    if (this.disposed && (this.closed !== undefined || (this.cursors <= 0 && this.spaceWaiters.length === 0))) this.stopWatching();
  }

  private stopWatching(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.watchReady = undefined;
  }

  append(data: unknown, guard?: WriteGuard): Promise<void> {
    if (this.closed) throw this.closedError();
    guard?.assertLive();
    const item: PendingAppend = { bytes: encode(data, `the message for ${this.label}`), timestamp: this.options.now ? this.options.now() : 0, seq: 0 };
    const seq = ++this.seq;
    item.seq = seq;
    const token = guard ? (this.ctx.tokens.get(this.key.jobId) ?? "") : "";
    if (token !== "" && this.fencedOwner.token !== token) this.fencedOwner = { token };
    this.ctx.writes.batch(token === "" ? this : this.fencedOwner, item, (items) => this.sendAppends(items, token), this.batchOptions);
    // The first write of this process waits for Redis's answer: the room left is not known before (backpressure across processes).
    return this.hasRoom(seq) ? APPENDED : this.waitForSpace(seq, guard);
  }

  end(reason: string): void {
    this.mark(reason, undefined);
  }

  fail(error: unknown, reason: string): void {
    this.mark(reason, { error });
  }

  reader(from: "oldest" | "live" = "oldest"): StreamReader {
    return new RedisReader(this, from, this.key.role === "output");
  }

  consumer(guard?: WriteGuard): StreamConsumer {
    if (this.key.role !== "input") throw new Error(`internal: ${this.label} is not an input`);
    return new RedisConsumer(this, guard);
  }

  async last(): Promise<StreamMessage | undefined> {
    await this.ctx.ready();
    // In order with this process's writes: it sees every append called before it.
    const [data, timestamp, offset, order] = await this.ctx.answer(
      this.ctx.writes.afterWrites(() => this.ctx.client.hmgetBuffer(this.jobKey, `l:${this.suffix}`, `lt:${this.suffix}`, `lo:${this.suffix}`, `lr:${this.suffix}`)),
    );
    if (!data) return undefined;
    return { data: decode(data), timestamp: Number(timestamp?.toString() ?? 0), offset: Number(offset?.toString() ?? 0), order: Number(order?.toString() ?? 0) };
  }

  /** @internal This process learned that the stream ended (a marker read, or a write refused). */
  learnClosed(reason: string, error?: unknown): void {
    if (this.closed) return;
    this.closed = error === undefined ? { reason } : { error, reason };
    this.changes.bump();
    this.settleWriters();
    this.stopWhenUnused();
  }

  /**
   * @internal Redis lost the job's data: the stream is closed with `error`
   * (writes, and writers waiting for room, get a `StreamClosedError` whose
   * cause it is; cursors end with it). False when it was closed already.
   */
  learnLost(error: Error): boolean {
    if (this.lost) return false;
    this.lost = error;
    const wasOpen = this.closed === undefined;
    this.closed = { error, reason: error.message };
    this.changes.bump();
    this.settleWriters();
    this.stopWhenUnused();
    return wasOpen;
  }

  private closedError(): StreamClosedError {
    return new StreamClosedError(`Cannot write to ${this.label}: ${this.closed!.reason}`, this.lost ? { cause: this.lost } : undefined);
  }

  private mark(reason: string, failure: { error: unknown } | undefined): void {
    if (this.closed) return;
    this.closed = failure ? { error: failure.error, reason } : { reason };
    const errorBytes = failure ? encodeError(failure.error) : Buffer.alloc(0);
    // Outputs are ended by the job's runtime: behind the fence, like their appends (a client ends only inputs).
    const token = this.key.role === "output" ? (this.ctx.tokens.get(this.key.jobId) ?? "") : "";
    this.ctx.writes.push(() => {
      this.ctx.client.lwMark(this.jobKey, this.streamKey, this.channel, this.suffix, failure ? "f" : "e", reason, errorBytes, token).then(
        (applied) => {
          if (Number(applied) === -1) this.ctx.fenced(this.key.jobId);
          else if (Number(applied) === -2) this.ctx.jobLost(this.key.jobId);
        },
        (error: unknown) => this.ctx.report(`ending ${this.label}`, error),
      );
    });
    this.changes.bump();
    this.settleWriters();
  }

  private sendAppends(items: PendingAppend[], token: string): void {
    const args: Array<string | number | Buffer> = [this.suffix, token, this.key.role === "input" ? -1 : this.options.historyLimit, Date.now()];
    for (const item of items) args.push(item.timestamp, item.bytes);
    const last = items[items.length - 1]!.seq;
    this.sentSeq = last;
    this.ctx.client
      .lwAppend(this.jobKey, this.streamKey, `${this.streamKey}/cursors`, `${this.streamKey}/leases`, this.channel, ...args)
      .then(
        (reply) => this.answered(reply as [string, number], last),
        (error: unknown) => this.ctx.report(`writing to ${this.label}`, error),
      );
  }

  /** What `lwAppend` answered: the lag, or why nothing was written. */
  private answered([status, lag]: [string, number], at: number): void {
    if (status === "ok") {
      // Replies come in the order sent; a measurement taken before later appends were sent says nothing newer.
      if (at >= this.lagAt) {
        this.lag = Number(lag);
        this.lagAt = at;
        this.lagKnown = true;
      }
      this.settleWriters();
      return;
    }
    if (status === "fenced") {
      this.ctx.fenced(this.key.jobId);
      return;
    }
    if (status === "gone") this.ctx.jobLost(this.key.jobId);
    else if (status === "closed") this.learnClosed("the stream was ended");
  }

  /**
   * The job was just stored by this process: the stream is empty, so its
   * first writes need not wait for Redis to say how full it is. Nothing
   * changes once this process wrote to it.
   */
  assumeEmpty(): void {
    if (this.lagKnown || this.seq > 0) return;
    this.lag = 0;
    this.lagAt = 0;
    this.lagKnown = true;
  }

  /**
   * Whether this process's append number `seq` may go on: fewer than
   * `highWaterMark` messages ahead of it are unread (outputs) or
   * unacknowledged (inputs). Unknown before Redis first answered: a process
   * that never wrote to the stream does not know what others wrote.
   */
  private hasRoom(seq: number): boolean {
    return this.lagKnown && this.lag + (seq - this.lagAt) < this.options.highWaterMark;
  }

  private waitForSpace(seq: number, guard: WriteGuard | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.spaceWaiters.push({ seq, guard, resolve, reject });
      void this.watching().then(() => this.measure());
      guard?.onCancel(() => this.settleWriters());
      this.pollSpace();
    });
  }

  /** While writers wait, looks at the lag now and then (a notification may be lost). */
  private pollSpace(): void {
    const timer = setTimeout(() => {
      if (this.spaceWaiters.length === 0) return;
      this.measure();
      this.pollSpace();
    }, this.ctx.pollMs);
    timer.unref?.();
  }

  /**
   * Asks Redis for the lag (an append of nothing), then settles the writers
   * that can go on. Asked again while a measurement is on its way (a reader
   * moved meanwhile), it measures once more after it: the answer on its way
   * may predate that move, and the writers would sleep until the next poll.
   */
  private measure(): void {
    if (this.measuring) {
      this.measureAgain = true;
      return;
    }
    this.measuring = true;
    const at = this.sentSeq;
    const done = () => {
      this.measuring = false;
      if (!this.measureAgain) return;
      this.measureAgain = false;
      if (this.spaceWaiters.length > 0) this.measure();
    };
    this.ctx.client
      .lwAppend(this.jobKey, this.streamKey, `${this.streamKey}/cursors`, `${this.streamKey}/leases`, this.channel, this.suffix, "", this.key.role === "input" ? -1 : this.options.historyLimit, Date.now())
      .then(
        (reply) => {
          this.answered(reply as [string, number], at);
          done();
        },
        done,
      );
  }

  private measureAgain = false;

  private settleWriters(): void {
    if (this.spaceWaiters.length === 0) return;
    const waiting = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const waiter of waiting) {
      if (waiter.guard?.cancelled) waiter.reject(waiter.guard.cancelReason);
      else if (this.lost) waiter.reject(this.closedError());
      else if (this.closed !== undefined || this.hasRoom(waiter.seq)) waiter.resolve();
      else this.spaceWaiters.push(waiter);
    }
  }
}
