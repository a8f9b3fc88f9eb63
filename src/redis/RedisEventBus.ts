import type { Redis } from "ioredis";
import type { EventBus, JobJournal } from "../backend/Backend.js";
import { isFinalStatus, type LifecycleEvent, type LifecycleListener } from "../backend/events.js";
import { decode, encode } from "./codec.js";
import type { RedisContext } from "./context.js";

/** Events the env's stream keeps (approximately: `MAXLEN ~`). */
export const ENV_EVENTS_LIMIT = 10_000;
/** Events a job's journal replays to a late subscriber (after progress reports were coalesced), as in memory. */
export const JOURNAL_LIMIT = 256;
/** Events one script call appends at most. */
const EVENTS_CHUNK = 1_000;
/**
 * Entries a job's journal stream keeps: more than it replays, so that a live
 * subscriber whose tail lags a burst of events (a loop of progress reports)
 * still reads every one before the cap drops it.
 */
const JOURNAL_KEPT = 4 * JOURNAL_LIMIT;
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
 * journal (capped at `JOURNAL_KEPT` entries, of which a late subscriber
 * gets the newest `JOURNAL_LIMIT` events; expiring with the job). One blocking
 * connection per process tails the streams someone listens to.
 */
export class RedisEventBus implements EventBus {
  /** Stream key → the tails reading it. */
  private readonly tails = new Map<string, Set<Tail>>();
  private running = false;
  private closed = false;
  private blockedId: number | undefined;

  constructor(
    private readonly ctx: RedisContext,
    private readonly blocking: Redis,
  ) {}

  publish(event: LifecycleEvent): void {
    const bytes = encode(event, `the ${event.type} event of job "${event.jobId}"`);
    // Events published one after another go in one script call, in order (a plain write after them closes the batch).
    this.ctx.writes.batch(this, { journal: this.ctx.keys.journal(event.jobId), bytes }, (events) => this.send(events));
  }

  private send(events: Array<{ journal: string; bytes: Buffer }>): void {
    const { client, keys } = this.ctx;
    // A call's arguments stay bounded (Redis holds them all in memory): long runs go in chunks.
    for (let from = 0; from < events.length; from += EVENTS_CHUNK) {
      const chunk = events.slice(from, from + EVENTS_CHUNK);
      const args: Array<string | Buffer | number> = [chunk.length + 1, keys.events];
      for (const event of chunk) args.push(event.journal);
      args.push(ENV_EVENTS_LIMIT, JOURNAL_KEPT);
      for (const event of chunk) args.push(event.bytes);
      client.lwEvents(...args).catch((error: unknown) => this.ctx.report("publishing an event", error));
    }
  }

  subscribe(listener: LifecycleListener): () => void {
    return this.tailFrom(this.ctx.keys.events, "$", listener);
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

  /** Replays a job's journal, then delivers live events until its final status. */
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
    const key = this.ctx.keys.journal(jobId);
    // In the order of this process's writes: what it publishes later comes after what this returns.
    this.ctx.writes
      .ordered(() => this.ctx.client.xrangeBuffer(key, "-", "+"))
      .then(
        (entries) => {
          let after = "0-0";
          const kept: LifecycleEvent[] = [];
          for (const [id, fields] of entries) {
            after = id.toString();
            const event = eventOf(fields);
            if (event) keep(kept, event);
          }
          // The replay is what a memory journal keeps: the newest JOURNAL_LIMIT, progress coalesced, up to the final status.
          for (const event of kept.slice(-JOURNAL_LIMIT)) deliver(event);
          if (!stopped) stopTail = this.tailFrom(key, after, deliver);
        },
        (error: unknown) => this.ctx.report(`reading the journal of job "${jobId}"`, error),
      );
    return stop;
  }

  /** Delivers the entries of `key` after `after` (`$`: after the newest now) to `deliver`, until the returned function is called. */
  private tailFrom(key: string, after: string, deliver: (event: LifecycleEvent) => void): () => void {
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
          const set = this.tails.get(rawKey.toString());
          if (!set) continue;
          for (const [rawId, fields] of entries) {
            const id = rawId.toString();
            for (const tail of [...set]) {
              if (compareIds(id, tail.after) <= 0) continue;
              tail.after = id;
              // Decoded per listener: each gets a copy of its own, as from the copying memory backend.
              const event = eventOf(fields);
              if (event) tail.deliver(event);
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

/**
 * Adds `event` to a replay as a memory journal records it: a progress report
 * replaces the one before it when that was the same worker's; nothing after
 * the final status.
 */
function keep(kept: LifecycleEvent[], event: LifecycleEvent): void {
  const last = kept.at(-1);
  if (last?.type === "job.status" && isFinalStatus(last.status)) return;
  if (event.type === "job.progress" && last?.type === "job.progress" && last.workerName === event.workerName) kept[kept.length - 1] = event;
  else kept.push(event);
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
