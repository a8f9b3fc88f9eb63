import type { AnyActorRef, InspectionEvent } from "xstate";

/**
 * Presents worker actors to inspectors under their system id
 * (`worker:<worker>:<jobId>`) instead of their child id (`worker:<worker>`),
 * so each worker of each job has its own readable name. The actor itself is
 * untouched: the view only overrides `id`, everything else reads through.
 */
export function withReadableNames(event: InspectionEvent): InspectionEvent {
  // `options.systemId`: XState announces an actor (`@xstate.actor`) before it sets `systemId`.
  const ref = event.actorRef as AnyActorRef & { systemId?: string; options?: { systemId?: string } };
  const systemId = ref.systemId ?? ref.options?.systemId;
  if (!systemId || systemId === ref.id) return event;
  const named = Object.create(ref, { id: { value: systemId, enumerable: true } }) as AnyActorRef;
  return { ...event, actorRef: named } as InspectionEvent;
}
