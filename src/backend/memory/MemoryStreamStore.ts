import type { StreamKey, StreamOptions, StreamStore } from "../Backend.js";
import { MemoryJobStream } from "./MemoryJobStream.js";

/** Keeps each job's streams in memory, from first open until `dispose`. */
export class MemoryStreamStore implements StreamStore {
  /** Per job, its streams: a handful each, so a short array scanned by key beats a Map (and its table) per job. */
  private readonly jobs = new Map<string, MemoryJobStream[]>();

  /**
   * @param copy copies each message's data and checkpoint on the way in (copying mode).
   * @param copyError copies a failed stream's error for each reader that throws it (copying mode).
   */
  constructor(
    private readonly copy: ((data: unknown, where: string) => unknown) | undefined,
    private readonly copyError?: (error: unknown) => unknown,
  ) {}

  open(key: StreamKey, options: StreamOptions): MemoryJobStream {
    let streams = this.jobs.get(key.jobId);
    if (!streams) this.jobs.set(key.jobId, (streams = []));
    for (const stream of streams) if (stream.is(key)) return stream;
    const stream = new MemoryJobStream(key, options, this.copy, this.copyError);
    streams.push(stream);
    return stream;
  }

  endAll(jobId: string, reason: string, error?: unknown): void {
    for (const stream of this.jobs.get(jobId) ?? []) {
      if (error === undefined) stream.end(reason);
      else stream.fail(error, reason);
    }
  }

  dispose(jobId: string): void {
    this.jobs.delete(jobId);
  }
}
