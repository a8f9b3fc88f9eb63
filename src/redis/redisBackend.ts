import type { ConnectionOptions } from "bullmq";
import type { Redis } from "ioredis";
import { ConfigurationError, ValidationError, describeError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys, checkCount, checkDuration } from "../options.js";
import type { Backend, BackendScope } from "../backend/Backend.js";
import { addressOf, clientOptions, connectWithin, createClient, type RedisConnection, type ScriptedRedis } from "./connection.js";
import type { RedisContext } from "./context.js";
import { RedisKeys } from "./keys.js";
import { Notifier } from "./Notifier.js";
import { RedisEventBus } from "./RedisEventBus.js";
import { RedisDataLostError } from "./RedisDataLostError.js";
import { RedisJobQueue } from "./RedisJobQueue.js";
import { RedisStreamStore } from "./RedisStreamStore.js";
import { WriteQueue } from "./writeQueue.js";

/** Options of `redisBackend`. Unknown keys are a `ConfigurationError`; values out of range a `ValidationError`. */
export interface RedisBackendOptions {
  /** A `redis://[user:password@]host:port[/db]` URL, or ioredis options. Default `"redis://127.0.0.1:6379"`. */
  connection?: RedisConnection;
  /**
   * Starts every key (and BullMQ's) with `<prefix>/<projectId>:`. Processes
   * with the same connection, prefix and `projectId` form one env. Follows
   * the id rules (letters, digits, `. _ : @ -`). Default `"lw"`.
   */
  prefix?: string;
  /**
   * How long a process holds a job without renewing its lease (BullMQ's lock
   * duration, renewed at half of it while the job runs), in ms, 1 000 …
   * 2³¹−1. A process that dies (or stalls longer) loses its jobs to another
   * after about this long: shorter recovers sooner and costs more Redis
   * traffic. Default 30 000.
   */
  leaseMs?: number;
  /**
   * How long a finished job's keys (record, streams, journal) stay, in ms,
   * 1 … 2³¹−1: readers, `getJob` and `waitUntilFinish` find it until then.
   * Default 86 400 000 (a day).
   */
  retentionMs?: number;
  /**
   * Spec or flow name → jobs of it running at once across every process of
   * the env (BullMQ's global concurrency), a whole number >= 1. Each
   * process's own cap is its worker def's `concurrency`. Default: none.
   */
  globalConcurrency?: Readonly<Record<string, number>>;
  /** How long creating a job (or anything that waits for Redis) waits for a connection before a `RedisUnavailableError`, in ms. Default 5 000. */
  connectTimeoutMs?: number;
}

/** Defaults of `redisBackend`'s options. */
export const REDIS_BACKEND_DEFAULTS = {
  connection: "redis://127.0.0.1:6379",
  prefix: "lw",
  leaseMs: 30_000,
  retentionMs: 86_400_000,
  connectTimeoutMs: 5_000,
} as const;

/** How long a waiter goes without a notification before it looks again (ms): notifications are lost while a connection is down. */
const POLL_MS = 1_000;

/**
 * A backend on Redis: jobs on BullMQ (one queue per spec or flow), job data
 * on Redis Streams, lifecycle events on a capped stream per env. Processes
 * whose envs have the same `projectId` and backends the same `connection`
 * and `prefix` form one env: a job added in one runs in a process that
 * defined its worker, and any of them can feed it, read it, wait for it or
 * cancel it. Needs Redis 6.2 or later, with `maxmemory-policy noeviction`
 * (another policy is warned about once: Redis could evict a job's data).
 * Connects when an env takes it.
 *
 * @throws ConfigurationError for an unknown option key; ValidationError for a value out of range.
 * @example
 * const env = LiveEnv.create({ projectId: "kitchen", backend: redisBackend({ connection: "redis://127.0.0.1:6379" }) });
 */
export function redisBackend(options: RedisBackendOptions = {}): Backend {
  const settings = checkOptions(options);
  return new RedisBackend(settings);
}

type Settings = Required<Omit<RedisBackendOptions, "globalConcurrency">> & { globalConcurrency: ReadonlyMap<string, number> };

function checkOptions(options: RedisBackendOptions): Settings {
  assertKnownKeys("redisBackend options", options, ["connection", "prefix", "leaseMs", "retentionMs", "globalConcurrency", "connectTimeoutMs"]);
  const pick = <K extends keyof typeof REDIS_BACKEND_DEFAULTS>(key: K) => (options[key] === undefined ? REDIS_BACKEND_DEFAULTS[key] : options[key]);
  const connection = pick("connection");
  if (typeof connection !== "string" && (typeof connection !== "object" || connection === null)) {
    throw new ConfigurationError(`connection of redisBackend must be a redis:// URL or ioredis options; got ${describeError(connection)}`);
  }
  if (typeof connection === "string" && !/^rediss?:\/\//.test(connection)) {
    throw new ValidationError(`connection of redisBackend must be a redis:// or rediss:// URL; got ${JSON.stringify(connection)}`, [], "connection");
  }
  const prefix = pick("prefix");
  assertValidId("prefix of redisBackend", prefix);
  const globalConcurrency = options.globalConcurrency ?? {};
  if (typeof globalConcurrency !== "object" || globalConcurrency === null) {
    throw new ConfigurationError(`globalConcurrency of redisBackend must be an object of spec or flow name → count; got ${describeError(globalConcurrency)}`);
  }
  for (const [name, count] of Object.entries(globalConcurrency)) checkCount(`globalConcurrency["${name}"] of redisBackend`, count, { min: 1 });
  return {
    connection,
    prefix,
    leaseMs: checkDuration("leaseMs of redisBackend", pick("leaseMs"), { min: 1_000 }),
    retentionMs: checkDuration("retentionMs of redisBackend", pick("retentionMs"), { min: 1 }),
    connectTimeoutMs: checkDuration("connectTimeoutMs of redisBackend", pick("connectTimeoutMs"), { min: 1 }),
    // A Map of the own entries: a spec named `hasOwnProperty` or `valueOf` must find no cap, not
    // Object.prototype's method (which BullMQ took for the callback of its HSET, throwing in ioredis).
    globalConcurrency: new Map(Object.entries(globalConcurrency)),
  };
}

/** The backend's connections, context and parts; bound to an env's `projectId` when the env takes it. */
class RedisBackend implements Backend, RedisContext {
  readonly shared = true;
  readonly jobs: RedisJobQueue;
  readonly streams: RedisStreamStore;
  readonly events: RedisEventBus;
  readonly client: ScriptedRedis;
  readonly writes = new WriteQueue();
  readonly notifier: Notifier;
  readonly tokens = new Map<string, string>();
  readonly openReaders = new Set<{ close(): void }>();
  readonly pollMs = POLL_MS;
  readonly readerLeaseMs: number;
  private readonly subscriber: Redis;
  private readonly blocking: Redis;
  private readonly address: string;
  private boundKeys: RedisKeys | undefined;
  private scope: BackendScope | undefined;
  private connecting: Promise<void> | undefined;
  private readonly reported = new Set<string>();
  private closing: Promise<void> | undefined;
  /** Set once `close` has ended the connections. */
  /** Its connections are gone for good (close() finished). */
  private ended = false;

  constructor(private readonly settings: Settings) {
    this.address = addressOf(settings.connection);
    this.client = createClient(settings.connection, "liveworker");
    this.subscriber = createClient(settings.connection, "liveworker:subscriber");
    this.blocking = createClient(settings.connection, "liveworker:events");
    this.notifier = new Notifier(this.subscriber);
    this.readerLeaseMs = settings.leaseMs;
    this.jobs = new RedisJobQueue(this, {
      bullConnection: bullConnection(settings.connection),
      leaseMs: settings.leaseMs,
      retentionMs: settings.retentionMs,
      // A Map of the option's own entries: a spec named `valueOf` finds no cap, not Object.prototype's method (BullMQ would hand it to ioredis as a callback).
      globalConcurrency: (queueKey) => settings.globalConcurrency.get(queueKey.slice(queueKey.indexOf("/") + 1)),
    });
    this.streams = new RedisStreamStore(this);
    this.events = new RedisEventBus(this, this.blocking);
    // The connection dropped while answers are awaited: those fail if it is not back within connectTimeoutMs.
    this.client.on("close", () => {
      if (this.awaited.size === 0) return;
      this.ready().catch((error: unknown) => {
        for (const fail of [...this.awaited]) fail(error);
      });
    });
  }

  /** Rejecters of the answers awaited now (`answer`). */
  private readonly awaited = new Set<(error: unknown) => void>();

  /**
   * The answer of a command a caller waits for. When the connection drops
   * before it came and is not back within `connectTimeoutMs`, it rejects
   * with a `RedisUnavailableError` naming the address (ioredis would keep
   * the command until Redis is back, however long that takes).
   */
  answer<T>(command: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: unknown) => {
        this.awaited.delete(fail);
        reject(error);
      };
      this.awaited.add(fail);
      command.then(
        (value) => {
          this.awaited.delete(fail);
          resolve(value);
        },
        fail,
      );
    });
  }

  get keys(): RedisKeys {
    if (!this.boundKeys) throw new ConfigurationError("This Redis backend is not bound to an env yet: give it to LiveEnv.create({ backend })");
    return this.boundKeys;
  }

  /** Own properties (not methods): a wrapper spread from this backend (`{ ...backend }`) keeps them. */
  readonly bind = (scope: BackendScope): void => {
    if (this.boundKeys) throw new ConfigurationError(`This Redis backend already serves env "${this.scope!.projectId}"; create a backend per env`);
    this.scope = scope;
    this.boundKeys = new RedisKeys(this.settings.prefix, scope.projectId);
    // Connects in the background; the first operation that needs Redis waits for it (or fails with the address).
    this.ready().catch(() => {});
  };

  /**
   * Resolves once connected; rejects with `RedisUnavailableError` naming the
   * address when Redis cannot be reached within `connectTimeoutMs`, at first
   * or after the connection dropped (ioredis queues commands while it
   * reconnects: without this they would wait as long as Redis is down).
   */
  async ready(): Promise<void> {
    // Its connections are gone for good: say so at once, rather than wait connectTimeoutMs for a connection that never comes.
    if (this.ended) throw new ConfigurationError("This Redis backend is closed: create another backend (and env) to reach Redis again");
    await this.connectOnce();
    if (this.client.status === "ready") return;
    const attempt = (this.reconnecting ??= connectWithin(this.client, this.address, this.settings.connectTimeoutMs));
    try {
      await attempt;
    } finally {
      if (this.reconnecting === attempt) this.reconnecting = undefined;
    }
  }

  private reconnecting: Promise<void> | undefined;

  private connectOnce(): Promise<void> {
    this.connecting ??= (async () => {
      await Promise.all([
        connectWithin(this.client, this.address, this.settings.connectTimeoutMs),
        connectWithin(this.subscriber, this.address, this.settings.connectTimeoutMs),
        connectWithin(this.blocking, this.address, this.settings.connectTimeoutMs),
      ]);
      void this.checkEvictionPolicy();
    })();
    const attempt = this.connecting;
    // A failed attempt is not kept: the next operation tries again (Redis may be up by then).
    attempt.catch(() => {
      if (this.connecting === attempt) this.connecting = undefined;
    });
    return attempt;
  }

  fenced(jobId: string): void {
    this.jobs.fenced(jobId);
  }

  jobLost(jobId: string): void {
    if (this.closing) return;
    const error = new RedisDataLostError(jobId, this.address);
    // Streams first: a feed that the job's failure refuses then names the loss, not only the failure.
    const known = this.streams.lost(jobId, error) + this.jobs.lost(jobId, error);
    if (known > 0) this.warn(error.message);
  }

  cancelRequested(jobId: string, reason: string): void {
    this.jobs.cancelRequested(jobId, reason);
  }

  report(what: string, error: unknown): void {
    if (this.closing) return;
    if (this.reported.has(what)) return;
    this.reported.add(what);
    const message = `Redis backend: ${what} failed: ${describeError(error)} (reported once)`;
    if (this.scope) this.scope.logger.error(message);
    else console.error(message);
  }

  freshJob(jobId: string): void {
    this.streams.markFresh(jobId);
  }

  warn(message: string): void {
    if (this.scope) this.scope.logger.warn(`Redis backend: ${message}`);
    else console.warn(`Redis backend: ${message}`);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  readonly close = (): Promise<void> => {
    this.closing ??= (async () => {
      // Cursors still waiting (a reader of a job that runs on elsewhere) end now, not at their next poll;
      // open readers let go of their pins now (sent with the writes flushed below), not after leaseMs.
      this.streams.wakeAll();
      for (const reader of [...this.openReaders]) reader.close();
      this.events.close();
      await this.jobs.close(this.settings.connectTimeoutMs);
      this.writes.flush();
      // Auto-pipelined commands go out on the next tick and QUIT would overtake them: wait for a reply behind them.
      if (this.client.status === "ready") await this.answer(this.client.ping()).catch(() => {});
      // A clean QUIT (after what was sent) while Redis answers; else the connections are cut, not left retrying.
      const end = (client: Redis) => (client.status === "ready" ? client.quit().catch(() => client.disconnect()) : client.disconnect());
      await Promise.allSettled([end(this.client), end(this.subscriber)]);
      this.blocking.disconnect();
      this.ended = true;
    })();
    return this.closing;
  };

  /** Warns once when Redis may evict keys (a job's data would vanish). */
  private async checkEvictionPolicy(): Promise<void> {
    try {
      const reply = (await this.client.config("GET", "maxmemory-policy")) as string[];
      const policy = reply[1];
      if (policy && policy !== "noeviction") {
        this.scope?.logger.warn(
          `Redis at ${this.address} has maxmemory-policy "${policy}": it may evict a job's data when memory runs short; set it to "noeviction" (redis-cli config set maxmemory-policy noeviction)`,
        );
      }
    } catch {
      // CONFIG may be disabled (managed Redis): nothing to check.
    }
  }
}

/** BullMQ's connection options: the same server, with `maxRetriesPerRequest: null` as its workers require. */
function bullConnection(connection: RedisConnection): ConnectionOptions {
  const { url, options } = clientOptions(connection);
  const { lazyConnect: _lazy, enableAutoPipelining: _pipelining, ...rest } = options;
  return (url === undefined ? rest : { ...rest, ...urlOptions(url) }) as ConnectionOptions;
}

/** Host, port, db and credentials of a redis:// URL, as ioredis options. */
function urlOptions(url: string) {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
}
