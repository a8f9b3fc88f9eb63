import { deserialize, serialize } from "node:v8";
import { ValidationError, describeError, rebuildError, serializeError } from "../errors.js";

/**
 * Values cross Redis as V8's structured serialisation (what `structuredClone`
 * and worker threads use): plain objects, arrays, strings, numbers, bigints,
 * booleans, null, undefined, Dates, RegExps, Maps, Sets, typed arrays. A value
 * that cannot be serialised (a function, a symbol) is refused with a
 * `ValidationError` naming `where`; a class instance arrives as a plain object.
 */
export function encode(value: unknown, where: string): Buffer {
  try {
    return serialize(value);
  } catch (error) {
    throw new ValidationError(
      `Cannot send ${where}: it cannot be copied across a process boundary (${describeError(error)}); send plain data: objects, arrays, strings, numbers, booleans, null, Dates, Maps, Sets, typed arrays`,
      [],
      where,
    );
  }
}

export function decode(buffer: Buffer): unknown {
  return deserialize(buffer);
}

/** An error as bytes: serialised (`serializeError`), so it is rebuilt as its class elsewhere. */
export function encodeError(error: unknown): Buffer {
  return serialize(serializeError(error));
}

export function decodeError(buffer: Buffer): unknown {
  return rebuildError(deserialize(buffer) as ReturnType<typeof serializeError>);
}
