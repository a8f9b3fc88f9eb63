import { ValidationError } from "./errors.js";

/** A console-like logger. Every method is optional to call, none to provide. */
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
    throw new ValidationError(`Unknown log level ${JSON.stringify(level) ?? String(level)} for consoleLogger; known: ${Object.keys(ORDER).join(", ")}`);
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

/**
 * A logger with bound fields (job id) for the library's own lines: a class,
 * not five closures, since every job has one. Methods need their `this`.
 */
export class BoundLogger implements Logger {
  constructor(
    private readonly parent: Logger,
    private readonly bound: Record<string, unknown>,
  ) {}

  private merge(fields?: Record<string, unknown>): Record<string, unknown> {
    return fields ? { ...this.bound, ...fields } : this.bound;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.parent.debug(message, this.merge(fields));
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.parent.info(message, this.merge(fields));
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.parent.warn(message, this.merge(fields));
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.parent.error(message, this.merge(fields));
  }
}
