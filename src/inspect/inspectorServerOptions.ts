import { ValidationError } from "../errors.js";
import { MAX_TIMER_MS, assertKnownKeys } from "../options.js";

/** Options of `env.serveInspector`. Every field has a default; an explicit `undefined` means the default. */
export interface InspectorServerOptions {
  /** TCP port, a whole number 0 … 65535. Default 0: a free port (read it from `url`). */
  port?: number;
  /**
   * Interface to bind, a non-empty string. Default `"127.0.0.1"` (loopback only).
   * Any host but `127.0.0.1`, `::1` or `localhost` requires `token`.
   */
  host?: string;
  /** Secret the page and its WebSocket must present (`?token=`), a non-empty string. Default: none (loopback only). */
  token?: string;
  /** State changes the viewer keeps, a whole number >= 1. Default 10 000. */
  maxEvents?: number;
  /** How often changes are pushed to open pages, whole ms 0 … 2³¹−1. Default 100 ms. */
  flushMs?: number;
  /**
   * Bytes a page may leave unread before it is disconnected (close code 1008,
   * reason "too slow: …"), a whole number >= 1. Bounds the memory a page that
   * stops reading (a suspended laptop, a stalled network) costs this process.
   * Default 8 MiB (8 388 608).
   */
  maxClientBacklogBytes?: number;
}

/** `InspectorServerOptions` with every default applied (`token` stays optional: none means none). */
export type ResolvedInspectorServerOptions = Required<Omit<InspectorServerOptions, "token">> & { token: string | undefined };

/** The defaults of `InspectorServerOptions`, in one place. */
export const INSPECTOR_SERVER_DEFAULTS = {
  port: 0,
  host: "127.0.0.1",
  maxEvents: 10_000,
  flushMs: 100,
  maxClientBacklogBytes: 8 * 1024 * 1024,
} as const;

const KNOWN_KEYS = ["port", "host", "token", "maxEvents", "flushMs", "maxClientBacklogBytes"] as const;

/**
 * Checks `options` and fills in the defaults. Throws before anything is opened.
 *
 * @throws ConfigurationError for an unknown key or options that are not an object.
 * @throws ValidationError naming the option and the value for a bad value.
 *
 * @example
 * resolveInspectorServerOptions({ port: 4477 }); // { port: 4477, host: "127.0.0.1", flushMs: 100, … }
 * resolveInspectorServerOptions({ port: "abc" }); // throws ValidationError: port must be a whole number 0 … 65535; got "abc"
 */
export function resolveInspectorServerOptions(options: InspectorServerOptions = {}): ResolvedInspectorServerOptions {
  assertKnownKeys("serveInspector options", options, KNOWN_KEYS);
  const { port, host, token, maxEvents, flushMs, maxClientBacklogBytes } = options;
  if (port !== undefined && !isWhole(port, 0, 65_535)) fail("port", port, "a whole number 0 … 65535 (0 picks a free port)");
  if (host !== undefined && !isNonEmptyString(host)) fail("host", host, 'a non-empty string such as "127.0.0.1"');
  if (token !== undefined && !isNonEmptyString(token)) fail("token", token, "a non-empty string (or leave it out for none)");
  if (maxEvents !== undefined && !isWhole(maxEvents, 1, Number.MAX_SAFE_INTEGER)) fail("maxEvents", maxEvents, "a whole number >= 1");
  if (flushMs !== undefined && !isWhole(flushMs, 0, MAX_TIMER_MS)) fail("flushMs", flushMs, `whole ms 0 … ${MAX_TIMER_MS}`);
  if (maxClientBacklogBytes !== undefined && !isWhole(maxClientBacklogBytes, 1, Number.MAX_SAFE_INTEGER)) {
    fail("maxClientBacklogBytes", maxClientBacklogBytes, "a whole number of bytes >= 1");
  }
  return {
    port: port ?? INSPECTOR_SERVER_DEFAULTS.port,
    host: host ?? INSPECTOR_SERVER_DEFAULTS.host,
    token,
    maxEvents: maxEvents ?? INSPECTOR_SERVER_DEFAULTS.maxEvents,
    flushMs: flushMs ?? INSPECTOR_SERVER_DEFAULTS.flushMs,
    maxClientBacklogBytes: maxClientBacklogBytes ?? INSPECTOR_SERVER_DEFAULTS.maxClientBacklogBytes,
  };
}

function isWhole(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function fail(option: string, value: unknown, expected: string): never {
  const shown = typeof value === "string" ? JSON.stringify(value) : typeof value === "object" && value !== null ? "an object" : String(value);
  throw new ValidationError(`serveInspector option ${option} must be ${expected}; got ${shown}`, [{ message: `expected ${expected}`, path: [option] }], "serveInspector options");
}
