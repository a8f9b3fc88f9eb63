import { PerTag } from "./PerTag.js";
import { rejectOnThrow } from "../thenable.js";
import { UnknownTagError, ValidationError } from "../errors.js";
import { APPENDED } from "../backend/Backend.js";
import type { StreamWriter } from "../stream/StreamWriter.js";
import type { Attempt } from "./Attempt.js";

/** What `output(tag)` returns. Its `emit` works detached (`const { emit } = output("waste")`). */
interface TagEmitter {
  tag: string;
  emit(data: unknown): Promise<void>;
}

/** The emitters of one attempt, created per tag on first use (most processors emit on one tag). */
class AttemptOutputs extends PerTag<TagEmitter> {
  constructor(
    private readonly specName: string,
    private readonly writers: ReadonlyMap<string, StreamWriter>,
    private readonly attempt: Attempt,
  ) {
    super();
  }

  /** The default tag's writer, looked up once (undefined: not yet, or the spec has no default output). */
  private defaultWriter: StreamWriter | undefined;

  /** `output.emit(data)`: rejects with `UnknownTagError` when the spec has no default output. */
  emitDefault(data: unknown): Promise<void> {
    const writer = (this.defaultWriter ??= this.writers.get("default"));
    if (!writer) return rejectOnThrow(() => this.emitterFor("default").emit(data));
    return this.emit(writer, data);
  }

  emitterFor(tag: string): TagEmitter {
    const emitter = this.cached(tag);
    if (emitter) return emitter;
    const writer = this.writers.get(tag);
    if (!writer) throw new UnknownTagError(this.specName, "output", tag, [...this.writers.keys()]);
    return this.remember({ tag, emit: (data) => this.emit(writer, data) });
  }

  // Not async: an emit that need not wait hands back the append's settled promise
  // (no promise and no extra ticks per message); errors still only reject.
  private emit(writer: StreamWriter, data: unknown): Promise<void> {
    const attempt = this.attempt;
    try {
      attempt.assertLive();
      attempt.beat();
      // write() validates before it appends (checking the attempt is still live), then waits for slow readers.
      const written = writer.write(data, attempt);
      // Only an async schema rejects later; the settled fast path cannot. Any
      // other promise is a wait inside the library (a slow reader, an async
      // schema): not a stall for the heartbeat timeout.
      if (written === APPENDED) return written;
      attempt.enterWait();
      return written.then(
        () => attempt.leaveWait(),
        (error: unknown): never => {
          attempt.leaveWait();
          if (error instanceof ValidationError) attempt.fail(error);
          throw error;
        },
      );
    } catch (error) {
      if (error instanceof ValidationError) attempt.fail(error);
      return Promise.reject(error);
    }
  }
}

/**
 * Builds the `output` of one attempt's processor context. Emits of a fenced
 * attempt are dropped (they reject with the abort reason). An invalid emit
 * rejects with `ValidationError` and fails the job at once.
 */
export function createProcessorOutput(
  specName: string,
  writers: ReadonlyMap<string, StreamWriter>,
  attempt: Attempt,
): unknown {
  const outputs = new AttemptOutputs(specName, writers, attempt);
  const output = (tag: string) => outputs.emitterFor(tag);
  return Object.assign(output, {
    // The per-message path: straight to the default writer (emit itself never throws).
    emit: (data: unknown) => outputs.emitDefault(data),
  });
}
