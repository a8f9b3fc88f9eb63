import type { SerializedError, TimeoutKind } from "../errors.js";

/** Status of a job as users see it. */
export type JobStatus = "queued" | "running" | FinalStatus;

/** A status no job leaves. */
export type FinalStatus = "completed" | "failed" | "cancelled";

/** True for a status no job leaves (`completed`, `failed`, `cancelled`). */
export function isFinalStatus(status: string): status is FinalStatus {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** A worker machine state, as named in `machines/worker`. */
export type WorkerState =
  | "initializing"
  | "executing"
  | "error"
  | "restarting"
  | "recovering"
  | "stopping"
  | "done"
  | "crashed"
  | "stopped";

/**
 * What `job.subscribe` and `env.subscribe` deliver. Every event carries the
 * job id, the spec name and `at` (the env clock's time); errors are
 * serialised plain objects.
 */
export type LifecycleEvent =
  | { type: "job.status"; jobId: string; specName: string; at: number; status: JobStatus; error?: SerializedError }
  | {
      type: "worker.state";
      jobId: string;
      specName: string;
      at: number;
      workerName: string;
      state: WorkerState;
      attempt: number;
      error?: SerializedError;
    }
  | {
      type: "worker.restart";
      jobId: string;
      specName: string;
      at: number;
      workerName: string;
      /** The attempt that failed. */
      attempt: number;
      delayMs: number;
      error?: SerializedError;
    }
  | { type: "job.progress"; jobId: string; specName: string; at: number; workerName: string; value: unknown }
  | {
      type: "timeout";
      jobId: string;
      specName: string;
      at: number;
      /** Which timeout: `init`, `heartbeat` and `stop` name a worker; `job` the whole job. */
      kind: TimeoutKind;
      ms: number;
      workerName?: string;
    };

/** A listener of lifecycle events. */
export type LifecycleListener = (event: LifecycleEvent) => void;
