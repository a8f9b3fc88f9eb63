import type { AnyActorRef, InspectionEvent } from "xstate";
import { serializeError } from "../errors.js";

/**
 * What an inspector receives for one XState inspection event: worker actors
 * named by their system id, and every error turned into plain data.
 *
 * - Worker actors are presented under their system id
 *   (`worker:<worker>/<jobId>`) instead of their child id (`worker:<worker>`),
 *   so each worker of each job has its own readable name. The actor itself is
 *   untouched: the view only overrides `id`, everything else reads through.
 * - Errors (a worker's `context.error`, a job's, the `error` of
 *   `xstate.error.actor.*` and `WORKER.FAILED` events, a crashed worker's
 *   output) reach inspectors as `{ name, message, code, cause, … }`: an
 *   `Error` serialises to `{}` in JSON, so inspectors would not show why a
 *   worker failed. The runtime keeps the real error objects.
 */
export function toInspectable(event: InspectionEvent): InspectionEvent {
  const out = withReadableName(event) as unknown as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  // Snapshot, microstep and event reports carry the event processed (`error`, a done event's
  // `output.error`); snapshot and microstep reports the actor's snapshot (`context.error`,
  // `error`, `output.error`); action reports their params (a `sendTo`'s event with its `error`).
  for (const key of ["event", "snapshot", "action"] as const) {
    const value = out[key];
    const plain = withPlainErrors(value, 0);
    if (plain !== value) (copy ??= { ...out })[key] = plain;
  }
  return (copy ?? out) as unknown as InspectionEvent;
}

/** How deep errors are looked for: `snapshot.context.error`, `action.params.error`, `event.output.error`. */
const ERROR_DEPTH = 2;

/**
 * `value` with every `error` field (down to `ERROR_DEPTH` levels) that JSON
 * cannot carry replaced by its serialised form. Objects on the way are
 * copied, not changed (a snapshot keeps its own `toJSON`); `value` itself is
 * returned when there is nothing to replace.
 */
function withPlainErrors(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value) || depth > ERROR_DEPTH) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of ["error", "context", "output", "params", "event"]) {
    let field: unknown;
    try {
      if (!Object.hasOwn(record, key)) continue;
      field = record[key];
    } catch {
      continue;
    }
    const plain = key === "error" ? (needsSerializing(field) ? inspectableError(field) : field) : withPlainErrors(field, depth + 1);
    if (plain !== field) (copy ??= { ...record })[key] = plain;
  }
  return copy ?? value;
}

/** An error as inspectors get it: serialised, with its stack (a developer's tool: the viewer's detail panel shows it). */
function inspectableError(error: unknown): unknown {
  const serialized = serializeError(error);
  let stack: unknown;
  try {
    stack = error instanceof Error ? error.stack : undefined;
  } catch {
    stack = undefined;
  }
  return typeof stack === "string" && !Object.hasOwn(serialized, "stack") ? { ...serialized, stack } : serialized;
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
  const named = readableActor(event.actorRef as AnyActorRef);
  return named === event.actorRef ? event : ({ ...event, actorRef: named } as InspectionEvent);
}

/** Each worker actor's renamed view, made once. */
const readable = new WeakMap<AnyActorRef, AnyActorRef>();

/** `ref` presented under its system id (`worker:<worker>/<jobId>`), as inspection events name it; `ref` itself when that is its id. */
export function readableActor(ref: AnyActorRef): AnyActorRef {
  const known = readable.get(ref);
  if (known) return known;
  // `options.systemId`: XState announces an actor (`@xstate.actor`) before it sets `systemId`.
  const systemId = (ref as { systemId?: string }).systemId ?? (ref as { options?: { systemId?: string } }).options?.systemId;
  if (!systemId || systemId === ref.id) return ref;
  const named = Object.create(ref, { id: { value: systemId, enumerable: true } }) as AnyActorRef;
  readable.set(ref, named);
  return named;
}
