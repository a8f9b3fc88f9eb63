import type { AnyActorLogic, InspectionEvent } from "xstate";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { Schema } from "../schema.js";
import type { DataStream, StreamNamer } from "../stream/DataStream.js";
import type { JobRuntime } from "../job/JobRuntime.js";
import type { LifecycleEvent, LifecycleListener } from "../backend/events.js";

/** What a job runtime needs from its env. Not public API. */
export interface EnvInternals {
  readonly clock: Clock;
  /** The env's logger, guarded: its methods never throw. */
  readonly logger: Logger;
  /** The inspector a new job's actor gets (guarded, errors made serialisable), or undefined when nobody inspects. */
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly jobMachine: AnyActorLogic;
  /**
   * A stream of a job: inputs keep only unacknowledged messages and carry no
   * timestamps; outputs keep `historyLimit` for late readers. `label` may be
   * who names the stream, on first use.
   */
  createStream(label: string | StreamNamer, schema: Schema | undefined, role: "input" | "output"): DataStream;
  /** The job is final: it leaves the env and frees its concurrency slot (waiting jobs start at `startWaitingJobs`). */
  jobFinished(job: JobRuntime): void;
  /** Starts the jobs waiting in the finished job's queue, as slots allow. */
  startWaitingJobs(job: JobRuntime): void;
  /** Hands an event to the env's listeners. */
  broadcast(event: LifecycleEvent): void;
  /** Calls a lifecycle listener; what it throws is reported once per listener, never rethrown. */
  callListener(listener: LifecycleListener, event: LifecycleEvent): void;
  /** Keeps the env's `close()` waiting for work that outlives a job's final status (a worker's `dispose`). */
  track(work: Promise<unknown>): void;
}
