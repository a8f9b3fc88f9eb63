import type { AnyActorLogic, InspectionEvent } from "xstate";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { JobStream, StreamConsumer, StreamKey, WriteGuard } from "../backend/Backend.js";
import type { LifecycleEvent } from "../backend/events.js";

/** What a running job needs from the env that runs it. Not public API. */
export interface RuntimeServices {
  readonly clock: Clock;
  /** The env's logger, guarded: its methods never throw. */
  readonly logger: Logger;
  /** The inspector a new job's actor gets (guarded, errors made serialisable), or undefined when nobody inspects. */
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  /** The job machine with the runtime's actors and actions provided (one per env). */
  readonly jobMachine: AnyActorLogic;
  /** A stream of a job, with the env's limits (outputs stamped by its clock). */
  openStream(key: StreamKey): JobStream;
  /** Commits a stateful worker's state with its input (the backend's `StreamStore.commit`). */
  commitState(jobId: string, node: string, consumers: readonly StreamConsumer[], state: unknown, guard: WriteGuard): void;
  /** Hands a lifecycle event to the event bus. */
  publish(event: LifecycleEvent): void;
  /** The job is final: it no longer runs here (the object is the job's runtime: a stale runtime of the same id changes nothing). */
  jobFinished(job: { readonly jobId: string }): void;
  /** Forgets the job's streams and journal (after its final event). */
  forget(jobId: string): void;
  /** Keeps the env's `close()` waiting for work that outlives a job's final status (a worker's `dispose`). */
  track(work: Promise<unknown>): void;
}
