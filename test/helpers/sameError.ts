import { expect } from "vitest";
import { rebuildError, serializeError } from "../../src/errors.js";
import { suiteBackend } from "./backends.js";

/**
 * What makes two errors "the same error" on the backend the suite runs on.
 * Without copies (`memory`) every receiver gets the very object that was
 * thrown, so sameness is identity. With copies (`memory-copy`, `redis`) each
 * receiver gets its own copy, rebuilt as another process would rebuild it: the
 * same class, code, message, fields and cause chain, but never the object.
 */
function asCopy(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return { class: value.constructor, ...serializeError(value) };
}

/** `expected` as a copying backend delivers it (an undefined cause stays undefined). */
const copied = (expected: unknown): unknown => (expected === undefined ? undefined : asCopy(rebuildError(serializeError(expected))));

/** True when `received` is `expected` as a receiver on this suite's backend gets it (see above). */
export function isSameError(received: unknown, expected: unknown): boolean {
  if (!suiteBackend().copies) return Object.is(received, expected);
  try {
    expect(asCopy(received)).toEqual(copied(expected));
    return true;
  } catch {
    return false;
  }
}

/**
 * Asserts that `received` is `expected` as a receiver on this suite's
 * backend gets it: the object itself on `memory`; on a copying backend, a
 * copy rebuilt as its class with the same code, message, fields and causes.
 */
export function expectSameError(received: unknown, expected: unknown): void {
  if (!suiteBackend().copies) {
    expect(received).toBe(expected);
    return;
  }
  expect(asCopy(received)).toEqual(copied(expected));
}
