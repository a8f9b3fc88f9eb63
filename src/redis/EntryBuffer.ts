import type { StreamMessage, WaitCanceller } from "../backend/Backend.js";
import { EnvClosedError } from "../errors.js";
import type { StreamEntry } from "./entries.js";
import type { StreamHandle } from "./streamHandle.js";

/**
 * Entries of one job stream read ahead, for one cursor (a reader, or the
 * input's consumer): the next message is handed out of the buffer; when it
 * is empty, `fetch` reads more, and between reads the cursor sleeps until
 * the job's channel tells of a change (or `pollMs` passed). An end or
 * failure marker ends the cursor for good.
 */
export abstract class EntryBuffer {
  protected buffer: StreamEntry[] = [];
  private ended: { error?: unknown; failed: boolean } | undefined;
  private subscribed = false;

  constructor(protected readonly stream: StreamHandle) {
    stream.attach();
  }

  private detached = false;

  /** This cursor no longer waits on the job's channel (it read the end, or it is closed). */
  protected detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.stream.detach();
  }

  /** The next message if it is read already (not taken). */
  protected head(): StreamMessage | undefined {
    const entry = this.buffer[0];
    return entry?.kind === "message" ? entry.message : undefined;
  }

  /**
   * Waits for the next message (not taken) or the end (`undefined`); rejects
   * with a failed stream's error, or the canceller's reason once it fires.
   */
  protected async waitForMessage(canceller?: WaitCanceller): Promise<StreamMessage | undefined> {
    for (;;) {
      const entry = this.buffer[0];
      if (entry?.kind === "message") return entry.message;
      if (entry) this.endWith(entry);
      if (this.ended) {
        if (this.ended.failed) throw this.ended.error;
        return undefined;
      }
      if (canceller?.cancelled) throw canceller.cancelReason;
      // The job's data is gone: nothing more will come (its end marker neither).
      if (this.stream.lost) throw this.stream.lost;
      if (this.stream.ctx.closed) throw new EnvClosedError(`Cannot read ${this.stream.label}: its env closed (the job may run on in another process)`);
      if (!this.subscribed) {
        // Subscribed before the first read: a change after that read wakes this cursor. Usually at once,
        // since the job's handle (its ticket) follows the same channel already.
        await this.stream.watching();
        this.subscribed = true;
      }
      const since = this.stream.changes.version;
      const nudged = new Promise<void>((resolve) => (this.nudge = resolve));
      if (await this.read()) continue;
      await Promise.race([this.stream.changes.wait(since, this.stream.ctx.pollMs, canceller), nudged]);
    }
  }

  /** Wakes a wait in `waitForMessage` (a read of its own brought entries). */
  private nudge: (() => void) | undefined;
  private reading: Promise<unknown> = Promise.resolve();

  /** Reads the next entries into the buffer, one read at a time; false when there were none. */
  protected read(): Promise<boolean> {
    const next = this.reading.then(
      () => this.fetch(),
      () => this.fetch(),
    );
    this.reading = next.catch(() => {});
    return next;
  }

  /** Reads now (after any read under way), waking a wait for a message when entries came. */
  protected async readNow(): Promise<void> {
    if (await this.read()) this.nudge?.();
  }

  /** Reads the next entries into the buffer; false when there were none. Called through `read`, one at a time. */
  protected abstract fetch(): Promise<boolean>;

  private endWith(entry: StreamEntry): void {
    if (entry.kind === "message") return;
    this.buffer.shift();
    this.ended = entry.kind === "fail" ? { error: entry.error, failed: true } : { failed: false };
    this.stream.learnClosed(entry.reason, entry.kind === "fail" ? entry.error : undefined);
    this.detach();
  }

}
