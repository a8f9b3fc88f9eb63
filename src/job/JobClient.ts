import type { JobStates, JobStream, JobTicket, StreamKey } from "../backend/Backend.js";
import type { LifecycleListener } from "../backend/events.js";
import type { JobPlan } from "./JobPlan.js";

/** What a job handle needs from its env: the backend's streams, guarded listeners, cancel. Not public API. */
export interface JobClient {
  /** A stream of a job, with the env's limits (outputs stamped by its clock). */
  openStream(key: StreamKey): JobStream;
  /** Where a job's committed worker states are read (the backend's `StreamStore.states`). */
  states(jobId: string): JobStates;
  /** `listener` wrapped so that what it throws (or rejects with) is reported once, never rethrown. */
  guarded(listener: LifecycleListener, what: string): LifecycleListener;
  /** Cancels the job: where it runs, or here when it was still queued (it never ran). */
  cancel(ticket: JobTicket, plan: JobPlan, reason: string): Promise<void>;
  /**
   * Rejects with `EnvClosedError` once this process can no longer follow its
   * jobs (its env closed on a shared backend: the jobs run on elsewhere).
   * Never on a backend of the env's own, where closing ends the jobs.
   */
  readonly detached: Promise<never>;
}
