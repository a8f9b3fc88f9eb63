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
  const at = ORDER[level];
  const write =
    (l: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: Record<string, unknown>) => {
      if (ORDER[l] < at) return;
      if (fields) console[l](`${prefix} ${message}`, fields);
      else console[l](`${prefix} ${message}`);
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** Binds fields (job id, worker, attempt) into every line of a logger. */
export function childLogger(parent: Logger, bound: Record<string, unknown>): Logger {
  const merge = (fields?: Record<string, unknown>) => (fields ? { ...bound, ...fields } : bound);
  return {
    debug: (m, f) => parent.debug(m, merge(f)),
    info: (m, f) => parent.info(m, merge(f)),
    warn: (m, f) => parent.warn(m, merge(f)),
    error: (m, f) => parent.error(m, merge(f)),
  };
}
