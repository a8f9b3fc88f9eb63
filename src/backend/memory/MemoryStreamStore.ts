import type { JobStates, StreamConsumer, StreamKey, StreamOptions, StreamStore, WriteGuard } from "../Backend.js";
import { MemoryConsumer, MemoryJobStream } from "./MemoryJobStream.js";

/** Keeps each job's streams and its workers' committed states in memory, from first open until `dispose`. */
export class MemoryStreamStore implements StreamStore {
  /** Per job, its streams: a handful each, so a short array scanned by key beats a Map (and its table) per job. */
  private readonly jobs = new Map<string, MemoryJobStream[]>();
  /** Per job with a stateful worker or a handle that asked: its committed node states. */
  private readonly jobStates = new Map<string, MemoryJobStates>();

  /**
   * @param copy copies each message's data and committed state on the way in and out (copying mode).
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
    this.jobStates.delete(jobId);
  }

  /** One synchronous step: the copy (which may refuse the state) first, so a refusal commits nothing. */
  commit(jobId: string, node: string, consumers: readonly StreamConsumer[], state: unknown, guard?: WriteGuard): void {
    guard?.assertLive();
    const kept = this.copy ? this.copy(state, `the state of worker "${node}" of job "${jobId}"`) : state;
    for (const consumer of consumers) (consumer as MemoryConsumer).acknowledgeTaken();
    (this.states(jobId).committed ??= new Map()).set(node, kept);
  }

  states(jobId: string): MemoryJobStates {
    let states = this.jobStates.get(jobId);
    if (!states) this.jobStates.set(jobId, (states = new MemoryJobStates(jobId, this.copy)));
    return states;
  }
}

/** One job's committed node states; its handles keep it after the store disposed of the job. */
class MemoryJobStates implements JobStates {
  /** Node key → committed state; made at the first commit (most jobs keep no state). */
  committed: Map<string, unknown> | undefined;

  constructor(
    private readonly jobId: string,
    private readonly copy: ((data: unknown, where: string) => unknown) | undefined,
  ) {}

  read(node: string): Promise<unknown> {
    const state = this.committed?.get(node);
    return Promise.resolve(this.copy && state !== undefined ? this.copy(state, `the state of worker "${node}" of job "${this.jobId}"`) : state);
  }
}
