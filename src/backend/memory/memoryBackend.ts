import { ValidationError, describeError, rebuildError, serializeError } from "../../errors.js";
import { assertKnownKeys } from "../../options.js";
import type { Backend, JobOutcome, JobRecord } from "../Backend.js";
import type { LifecycleEvent } from "../events.js";
import { MemoryEventBus } from "./MemoryEventBus.js";
import { MemoryJobQueue } from "./MemoryJobQueue.js";
import { MemoryStreamStore } from "./MemoryStreamStore.js";

/** Options of `memoryBackend`. */
export interface MemoryBackendOptions {
  /**
   * Copies everything that crosses the backend as a process boundary would:
   * each message and worker state (`structuredClone`), each event, and each
   * error (an outcome's, and a failed stream's for each reader that throws
   * it: serialised, then rebuilt as its class from its `code`).
   * Data that cannot be copied (a function, a symbol) is refused with a
   * `ValidationError`; a class instance arrives as a plain object. Slower;
   * it proves a program would run unchanged on a backend across processes.
   * Default false.
   */
  copy?: boolean;
}

/**
 * The default backend: jobs, streams and events kept in this process, no
 * setup. Each env made without a `backend` gets its own.
 *
 * @example
 * const env = LiveEnv.create({ backend: memoryBackend({ copy: true }) });
 */
export function memoryBackend(options: MemoryBackendOptions = {}): Backend {
  assertKnownKeys("memoryBackend options", options, ["copy"]);
  if (options.copy !== undefined && typeof options.copy !== "boolean") {
    throw new ValidationError(`copy of memoryBackend must be true or false; got ${describeError(options.copy)}`);
  }
  const copy = options.copy === true;
  const events = new MemoryEventBus(copy ? (event) => copyData(event, `the ${event.type} event of job "${event.jobId}"`) as LifecycleEvent : undefined);
  const jobs = copy
    ? new MemoryJobQueue(copyOutcome, (record) => copyData(record, `the job options of job "${record.jobId}"`) as JobRecord)
    : new MemoryJobQueue((outcome) => outcome);
  return {
    jobs,
    streams: new MemoryStreamStore(copy ? copyData : undefined, copy ? copyError : undefined),
    events,
    close: async () => jobs.close(),
  };
}

/**
 * A structured copy, or a `ValidationError` naming `where` (what was being
 * written: `the message for input "default" of job "j1" (spec "chop")`) and
 * why it cannot cross a process boundary.
 */
function copyData(value: unknown, where: string): unknown {
  try {
    return structuredClone(value);
  } catch (error) {
    throw new ValidationError(
      `Cannot send ${where}: it cannot be copied across a process boundary (structuredClone failed: ${describeError(error)}); send plain data: objects, arrays, strings, numbers, booleans, null, Dates, Maps, Sets, typed arrays`,
      [],
      where,
    );
  }
}

/** An error as another process would get it: serialised and rebuilt. */
function copyError(error: unknown): unknown {
  return rebuildError(serializeError(error));
}

/** An outcome as another process would get it: its error serialised and rebuilt. */
function copyOutcome(outcome: JobOutcome): JobOutcome {
  if (outcome.error === undefined) return outcome;
  return { status: outcome.status, error: copyError(outcome.error) };
}
