import type { StreamKey, StreamOptions, StreamStore } from "../backend/Backend.js";
import { encodeError } from "./codec.js";
import type { RedisContext } from "./context.js";
import { RedisJobStream } from "./RedisJobStream.js";

/** Job streams in Redis; this process keeps one handle per stream it opened, until `dispose`. */
export class RedisStreamStore implements StreamStore {
  private readonly jobs = new Map<string, RedisJobStream[]>();

  constructor(private readonly ctx: RedisContext) {}

  open(key: StreamKey, options: StreamOptions): RedisJobStream {
    let streams = this.jobs.get(key.jobId);
    if (!streams) this.jobs.set(key.jobId, (streams = []));
    const known = streams.findIndex((stream) => stream.key.role === key.role && stream.key.node === key.node && stream.key.tag === key.tag);
    if (known >= 0) {
      const stream = streams[known]!;
      // A stream this process saw end is not handed out again: its job may be over elsewhere and its id reused
      // (a new job of the id starts with open streams). Who holds the old handle keeps it; a new one reads Redis.
      if (!stream.closed) return stream;
      stream.dispose();
      streams.splice(known, 1);
    }
    const stream = new RedisJobStream(this.ctx, key, options);
    if (this.fresh.has(key.jobId)) stream.assumeEmpty();
    streams.push(stream);
    return stream;
  }

  endAll(jobId: string, reason: string, error?: unknown): void {
    for (const stream of this.jobs.get(jobId) ?? []) {
      if (error === undefined) stream.end(reason);
      else stream.fail(error, reason);
    }
    // Streams other processes wrote to, which this one never opened.
    const { client, keys, writes } = this.ctx;
    const errorBytes = error === undefined ? Buffer.alloc(0) : encodeError(error);
    // Behind the fence when this process runs the job: a stale runtime ends nothing.
    const token = this.ctx.tokens.get(jobId) ?? "";
    writes.push(() => {
      client.lwEndAll(keys.job(jobId), keys.channel(jobId), keys.streamPrefix(jobId), error === undefined ? "e" : "f", reason, errorBytes, token).then(
        (applied) => {
          if (Number(applied) === -1) this.ctx.fenced(jobId);
        },
        (failure: unknown) => this.ctx.report(`ending the streams of job "${jobId}"`, failure),
      );
    });
  }

  /** Jobs this process stored and has not forgotten: their streams start empty. */
  private readonly fresh = new Set<string>();

  /** This process just stored the job: its streams (open or opened later here) start empty. */
  markFresh(jobId: string): void {
    this.fresh.add(jobId);
    for (const stream of this.jobs.get(jobId) ?? []) stream.assumeEmpty();
  }

  /** Redis lost the job's data: its streams here refuse writes and end their cursors with `error`. Returns how many were not closed yet. */
  lost(jobId: string, error: Error): number {
    let open = 0;
    for (const stream of this.jobs.get(jobId) ?? []) if (stream.learnLost(error)) open++;
    return open;
  }

  /** Wakes every cursor waiting on a stream of this process (the backend closes). */
  wakeAll(): void {
    for (const streams of this.jobs.values()) for (const stream of streams) stream.changes.bump();
  }

  dispose(jobId: string): void {
    this.fresh.delete(jobId);
    for (const stream of this.jobs.get(jobId) ?? []) stream.dispose();
    this.jobs.delete(jobId);
  }
}
