import { UnknownTagError, ValidationError } from "../errors.js";
import type { DataStream } from "../stream/DataStream.js";
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
    const emit = async (data: unknown): Promise<void> => {
      attempt.assertLive();
      attempt.beat();
      try {
        // write() validates before it appends, then waits for slow readers.
        await stream.write(data, () => attempt.assertLive());
      } catch (error) {
        if (error instanceof ValidationError) attempt.fail(error);
        throw error;
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
