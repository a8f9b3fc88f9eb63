import { serializeError } from "../errors.js";
import type { Backend, JobOutcome } from "../backend/Backend.js";

/**
 * Ends a job that never ran (cancelled while queued, or handed to an env
 * that cannot run it): its streams end (readers throw its error), its final
 * event goes out, and the backend forgets its data.
 *
 * @param specName the spec or flow name, for the event.
 * @param at the time of the event, by the env's clock.
 */
export function finishUnstarted(backend: Backend, jobId: string, specName: string, outcome: JobOutcome, at: number): void {
  const why = `job "${jobId}" is ${outcome.status}`;
  backend.streams.endAll(jobId, why, outcome.error);
  backend.events.publish({
    type: "job.status",
    jobId,
    specName,
    at,
    status: outcome.status,
    ...(outcome.error !== undefined ? { error: serializeError(outcome.error) } : {}),
  });
  backend.streams.dispose(jobId);
  backend.events.dispose(jobId);
}
