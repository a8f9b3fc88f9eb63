import { customAlphabet } from "nanoid";
import { ValidationError } from "./errors.js";

const MAX_ID_LENGTH = 200;
// No "/": the scheduler joins kinds and names with it (`queueKeyOf`).
const ALLOWED = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

/**
 * Checks a spec name, tag, worker label or job id: 1..200 characters of
 * letters, digits and `. _ : @ -`, starting with a letter or digit. No path
 * separators, no control characters, no whitespace, no `..`.
 *
 * @example
 * assertValidId("job id", "order-42"); // ok
 * assertValidId("job id", "../x");     // throws ValidationError
 */
export function assertValidId(kind: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new ValidationError(`Invalid ${kind}: expected a string, got ${typeof value}`, [], kind);
  }
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new ValidationError(
      `Invalid ${kind} ${shown}: must be 1 to ${MAX_ID_LENGTH} characters (got ${value.length})`,
      [],
      kind,
    );
  }
  if (!ALLOWED.test(value) || value.includes("..")) {
    throw new ValidationError(
      `Invalid ${kind} ${shown}: use letters, digits and . _ : @ - (starting with a letter or digit; no "..", slashes, spaces or control characters)`,
      [],
      kind,
    );
  }
}

/**
 * A fresh job id: 21 characters of letters and digits (nanoid, ~126 bits).
 * Not nanoid's default alphabet: it holds "-" and "_", which an id may not
 * start with.
 */
export const newJobId: () => string = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 21);
