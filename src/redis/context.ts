import type { ScriptedRedis } from "./connection.js";
import type { RedisKeys } from "./keys.js";
import type { Notifier } from "./Notifier.js";
import type { WriteQueue } from "./writeQueue.js";

/** What the Redis backend's parts share in one process. */
export interface RedisContext {
  /** The command connection (scripts defined, auto-pipelined). */
  readonly client: ScriptedRedis;
  readonly keys: RedisKeys;
  readonly writes: WriteQueue;
  readonly notifier: Notifier;
  /** Job id → the fencing token of the lease this process holds on it (runtime writes carry it). */
  readonly tokens: Map<string, string>;
  /** A write of a job was refused for a stale token: this process lost the job's lease. */
  fenced(jobId: string): void;
  /**
   * Redis no longer holds the job's hash (a restart without persistence, a
   * flush, an eviction, or its retention ran out): the job cannot go on.
   * Its ticket here fails with a `RedisDataLostError`, its lease here is
   * lost, and its streams here refuse writes and end their readers with it.
   */
  jobLost(jobId: string): void;
  /** A read of the job's input found its cancel request: the process running the job hears of it now. */
  cancelRequested(jobId: string, reason: string): void;
  /** Reports a failure no caller waits for (logged once per kind). */
  report(what: string, error: unknown): void;
  /** Pinning readers open in this process: closing the backend closes them (their pins go at once, not after `leaseMs`). */
  readonly openReaders: Set<{ close(): void }>;
  /** True once the backend closes: cursors stop waiting (`EnvClosedError`). */
  readonly closed: boolean;
  /** This process just stored job `jobId`: its streams are empty (their writers need not ask Redis how full they are). */
  freshJob(jobId: string): void;
  /** Tells the env's logger of something a user should know (a warning, every time). */
  warn(message: string): void;
  /**
   * The answer of a command a caller waits for; rejects with
   * `RedisUnavailableError` when the connection dropped before it came and
   * is not back within `connectTimeoutMs`.
   */
  answer<T>(command: Promise<T>): Promise<T>;
  /** Resolves once connected; rejects with `RedisUnavailableError` when Redis cannot be reached. */
  ready(): Promise<void>;
  /** How long a waiting reader or writer goes without a notification before it looks again (ms). */
  readonly pollMs: number;
  /** How long an output reader pins its position without reading (ms): a dead process's readers stop pinning after it. */
  readonly readerLeaseMs: number;
}
