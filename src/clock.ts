import { ConfigurationError } from "./errors.js";

/**
 * The env's clock. XState's `SimulatedClock` satisfies it, so one simulated
 * clock drives every delay, timeout and timestamp in tests.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: any[]) => void, timeout: number): any;
  clearTimeout(id: any): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, timeout) => setTimeout(fn, timeout),
  clearTimeout: (id) => clearTimeout(id),
};

/** Returns `value` when it has the `Clock` methods; otherwise a `ConfigurationError` naming `where`. */
export function checkClock(value: unknown, where: string): Clock {
  const clock = value as Partial<Record<keyof Clock, unknown>> | null;
  const missing = (["now", "setTimeout", "clearTimeout"] as const).filter((method) => typeof clock?.[method] !== "function");
  if (typeof value !== "object" || value === null || missing.length > 0) {
    throw new ConfigurationError(`${where} must have now(), setTimeout() and clearTimeout() (XState's SimulatedClock fits); missing: ${missing.join(", ") || "all"}`);
  }
  return value as Clock;
}
