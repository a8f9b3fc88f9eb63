import { ConfigurationError, ValidationError } from "./errors.js";

/**
 * Rejects option keys a function does not know, so a typo (`retries` for
 * `retry`) fails loudly instead of being ignored.
 */
export function assertKnownKeys(where: string, value: unknown, known: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${where} must be an object; got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ConfigurationError(`Unknown option ${JSON.stringify(key)} in ${where}; known: ${known.join(", ")}`);
    }
  }
}

/**
 * `defaults` overlaid with the fields of `given` that are not `undefined`:
 * an explicit `undefined` means the default, as if the key were left out.
 * Own keys only, defined rather than assigned (a `__proto__` key stays data).
 *
 * @example
 * withDefaults({ initMs: 60_000, stopMs: 5_000 }, { stopMs: undefined }); // { initMs: 60_000, stopMs: 5_000 }
 */
export function withDefaults<T extends object>(defaults: T, given: { readonly [K in keyof T]?: T[K] | undefined } | undefined): T {
  const set = given === undefined ? [] : Object.entries(given).filter(([, value]) => value !== undefined);
  return Object.fromEntries([...Object.entries(defaults), ...set]) as T;
}

/** The longest delay a timer takes (2³¹−1 ms, about 24.8 days): Node fires longer ones after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What `checkDuration` accepts besides whole ms up to `MAX_TIMER_MS`. */
export interface DurationRule {
  /** The smallest value that makes sense: 0 (a grace, a backoff) or 1 (a timeout). Default 0. */
  min?: number;
  /** `Infinity` means "no limit" for this option (then no timer is armed). Default false. */
  allowInfinity?: boolean;
}

/**
 * Checks a duration option: whole ms in `min` … 2³¹−1, or `Infinity` when
 * the rule allows it. Anything else (negative, NaN, 1.5, a string, 2³¹ and
 * more) is a `ValidationError` naming the option and the value.
 *
 * @example
 * checkDuration("close graceMs", Infinity, { allowInfinity: true }); // Infinity
 * checkDuration("timeouts.initMs", 1.5, { min: 1 });                 // throws ValidationError
 */
export function checkDuration(name: string, value: unknown, { min = 0, allowInfinity = false }: DurationRule = {}): number {
  if (typeof value === "number" && ((Number.isInteger(value) && value >= min && value <= MAX_TIMER_MS) || (allowInfinity && value === Infinity))) {
    return value;
  }
  const range = `a whole number of ms from ${min} to ${MAX_TIMER_MS}${allowInfinity ? ", or Infinity for no limit" : ""}`;
  throw new ValidationError(`${name} must be ${range}; got ${describeValue(value)}`, [], name);
}

/**
 * Checks a count option (`maxRestarts`, `concurrency`, stream limits): a
 * whole number >= `min`, or `Infinity` when allowed.
 */
export function checkCount(name: string, value: unknown, { min, allowInfinity = false }: { min: number; allowInfinity?: boolean }): number {
  if (typeof value === "number" && ((Number.isInteger(value) && value >= min) || (allowInfinity && value === Infinity))) return value;
  throw new ValidationError(`${name} must be a whole number >= ${min}${allowInfinity ? " (or Infinity)" : ""}; got ${describeValue(value)}`, [], name);
}

/** Checks a finite number in `min` … `max` (a factor, a ratio). */
export function checkRange(name: string, value: unknown, { min, max = Infinity }: { min: number; max?: number }): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max) return value;
  const range = max === Infinity ? `>= ${min}` : `between ${min} and ${max}`;
  throw new ValidationError(`${name} must be a finite number ${range}; got ${describeValue(value)}`, [], name);
}

/** A value as an error message shows it: numbers as they are, strings quoted, other types named. */
function describeValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return `${String(value)}${typeof value === "bigint" ? "n" : ""}`;
  if (typeof value === "string") return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (a string)`;
  if (value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}
