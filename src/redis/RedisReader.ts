import { randomUUID } from "node:crypto";
import type { StreamMessage, StreamReader, WaitCanceller } from "../backend/Backend.js";
import { EntryBuffer } from "./EntryBuffer.js";
import { offsetOf, parseEntries } from "./entries.js";
import type { StreamHandle } from "./streamHandle.js";

/** Entries one read asks for. */
const BATCH = 512;

/**
 * A reader of a Redis job stream with its own cursor (the id of the last
 * entry read). An output's reader pins its position from the moment it is
 * opened until it is closed (writers wait for it, and the stream keeps what
 * it has not read), on a lease of `readerLeaseMs` renewed while it is open:
 * a reader of a process that died stops pinning.
 */
export class RedisReader extends EntryBuffer implements StreamReader {
  /** The id of the last entry read (`<count>-0`); set once the reader is open. */
  private after = "0-0";
  private position = 0;
  private closed = false;
  private readonly readerId: string;
  /** Renews the pin while the reader is open (a reader busy with what it read may not fetch for a while). */
  private renewal: NodeJS.Timeout | undefined;

  /** Settles once the reader knows where it starts (and, pinning, holds its position). */
  private readonly opening: Promise<void>;

  constructor(stream: StreamHandle, from: "oldest" | "live", pin: boolean) {
    super(stream);
    this.readerId = pin ? randomUUID() : "";
    if (pin) stream.ctx.openReaders.add(this);
    this.opening = this.open(from);
    // A failure to open shows in the first read, which waits for it.
    this.opening.catch(() => {});
  }

  /**
   * Asks Redis where the reader starts, in order with this process's writes:
   * it sees every append called before it was opened and none called after
   * (a live reader starts at the next message appended, as in memory). A
   * pinning reader holds its position from now on, not from its first read:
   * writers wait for it, and the stream keeps what it has not read.
   */
  private async open(from: "oldest" | "live"): Promise<void> {
    const { ctx, streamKey, jobKey, suffix } = this.stream;
    const open = () => ctx.client.lwOpenReader(jobKey, streamKey, `${streamKey}/cursors`, `${streamKey}/leases`, suffix, from, this.readerId, Date.now() + ctx.readerLeaseMs);
    const [start, position] = (await ctx.answer(ctx.writes.afterWrites(open))) as [number, number];
    this.after = `${start}-0`;
    this.position = Number(position);
    this.reported = this.position;
    this.renew();
  }

  nextNow(): StreamMessage | undefined {
    const message = this.head();
    if (message) this.take();
    return message;
  }

  async next(canceller?: WaitCanceller): Promise<StreamMessage | undefined> {
    const message = this.head() ?? (await this.waitForMessage(canceller));
    if (message) this.take();
    // At the end, Redis knows how far this reader read before it says so: a reader opened next finds the history trimmed.
    else while (this.reporting) await this.inFlight;
    return message;
  }

  /** Moves past the message at the head of the buffer. */
  private take(): void {
    const entry = this.buffer.shift();
    if (entry?.kind !== "message") return;
    this.position = entry.message.offset + 1;
    this.report();
  }

  /**
   * Tells Redis how far this reader has read, one call in flight at a time
   * (the last position wins): a writer waiting for this reader goes on as
   * soon as it read, not once it read everything it holds and fetched again,
   * and what no reader needs any more is dropped.
   */
  private report(): void {
    if (this.readerId === "" || this.reporting || this.closed || this.position <= this.reported) return;
    this.reporting = true;
    const position = this.position;
    const { ctx, streamKey, jobKey, channel, suffix, options } = this.stream;
    this.inFlight = ctx.client
      .lwMoveCursor(jobKey, streamKey, `${streamKey}/cursors`, `${streamKey}/leases`, channel, suffix, this.readerId, position, Date.now() + ctx.readerLeaseMs, options.historyLimit)
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        this.reporting = false;
        this.reported = Math.max(this.reported, position);
        this.report();
      });
  }

  /** The position Redis was last told (by a fetch or a report), and whether a report is under way. */
  private reported = 0;
  private reporting = false;
  private inFlight: Promise<void> | undefined;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewal);
    this.detach();
    this.stream.ctx.openReaders.delete(this);
    if (this.readerId === "") return;
    const { ctx, streamKey } = this.stream;
    const { jobKey, channel, suffix, options } = this.stream;
    ctx.writes.push(() => {
      ctx.client.lwCloseReader(jobKey, streamKey, `${streamKey}/cursors`, `${streamKey}/leases`, channel, suffix, this.readerId, options.historyLimit).catch(() => {});
    });
  }

  /**
   * Keeps the pin alive at half its lease while the reader is open: its
   * position (last fetched) stays pinned however long the reader works on
   * what it holds. Stops once the reader is closed or the stream ended.
   */
  private renew(): void {
    if (this.readerId === "" || this.renewal || this.closed) return;
    const { ctx, streamKey } = this.stream;
    this.renewal = setInterval(() => {
      if (this.closed || this.stream.closedHere) {
        clearInterval(this.renewal);
        return;
      }
      ctx.client.lwRenewPin(this.stream.jobKey, `${streamKey}/leases`, this.readerId, Date.now() + ctx.readerLeaseMs).catch(() => {});
    }, Math.max(50, Math.floor(ctx.readerLeaseMs / 2)));
    // An open reader alone does not keep the process alive.
    this.renewal.unref();
  }

  /**
   * Entry ids count up by one per stream (`k-0`), so a pinned reader that
   * finds more than one step between the last id it read and the next one
   * lost messages: its pin lapsed (this process did not renew it within
   * `leaseMs`: a blocked event loop, a paused process) and the writer
   * trimmed them. It goes on from the next kept message, as a late reader
   * would, and the env's logger is told what was skipped.
   */
  private noticeGap(after: string, next: string): void {
    if (this.readerId === "" || after === "0-0") return;
    const expected = offsetOf(after) + 1;
    const found = offsetOf(next);
    if (found <= expected) return;
    this.stream.ctx.warn(
      `a reader of ${this.stream.label} skipped ${found - expected} message(s) (offsets ${expected} to ${found - 1}): its position was not renewed within leaseMs (a blocked event loop or a paused process), so the writer dropped them; it goes on at offset ${found}`,
    );
  }

  protected async fetch(): Promise<boolean> {
    const { ctx, streamKey, jobKey, channel } = this.stream;
    await ctx.ready();
    await this.opening;
    const { after, position, readerId } = this;
    const expires = Date.now() + ctx.readerLeaseMs;
    const range = () => ctx.client.lwRangeBuffer(streamKey, `${streamKey}/cursors`, `${streamKey}/leases`, jobKey, channel, after, BATCH, readerId, position, expires, this.stream.suffix);
    const raw = await ctx.answer(ctx.writes.afterWrites(range));
    // The job is gone: the stream is marked lost, and the wait for a message ends with that.
    if (raw === 0) {
      ctx.jobLost(this.stream.key.jobId);
      return false;
    }
    this.reported = Math.max(this.reported, position);
    const entries = parseEntries(raw);
    if (entries.length === 0) return false;
    this.noticeGap(after, entries[0]!.id);
    this.after = entries[entries.length - 1]!.id;
    this.buffer.push(...entries);
    return true;
  }
}
