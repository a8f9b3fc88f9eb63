import type { StreamConsumer, StreamMessage, WaitCanceller, WriteGuard } from "../backend/Backend.js";
import { EntryBuffer } from "./EntryBuffer.js";
import { parseEntries } from "./entries.js";
import type { StreamHandle } from "./streamHandle.js";

/** Entries one read asks for. */
const BATCH = 512;

/** Numbers the consumers' reads in the order they are sent (one connection: the order Redis runs them in). */
let reads = 0;
/** The read that brought each message a consumer handed out (see `catchUp`). */
const readBy = new WeakMap<StreamMessage, number>();
/** Acknowledgements go as late batches: never ahead of the outputs queued before them (at-least-once). */
const LATE = { late: true } as const;
/** Entry ids one acknowledging script call takes at most. */
const ACK_CHUNK = 1_000;

/**
 * The consumer of an input, through the stream's consumer group (`lw`, one
 * consumer `c`: one attempt reads at a time). It first reads what was handed
 * out and not acknowledged (the pending entries: a new attempt, here or in
 * another process, starts there), then new entries. Acknowledging sends
 * `XACK` (and deletes the entries) in one script that checks the job's
 * fencing token; a stateful worker's go with its state (`RedisStreamStore.commit`).
 */
export class RedisConsumer extends EntryBuffer implements StreamConsumer {
  /**
   * The id of the last entry this consumer received (`0` before any). Every
   * read starts after it, never at `>` alone: a read whose reply was lost
   * (the connection dropped; ioredis sends it again once reconnected) handed
   * its entries to the group all the same, and the read sent again finds them
   * among the pending entries after this id, where `>` would skip them.
   */
  private lastId = "0";
  private created = false;
  private taken: string[] = [];
  /** The last read that found no more entries than it returned: this consumer knew the whole input then. */
  private wholeAt = 0;

  constructor(
    stream: StreamHandle,
    private readonly guard: WriteGuard | undefined,
  ) {
    super(stream);
  }

  peekNow(): StreamMessage | undefined {
    return this.head();
  }

  peek(canceller?: WaitCanceller): Promise<StreamMessage | undefined> {
    return this.waitForMessage(canceller);
  }

  /**
   * Messages of one job's inputs carry their arrival `order`, but each input
   * is read on its own: an input whose buffer is empty may hold, in Redis, a
   * message that arrived before `other` (just read from another input of the
   * job). Reads once more unless a read sent after the one that brought
   * `other` found this input whole; undefined when no read is needed.
   */
  catchUp(other: StreamMessage): Promise<void> | undefined {
    if (this.buffer.length > 0) return undefined;
    const broughtBy = readBy.get(other);
    if (broughtBy !== undefined && this.wholeAt > broughtBy) return undefined;
    return this.readNow();
  }

  take(message: StreamMessage): void {
    const head = this.buffer[0];
    if (head?.kind !== "message" || head.message !== message) throw new Error(`internal: take() of a message that is not the next one of ${this.stream.label}`);
    this.buffer.shift();
    this.taken.push(head.id);
  }

  ack(): void {
    this.guard?.assertLive();
    if (this.taken.length === 0) return;
    const ids = this.takenIds();
    // Acks made one after another in a step go in one script call.
    // Late: an acknowledgement never goes ahead of the outputs queued before it (at-least-once).
    // The token of the lease now, as an append takes it: by the time the batch is sent, this process may hold a newer
    // one (it took the job back), and this call's acknowledgement would delete input the new call has not read.
    const token = this.guard ? (this.stream.ctx.tokens.get(this.stream.key.jobId) ?? "") : "";
    this.stream.ctx.writes.batch(this, { ids, token }, (acks) => this.sendAcks(acks), LATE);
  }

  /** @internal The input this consumer reads. */
  get input(): StreamHandle {
    return this.stream;
  }

  /** @internal The ids of the entries taken since the last acknowledgement, which the caller now acknowledges. */
  takenIds(): string[] {
    const ids = this.taken;
    this.taken = [];
    return ids;
  }

  private sendAcks(acks: Array<{ ids: string[]; token: string }>): void {
    const { ctx, jobKey, streamKey, channel, suffix, key } = this.stream;
    // One consumer's acks: one call's, under one lease (a lease lost here fails the call's next ack, in assertLive).
    const token = acks[0]!.token;
    const ids: string[] = [];
    for (const ack of acks) ids.push(...ack.ids);
    // Lua's unpack takes a few thousand arguments at most: long runs go in chunks.
    for (let from = 0; from < ids.length; from += ACK_CHUNK) {
      ctx.client.lwAck(jobKey, streamKey, channel, token, suffix, ...ids.slice(from, from + ACK_CHUNK)).then(
        (applied) => {
          if (Number(applied) === 0) ctx.fenced(key.jobId);
          else if (Number(applied) === -1) ctx.jobLost(key.jobId);
        },
        (error: unknown) => ctx.report(`acknowledging ${this.stream.label}`, error),
      );
    }
  }

  close(): void {
    this.detach();
  }

  /** Reads pending entries first, then new ones; false when there were none. */
  protected async fetch(): Promise<boolean> {
    const { ctx, jobKey, streamKey, suffix, key } = this.stream;
    // A worker's read waits out a Redis outage (the connection retries with backoff; the lease says after it whether
    // the job is still this process's); another's fails with RedisUnavailableError after connectTimeoutMs.
    const waitOut = this.guard !== undefined;
    if (!waitOut) await ctx.ready();
    const from = this.lastId;
    // In order with this process's writes: a consumer that replaces another here reads after its acknowledgements.
    let read = 0;
    const command = ctx.writes.afterWrites(() => {
      read = ++reads;
      const token = this.guard ? (ctx.tokens.get(key.jobId) ?? "") : "";
      return ctx.client.lwConsumeBuffer(jobKey, streamKey, from, BATCH, suffix, this.created ? "0" : "1", token);
    });
    const reply = await (waitOut ? command : ctx.answer(command));
    // The job is gone: the stream is marked lost, and the wait for a message ends with that.
    if (reply === 0) {
      ctx.jobLost(key.jobId);
      return false;
    }
    // A stale holder (another process took the job over) reads nothing: its lease here is lost.
    if (!Array.isArray(reply)) {
      ctx.fenced(key.jobId);
      return false;
    }
    const [raw, pendingDone, cancelReason] = reply as [unknown, number, Buffer | null];
    this.created = true;
    // Cancelled before this read: the job hears of it before it gets what was read (the notification may come later).
    if (cancelReason) ctx.cancelRequested(this.stream.key.jobId, cancelReason.toString());
    const entries = parseEntries(raw);
    if (entries.length > 0) this.lastId = entries[entries.length - 1]!.id;
    if (Number(pendingDone) === 1 && entries.length < BATCH) this.wholeAt = read;
    for (const entry of entries) if (entry.kind === "message") readBy.set(entry.message, read);
    if (entries.length === 0) return false;
    this.buffer.push(...entries);
    return true;
  }
}
