import { UnknownTagError, ValidationError } from "../errors.js";
import { WRITTEN, type DataStream } from "../stream/DataStream.js";
import type { Attempt } from "./Attempt.js";

/**
 * Builds the `output` of one attempt's processor context. Emits of a fenced
 * attempt are dropped (they reject with the abort reason). An invalid emit
 * rejects with `ValidationError` and fails the job at once.
 */
export function createProcessorOutput(
  specName: string,
  streams: ReadonlyMap<string, DataStream>,
  attempt: Attempt,
): unknown {
  const emitters = new Map<string, { tag: string; emit(data: unknown): Promise<void> }>();
  const emitterFor = (tag: string) => {
    let emitter = emitters.get(tag);
    if (emitter) return emitter;
    const stream = streams.get(tag);
    if (!stream) throw new UnknownTagError(specName, "output", tag, [...streams.keys()]);
    const assertLive = () => attempt.assertLive();
    const failOnInvalid = (error: unknown): never => {
      if (error instanceof ValidationError) attempt.fail(error);
      throw error;
    };
    // Not async: an emit that need not wait hands back write()'s settled promise
    // (no promise and no extra ticks per message); errors still only reject.
    const emit = (data: unknown): Promise<void> => {
      try {
        attempt.assertLive();
        attempt.beat();
        // write() validates before it appends, then waits for slow readers.
        const written = stream.write(data, assertLive);
        // Only an async schema rejects later; the settled fast path cannot.
        return written === WRITTEN ? written : written.then(undefined, failOnInvalid);
      } catch (error) {
        if (error instanceof ValidationError) attempt.fail(error);
        return Promise.reject(error);
      }
    };
    emitter = { tag, emit };
    emitters.set(tag, emitter);
    return emitter;
  };
  const output = (tag: string) => emitterFor(tag);
  return Object.assign(output, {
    emit: (data: unknown) => {
      try {
        return emitterFor("default").emit(data);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  });
}
