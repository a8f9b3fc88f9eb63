import type { ReportedWorkerState, WorkerContext } from "../../machines/worker.js";
import { TimeoutError, isInstance, serializeError, type SerializedError } from "../errors.js";
import type { JobStatus, LifecycleEvent } from "../backend/events.js";

/**
 * How the job machine's states read as statuses: its `stopping` (workers
 * stopping after a cancel or a failure) is still `running` for users.
 */
const STATUS_OF: Readonly<Record<string, JobStatus>> = {
  queued: "queued",
  running: "running",
  stopping: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/** The status a job machine state reads as (`running` for any state not named). */
export function jobStatusOf(machineState: string): JobStatus {
  return Object.hasOwn(STATUS_OF, machineState) ? STATUS_OF[machineState]! : "running";
}

/**
 * The lifecycle events a worker entering `state` means, causes before their
 * effects: a timeout before the `error` (or `stopped`) it caused, a granted
 * restart before `recovering`, then the `worker.state` itself. Each event is
 * one literal (no spread of shared fields: one object per event, one shape).
 */
export function workerStateEvents(
  jobId: string,
  specName: string,
  at: number,
  state: ReportedWorkerState,
  context: WorkerContext,
  outbox: { record(event: LifecycleEvent): void },
): void {
  const { workerName, attempt, error } = context;
  // A stop timeout is reported where it ends the stop: `stopped`, or `recovering` after `restarting`.
  const stopEnded = state === "stopped" || state === "recovering";
  if (isInstance(error, TimeoutError) && ((state === "error" && error.kind !== "stop") || (stopEnded && error.kind === "stop"))) {
    outbox.record({ type: "timeout", jobId, specName, at, workerName, kind: error.kind, ms: error.ms });
  }
  if (state === "recovering") {
    const restart: LifecycleEvent & { type: "worker.restart" } = { type: "worker.restart", jobId, specName, at, workerName, attempt, delayMs: context.backoffMs };
    if (error !== undefined) restart.error = serializeError(error);
    outbox.record(restart);
  }
  const event: LifecycleEvent & { type: "worker.state" } = { type: "worker.state", jobId, specName, at, workerName, state, attempt };
  if (state === "error" || state === "crashed") event.error = withStack(serializeError(error), error);
  outbox.record(event);
}

/** Lines of a failure's stack a `worker.state` event keeps, and characters per line: a viewer in another process shows where it failed. */
const STACK_LINES = 12;
const STACK_LINE_CHARS = 300;

/** `serialized` with the thrown `Error`'s stack (its first 12 lines, each cut to 300 characters) as `stack`, when it has one. */
function withStack(serialized: SerializedError, error: unknown): SerializedError {
  let stack: unknown;
  try {
    stack = error instanceof Error ? error.stack : undefined;
  } catch {
    return serialized;
  }
  if (typeof stack !== "string") return serialized;
  const kept = stack
    .split("\n")
    .slice(0, STACK_LINES)
    .map((line) => (line.length > STACK_LINE_CHARS ? `${line.slice(0, STACK_LINE_CHARS)}…` : line))
    .join("\n");
  return { ...serialized, stack: kept };
}
