import type { StreamKey, StreamOptions, StreamStore } from "../Backend.js";
import { MemoryJobStream } from "./MemoryJobStream.js";

/** Keeps each job's streams in memory, from first open until `dispose`. */
export class MemoryStreamStore implements StreamStore {
  private readonly jobs = new Map<string, Map<string, MemoryJobStream>>();

  /** @param copy copies each message's data and checkpoint on the way in (copying mode). */
  constructor(
    private readonly copy: ((data: unknown) => unknown) | undefined,
  ) {}

  open(key: StreamKey, options: StreamOptions): MemoryJobStream {
    let streams = this.jobs.get(key.jobId);
    if (!streams) this.jobs.set(key.jobId, (streams = new Map()));
    // `/` separates: no node key or tag may contain it.
    const id = `${key.role}/${key.node}/${key.tag}`;
    let stream = streams.get(id);
    if (!stream) streams.set(id, (stream = new MemoryJobStream(key, { ...options, copy: this.copy })));
    return stream;
  }

  endAll(jobId: string, reason: string, error?: unknown): void {
    for (const stream of this.jobs.get(jobId)?.values() ?? []) {
      if (error === undefined) stream.end(reason);
      else stream.fail(error, reason);
    }
  }

  dispose(jobId: string): void {
    this.jobs.delete(jobId);
  }
}
