import type { JobStates, StreamConsumer, StreamKey, StreamOptions, StreamStore, WriteGuard } from "../backend/Backend.js";
import { decode, encode, encodeError } from "./codec.js";
import type { RedisContext } from "./context.js";
import type { RedisConsumer } from "./RedisConsumer.js";
import { RedisJobStream } from "./RedisJobStream.js";

/** One commit of a stateful worker, as queued: each input's taken ids, and the state's bytes. */
interface Commit {
  readonly token: string;
  readonly inputs: ReadonlyArray<{ readonly consumer: RedisConsumer; readonly ids: string[] }>;
  readonly state: Buffer;
}

/** Commits go as late batches: never ahead of the outputs queued before them (at-least-once output). */
const LATE = { late: true } as const;

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

  /**
   * Queues one `lwCommit` (the fencing token checked, the acknowledgements
   * and the state in one script). Commits of one node made in one turn go in
   * one call: every id they took, with the last state.
   */
  commit(jobId: string, node: string, consumers: readonly StreamConsumer[], state: unknown, guard?: WriteGuard): void {
    guard?.assertLive();
    // Encoded first: a state Redis cannot carry commits nothing (no ids are taken from the consumers).
    const bytes = encode(state, `the state of worker "${node}" of job "${jobId}"`);
    const inputs = (consumers as readonly RedisConsumer[]).map((consumer) => ({ consumer, ids: consumer.takenIds() }));
    const token = guard ? (this.ctx.tokens.get(jobId) ?? "") : "";
    this.ctx.writes.batch(this.committer(jobId, node), { token, inputs, state: bytes }, (commits) => this.sendCommits(jobId, node, commits), LATE);
  }

  /** Per job, per node, the owner of its commit batches (see `WriteQueue.batch`). */
  private readonly committers = new Map<string, Map<string, object>>();

  private committer(jobId: string, node: string): object {
    let nodes = this.committers.get(jobId);
    if (!nodes) this.committers.set(jobId, (nodes = new Map()));
    let owner = nodes.get(node);
    if (!owner) nodes.set(node, (owner = {}));
    return owner;
  }

  private sendCommits(jobId: string, node: string, commits: Commit[]): void {
    const { ctx } = this;
    const ids = new Map<RedisConsumer, string[]>();
    for (const commit of commits) {
      for (const { consumer, ids: taken } of commit.inputs) {
        const known = ids.get(consumer);
        if (known) known.push(...taken);
        else ids.set(consumer, [...taken]);
      }
    }
    const keys = [ctx.keys.job(jobId), ctx.keys.channel(jobId)];
    const args: Array<string | Buffer> = [commits[0]!.token, node, commits[commits.length - 1]!.state];
    for (const [consumer, taken] of ids) {
      keys.push(consumer.input.streamKey);
      args.push(consumer.input.suffix, String(taken.length), ...taken);
    }
    ctx.client.lwCommit(keys.length, ...keys, ...args).then(
      (applied) => {
        if (Number(applied) === 0) ctx.fenced(jobId);
        else if (Number(applied) === -1) ctx.jobLost(jobId);
      },
      (error: unknown) => ctx.report(`committing the state of worker "${node}" of job "${jobId}"`, error),
    );
  }

  states(jobId: string): JobStates {
    const ctx = this.ctx;
    return {
      async read(node: string): Promise<unknown> {
        await ctx.ready();
        const { client, keys, writes } = ctx;
        // After this process's queued writes: a commit called before is seen.
        const bytes = await ctx.answer(writes.afterWrites(() => client.hgetBuffer(keys.job(jobId), `ws:${node}`)));
        return bytes ? decode(bytes) : undefined;
      },
    };
  }

  dispose(jobId: string): void {
    this.committers.delete(jobId);
    this.fresh.delete(jobId);
    for (const stream of this.jobs.get(jobId) ?? []) stream.dispose();
    this.jobs.delete(jobId);
  }
}
