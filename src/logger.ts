import { ConfigurationError, ValidationError, describeError } from "./errors.js";
import { isThenable } from "./thenable.js";

/**
 * A console-like logger: all four methods are required (`LiveEnv.create`
 * checks). A method that throws never breaks a job: the env calls its logger
 * through `guardLogger`.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/**
 * A logger writing to `console` at `level` and above, each line prefixed.
 *
 * @example
 * const env = LiveEnv.create({ logger: consoleLogger("debug") });
 */
export function consoleLogger(level: LogLevel = "warn", prefix = "[liveworker]"): Logger {
  if (typeof level !== "string" || !Object.hasOwn(ORDER, level)) {
    throw new ValidationError(`Unknown log level ${typeof level === "string" ? JSON.stringify(level) : describeError(level)} for consoleLogger; known: ${Object.keys(ORDER).join(", ")}`);
  }
  const at = ORDER[level];
  const write =
    (l: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: Record<string, unknown>) => {
      if (ORDER[l] < at) return;
      // One line per entry: fields as JSON after the message.
      console[l](fields ? `${prefix} ${message} ${oneLine(fields)}` : `${prefix} ${message}`);
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

function oneLine(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return String(fields);
  }
}

/**
 * Binds fields (worker, attempt) into every line of a logger. Its methods
 * work detached (`promise.catch(logger.error)`): this is the logger
 * processors get.
 */
export function childLogger(parent: Logger, bound: Record<string, unknown>): Logger {
  return {
    debug: (m, f) => parent.debug(m, f ? { ...bound, ...f } : bound),
    info: (m, f) => parent.info(m, f ? { ...bound, ...f } : bound),
    warn: (m, f) => parent.warn(m, f ? { ...bound, ...f } : bound),
    error: (m, f) => parent.error(m, f ? { ...bound, ...f } : bound),
  };
}

const LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * Checks that `value` has the four logger methods.
 *
 * @throws ConfigurationError naming the missing methods.
 */
export function assertLogger(value: unknown, where: string): asserts value is Logger {
  const isMethod = (level: (typeof LEVELS)[number]) => {
    try {
      return typeof (value as Partial<Logger> | null)?.[level] === "function";
    } catch {
      return false; // a getter that throws is no method
    }
  };
  const missing = LEVELS.filter((level) => !isMethod(level));
  if (value === null || typeof value !== "object" || missing.length > 0) {
    throw new ConfigurationError(
      `${where} must have the methods debug, info, warn and error${missing.length < 4 ? `; missing: ${missing.join(", ")}` : `; got ${value === null ? "null" : typeof value}`} (use consoleLogger("warn") or wrap your logger)`,
    );
  }
}

/**
 * Wraps a user logger so that a method that throws never reaches the
 * library: the first throw is written once to `console.error` (itself
 * guarded), later ones are dropped. The wrapper's methods work detached.
 */
export function guardLogger(logger: Logger): Logger {
  let reported = false;
  const report = (level: string, error: unknown) => {
    if (reported) return;
    reported = true;
    try {
      console.error(`[liveworker] the logger's ${level}() threw; its errors are ignored from now on: ${describeError(error)}`);
    } catch {
      // Nowhere left to report to.
    }
  };
  const guarded = (level: (typeof LEVELS)[number]) => (message: string, fields?: Record<string, unknown>) => {
    try {
      const result: unknown = logger[level](message, fields);
      // An async method rejects instead of throwing: the same rule, or the rejection would go unhandled.
      if (isThenable(result)) result.then(undefined, (error: unknown) => report(level, error));
    } catch (error) {
      report(level, error);
    }
  };
  return { debug: guarded("debug"), info: guarded("info"), warn: guarded("warn"), error: guarded("error") };
}
