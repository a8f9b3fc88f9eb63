import { Redis, type RedisOptions } from "ioredis";
import { LiveworkerError } from "../errors.js";
import { SCRIPTS } from "./scripts.js";

/** How to reach Redis: a `redis://host:port/db` URL, or ioredis options. */
export type RedisConnection = string | RedisOptions;

/**
 * Redis could not be reached (or stopped answering) within the backend's
 * `connectTimeoutMs`. `address` is `host:port` as configured.
 */
export class RedisUnavailableError extends LiveworkerError {
  override readonly code = "REDIS_UNAVAILABLE";

  constructor(
    readonly address: string,
    detail: string,
  ) {
    super(`Cannot reach Redis at ${address}: ${detail}. Check that redis-server runs there (redis-cli -u redis://${address} ping) and that the connection option names it`);
  }
}

/** The first reconnection's delay (ms); each next one doubles it, up to `RECONNECT_MAX_MS`. */
export const RECONNECT_FIRST_MS = 50;
/** The longest wait between two reconnection attempts (ms): once Redis is back, a connection is back within about this long. */
export const RECONNECT_MAX_MS = 1_000;

/**
 * The delay before reconnection attempt `times` (1, 2, …) after a connection
 * dropped, in ms: 50, 100, 200, 400, 800, then 1 000 for as long as Redis is
 * down, each plus up to 10 % jitter (processes that lost Redis together do
 * not all knock at once). Every connection of the backend (its own and
 * BullMQ's) reconnects by it, unless the `connection` option's ioredis
 * options bring a `retryStrategy` of their own.
 */
export function reconnectDelayMs(times: number): number {
  const delay = Math.min(RECONNECT_FIRST_MS * 2 ** Math.max(0, times - 1), RECONNECT_MAX_MS);
  return Math.round(delay * (1 + Math.random() * 0.1));
}

/** The ioredis options of `connection`, with what liveworker needs set on top (and its reconnection backoff unless the options bring one). */
export function clientOptions(connection: RedisConnection): { url?: string; options: RedisOptions } {
  const base: RedisOptions = typeof connection === "string" ? {} : { ...connection };
  return {
    ...(typeof connection === "string" ? { url: connection } : {}),
    options: { retryStrategy: reconnectDelayMs, ...base, lazyConnect: true, maxRetriesPerRequest: null, enableAutoPipelining: true },
  };
}

/** `host:port` of a connection, for messages. */
export function addressOf(connection: RedisConnection): string {
  if (typeof connection === "string") {
    try {
      const url = new URL(connection);
      return `${url.hostname || "127.0.0.1"}:${url.port || "6379"}`;
    } catch {
      return connection;
    }
  }
  if (typeof connection.path === "string") return connection.path;
  return `${connection.host ?? "127.0.0.1"}:${connection.port ?? 6379}`;
}

/** A client with the backend's scripts defined on it. */
export type ScriptedRedis = Redis & {
  [K in keyof typeof SCRIPTS]: (...args: Array<string | Buffer | number>) => Promise<unknown>;
} & {
  [K in keyof typeof SCRIPTS as `${K}Buffer`]: (...args: Array<string | Buffer | number>) => Promise<unknown>;
};

/** Makes a client of `connection` (not connected yet: `lazyConnect`), with the scripts defined. */
export function createClient(connection: RedisConnection, name: string): ScriptedRedis {
  const { url, options } = clientOptions(connection);
  const client = url === undefined ? new Redis({ ...options, connectionName: name }) : new Redis(url, { ...options, connectionName: name });
  for (const [command, { keys, lua }] of Object.entries(SCRIPTS)) client.defineCommand(command, { numberOfKeys: keys, lua });
  // Errors are reported where commands fail; an unhandled 'error' event would crash the process.
  client.on("error", () => {});
  return client as ScriptedRedis;
}

/**
 * Connects `client`, or rejects with `RedisUnavailableError` naming `address`
 * after `timeoutMs` (the client goes on retrying in the background).
 */
export async function connectWithin(client: Redis, address: string, timeoutMs: number): Promise<void> {
  let lastError = "no answer";
  const onError = (error: Error) => (lastError = error.message);
  client.on("error", onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        if (client.status !== "ready") {
          const ready = new Promise<void>((resolve) => client.once("ready", () => resolve()));
          // A first refusal rejects connect(); ioredis goes on retrying, and 'ready' comes when one succeeds.
          if (client.status === "wait") client.connect().catch(() => {});
          await ready;
        }
        await client.ping();
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailableError(address, `no connection within ${timeoutMs} ms (${lastError})`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
  }
}
