import type { AnyActorRef, InspectionEvent } from "xstate";
import { serializeError } from "../errors.js";

/**
 * What an inspector receives for one XState inspection event: worker actors
 * named by their system id, and every error turned into plain data.
 *
 * - Worker actors are presented under their system id
 *   (`worker:<worker>:<jobId>`) instead of their child id (`worker:<worker>`),
 *   so each worker of each job has its own readable name. The actor itself is
 *   untouched: the view only overrides `id`, everything else reads through.
 * - Errors (a worker's `context.error`, a job's, the `error` of
 *   `xstate.error.actor.*` and `WORKER.FAILED` events, a crashed worker's
 *   output) reach inspectors as `{ name, message, code, cause, … }`: an
 *   `Error` serialises to `{}` in JSON, so inspectors would not show why a
 *   worker failed. The runtime keeps the real error objects.
 */
export function toInspectable(event: InspectionEvent): InspectionEvent {
  let out = withReadableName(event);
  // Snapshot, microstep and event reports all carry the event that was processed.
  const inner = (out as { event?: { error?: unknown } }).event;
  if (inner && needsSerializing(inner.error)) out = { ...out, event: { ...inner, error: serializeError(inner.error) } } as unknown as InspectionEvent;
  // Snapshot and microstep reports carry the actor's snapshot.
  const snapshot = (out as { snapshot?: { context?: { error?: unknown }; error?: unknown; output?: { error?: unknown } } }).snapshot;
  if (!snapshot) return out;
  const contextError = snapshot.context?.error;
  const ownError = snapshot.error;
  const outputError = snapshot.output?.error;
  if (!needsSerializing(contextError) && !needsSerializing(ownError) && !needsSerializing(outputError)) return out;
  const copy: Record<string, unknown> = { ...snapshot };
  if (needsSerializing(contextError)) copy.context = { ...snapshot.context, error: serializeError(contextError) };
  if (needsSerializing(ownError)) copy.error = serializeError(ownError);
  if (needsSerializing(outputError)) copy.output = { ...snapshot.output, error: serializeError(outputError) };
  return { ...out, snapshot: copy } as unknown as InspectionEvent;
}

/** Errors and values JSON cannot carry become serialised errors; plain data passes as it is. */
function needsSerializing(error: unknown): boolean {
  if (error === undefined || error === null || typeof error !== "object") return false;
  try {
    if (error instanceof Error) return true;
    JSON.stringify(error);
    return false;
  } catch {
    return true;
  }
}

function withReadableName(event: InspectionEvent): InspectionEvent {
  // `options.systemId`: XState announces an actor (`@xstate.actor`) before it sets `systemId`.
  const ref = event.actorRef as AnyActorRef & { systemId?: string; options?: { systemId?: string } };
  const systemId = ref.systemId ?? ref.options?.systemId;
  if (!systemId || systemId === ref.id) return event;
  const named = Object.create(ref, { id: { value: systemId, enumerable: true } }) as AnyActorRef;
  return { ...event, actorRef: named } as InspectionEvent;
}
