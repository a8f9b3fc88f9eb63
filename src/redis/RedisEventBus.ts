import type { Redis } from "ioredis";
import type { EventBus, JobJournal } from "../backend/Backend.js";
import { isFinalStatus, type LifecycleEvent, type LifecycleListener } from "../backend/events.js";
import { decode, encode } from "./codec.js";
import type { RedisContext } from "./context.js";

/** Events the env's stream keeps (approximately: `MAXLEN ~`). */
export const ENV_EVENTS_LIMIT = 10_000;
/** Events a job's journal keeps for a late subscriber (progress reports coalesced), as in memory. */
export const JOURNAL_LIMIT = 256;
/** Events one script call appends at most. */
const EVENTS_CHUNK = 1_000;
/** How long one blocking read of the event streams waits (ms) before it looks at what it reads again. */
const BLOCK_MS = 1_000;

interface Tail {
  /** The id after which this tail delivers. */
  after: string;
  deliver: (event: LifecycleEvent) => void;
}

/**
 * Lifecycle events in Redis: each event is appended to the env's capped
 * stream (what `subscribe` in any process of the env sees) and to its job's
 * journal (capped at `JOURNAL_LIMIT`, progress kept as a gauge, ended by the
 * final status, expiring with the job), both in one script call per batch of
 * events (`lwEvents`). `job.subscribe` replays the journal, then reads the
 * job's live events from the env's stream. One blocking connection per
 * process tails the streams someone listens to.
 */
export class RedisEventBus implements EventBus {
  /** Stream key → the tails reading it. */
  private readonly tails = new Map<string, Set<Tail>>();
  private running = false;
  private closed = false;
  private blockedId: number | undefined;
  /** The stream entry being delivered to its tails, if any. */
  private delivering: { key: string; id: string } | undefined;

  constructor(
    private readonly ctx: RedisContext,
    private readonly blocking: Redis,
  ) {
    // A reconnected connection has another client id: UNBLOCK of the old one would wake nothing.
    blocking.on("close", () => (this.blockedId = undefined));
  }

  publish(event: LifecycleEvent): void {
    const bytes = encode(event, `the ${event.type} event of job "${event.jobId}"`);
    // Events published one after another go in one script call, in order (a plain write after them closes the batch).
    // The fencing token this process holds the job under, taken now: an event of a stale holder lands nowhere.
    const token = this.ctx.tokens.get(event.jobId) ?? "";
    const item = { jobId: event.jobId, bytes, kind: journalKind(event), worker: event.type === "job.progress" ? event.workerName : "", token };
    this.ctx.writes.batch(this, item, (events) => this.send(events));
  }

  private send(events: Array<{ jobId: string; bytes: Buffer; kind: string; worker: string; token: string }>): void {
    const { client, keys } = this.ctx;
    // A call's arguments stay bounded (Redis holds them all in memory): long runs go in chunks.
    for (let from = 0; from < events.length; from += EVENTS_CHUNK) {
      const chunk = events.slice(from, from + EVENTS_CHUNK);
      const args: Array<string | Buffer | number> = [2 * chunk.length + 1, keys.events];
      for (const event of chunk) args.push(keys.journal(event.jobId), keys.job(event.jobId));
      args.push(ENV_EVENTS_LIMIT, JOURNAL_LIMIT);
      for (const event of chunk) args.push(event.bytes, event.kind, event.worker, event.token);
      client.lwEvents(...args).catch((error: unknown) => this.ctx.report("publishing an event", error));
    }
  }

  subscribe(listener: LifecycleListener, options: { replay?: boolean } = {}): () => void {
    // Replay: from the oldest event the env's stream keeps (about ENV_EVENTS_LIMIT).
    return this.tailFrom(this.ctx.keys.events, options.replay ? "0-0" : "$", listener);
  }

  journal(jobId: string): JobJournal {
    return { subscribe: (listener) => this.journalSubscribe(jobId, listener) };
  }

  dispose(): void {}

  /** Stops tailing (the backend closes). */
  close(): void {
    this.closed = true;
    this.tails.clear();
    this.unblock();
  }

  /**
   * Replays a job's journal, then delivers its live events (read from the
   * env's stream, which has every event, where the journal keeps progress as
   * a gauge) until its final status. The journal and the env stream's newest
   * id are read in one step: `lwEvents` writes both at once, so the live part
   * starts right after the last event replayed.
   */
  private journalSubscribe(jobId: string, listener: LifecycleListener): () => void {
    let stopped = false;
    let stopTail: (() => void) | undefined;
    const deliver = (event: LifecycleEvent) => {
      if (stopped) return;
      listener(event);
      if (event.type === "job.status" && isFinalStatus(event.status)) stop();
    };
    const stop = () => {
      stopped = true;
      stopTail?.();
    };
    const { client, keys, writes } = this.ctx;
    // In the order of this process's writes: what it publishes later comes after what this returns.
    writes
      // A script, not MULTI: ioredis sends a transaction at once, ahead of the (auto-pipelined) writes queued before it.
      .ordered(() => client.lwReplayBuffer(keys.journal(jobId), keys.events) as Promise<[Array<[Buffer, Buffer[]]>, Buffer]>)
      .then(([entries, newest]) => {
        for (const [, fields] of entries) {
          const event = eventOf(fields);
          if (event) deliver(event);
        }
        if (stopped) return;
        stopTail = this.tailFrom(keys.events, newest.toString(), (event) => {
          if (event.jobId === jobId) deliver(event);
        });
      })
      .catch((error: unknown) => this.ctx.report(`reading the journal of job "${jobId}"`, error));
    return stop;
  }

  /** Delivers the entries of `key` after `after` (`$`: after the newest now) to `deliver`, until the returned function is called. */
  private tailFrom(key: string, after: string, deliver: (event: LifecycleEvent) => void): () => void {
    // Subscribed by a listener of this stream's entry being delivered: from the next entry, as in memory (the newest in Redis may be several events on).
    if (after === "$" && this.delivering?.key === key) after = this.delivering.id;
    const tail: Tail = { after, deliver };
    let removed = false;
    const start = async () => {
      if (after === "$") {
        // The newest id now, in the order of this process's writes: what it publishes after subscribing comes after it.
        const newest = (await this.ctx.writes.ordered(() => this.ctx.client.xrevrange(key, "+", "-", "COUNT", 1))) as Array<[string, string[]]>;
        tail.after = newest[0]?.[0] ?? "0-0";
      }
      if (removed || this.closed) return;
      let set = this.tails.get(key);
      if (!set) this.tails.set(key, (set = new Set()));
      set.add(tail);
      this.unblock();
      this.loop();
    };
    start().catch((error: unknown) => this.ctx.report("subscribing to events", error));
    return () => {
      removed = true;
      const set = this.tails.get(key);
      if (set?.delete(tail) && set.size === 0) this.tails.delete(key);
    };
  }

  /** Ends the current blocking read early (the set of streams changed). */
  private unblock(): void {
    if (this.blockedId === undefined) return;
    this.ctx.client.client("UNBLOCK", this.blockedId).catch(() => {});
  }

  /** Reads every tailed stream from its slowest tail, and delivers. One loop per process. */
  private loop(): void {
    if (this.running) return;
    this.running = true;
    const next = async (): Promise<void> => {
      while (!this.closed && this.tails.size > 0) {
        const keys = [...this.tails.keys()];
        const ids = keys.map((key) => slowest(this.tails.get(key)!));
        this.blockedId ??= Number(await this.blocking.client("ID"));
        let reply: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        try {
          reply = (await this.blocking.xreadBuffer("COUNT", 512, "BLOCK", BLOCK_MS, "STREAMS", ...keys, ...ids)) as typeof reply;
        } catch (error) {
          if (this.closed) return;
          if (!String((error as Error)?.message).includes("UNBLOCKED")) {
            this.ctx.report("reading events", error);
            await new Promise((resolve) => setTimeout(resolve, BLOCK_MS));
          }
          continue;
        }
        for (const [rawKey, entries] of reply ?? []) {
          const key = rawKey.toString();
          const set = this.tails.get(key);
          if (!set) continue;
          const readFrom = ids[keys.indexOf(key)]!;
          for (const [rawId, fields] of entries) {
            const id = rawId.toString();
            this.delivering = { key, id };
            try {
              for (const tail of [...set]) {
                // A tail added behind where this read started (it subscribed meanwhile) waits for the next read: given this
                // batch, it would skip the entries between its position and the read's.
                if (compareIds(tail.after, readFrom) < 0) continue;
                if (compareIds(id, tail.after) <= 0) continue;
                tail.after = id;
                // Decoded per listener: each gets a copy of its own, as from the copying memory backend.
                const event = eventOf(fields);
                if (event) tail.deliver(event);
              }
            } finally {
              this.delivering = undefined;
            }
          }
        }
      }
    };
    next()
      .catch((error: unknown) => this.ctx.report("reading events", error))
      .finally(() => {
        this.running = false;
        if (!this.closed && this.tails.size > 0) this.loop();
      });
  }
}

/** How the journal script treats an event: `p` progress (a gauge), `f` a final status (the journal's end), `o` any other. */
function journalKind(event: LifecycleEvent): "p" | "f" | "o" {
  if (event.type === "job.progress") return "p";
  return event.type === "job.status" && isFinalStatus(event.status) ? "f" : "o";
}

function eventOf(fields: Buffer[]): LifecycleEvent | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === "e") return decode(fields[i + 1]!) as LifecycleEvent;
  return undefined;
}

/** The smallest `after` of a set of tails. */
function slowest(tails: Set<Tail>): string {
  let min: string | undefined;
  for (const tail of tails) if (min === undefined || compareIds(tail.after, min) < 0) min = tail.after;
  return min ?? "$";
}

/** Compares two stream ids `ms-seq`. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
