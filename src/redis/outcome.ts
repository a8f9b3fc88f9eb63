import { serialize, deserialize } from "node:v8";
import { rebuildError, serializeError, type SerializedError } from "../errors.js";
import type { JobOutcome } from "../backend/Backend.js";
import type { FinalStatus } from "../backend/events.js";

/** A job's outcome as bytes: its error serialised, so it is rebuilt as its class in any process. */
export function encodeOutcome(outcome: JobOutcome): Buffer {
  return serialize({ status: outcome.status, ...(outcome.error !== undefined ? { error: serializeError(outcome.error) } : {}) });
}

export function decodeOutcome(bytes: Buffer): JobOutcome {
  const stored = deserialize(bytes) as { status: FinalStatus; error?: SerializedError };
  return stored.error === undefined ? { status: stored.status } : { status: stored.status, error: rebuildError(stored.error) };
}
