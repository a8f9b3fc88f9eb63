import { randomUUID } from "node:crypto";
import type { StreamMessage, StreamReader, WaitCanceller } from "../backend/Backend.js";
import { EntryBuffer } from "./EntryBuffer.js";
import { offsetOf, parseEntries } from "./entries.js";
import type { StreamHandle } from "./streamHandle.js";

/** Entries one read asks for. */
const BATCH = 512;

/**
 * A reader of a Redis job stream with its own cursor (the id of the last
 * entry read). An output's reader pins its position while open (writers wait
 * for it, and the stream keeps what it has not read) for `readerLeaseMs`
 * after its last read: a reader of a process that died stops pinning.
 */
export class RedisReader extends EntryBuffer implements StreamReader {
  private after: string | undefined;
  private position = 0;
  private closed = false;
  private readonly readerId: string;
  /** Renews the pin while the reader is open (a reader busy with what it read may not fetch for a while). */
  private renewal: NodeJS.Timeout | undefined;

  constructor(stream: StreamHandle, from: "oldest" | "live", pin: boolean) {
    super(stream);
    this.readerId = pin ? randomUUID() : "";
    if (from === "oldest") this.after = "0-0";
  }

  nextNow(): StreamMessage | undefined {
    const message = this.head();
    if (message) this.take();
    return message;
  }

  async next(canceller?: WaitCanceller): Promise<StreamMessage | undefined> {
    const message = this.head() ?? (await this.waitForMessage(canceller));
    if (message) this.take();
    return message;
  }

  /** Moves past the message at the head of the buffer. */
  private take(): void {
    const entry = this.buffer.shift();
    if (entry?.kind === "message") this.position = entry.message.offset + 1;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewal);
    if (this.readerId === "") return;
    const { ctx, streamKey } = this.stream;
    ctx.writes.push(() => {
      ctx.client.zrem(`${streamKey}:cursors`, this.readerId).catch(() => {});
      ctx.client.hdel(`${streamKey}:leases`, this.readerId).catch(() => {});
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
      ctx.client.hset(`${streamKey}:leases`, this.readerId, Date.now() + ctx.readerLeaseMs).catch(() => {});
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
    if (this.after === undefined) {
      // A live reader starts after the newest entry there is now.
      const newest = (await ctx.answer(ctx.writes.afterWrites(() => ctx.client.xrevrange(streamKey, "+", "-", "COUNT", 1)))) as Array<[string, string[]]>;
      this.after = newest[0]?.[0] ?? "0-0";
      return false;
    }
    const { after, position, readerId } = this;
    const expires = Date.now() + ctx.readerLeaseMs;
    const range = () => ctx.client.lwRangeBuffer(streamKey, `${streamKey}:cursors`, `${streamKey}:leases`, jobKey, channel, after, BATCH, readerId, position, expires, this.stream.suffix);
    const raw = await ctx.answer(ctx.writes.afterWrites(range));
    this.renew();
    const entries = parseEntries(raw);
    if (entries.length === 0) return false;
    this.noticeGap(after, entries[0]!.id);
    this.after = entries[entries.length - 1]!.id;
    this.buffer.push(...entries);
    return true;
  }
}
