/**
 * `liveworker/machines`: the pure XState machines and the restart policy
 * they apply. They do no I/O (the runtime provides their actors), so they can
 * be drawn in the Stately editor, inspected, or walked with `xstate/graph`.
 *
 * @example
 * import { createActor } from "xstate";
 * import { workerMachine } from "liveworker/machines";
 * const worker = createActor(workerMachine, { input: { jobId: "j1", workerName: "chop" } }).start();
 */
export { workerMachine } from "./worker.js";
export type {
  AttemptInput,
  WorkerContext,
  WorkerEvent,
  WorkerFailedEvent,
  WorkerMachine,
  WorkerMachineInput,
  WorkerMachineTimeouts,
  WorkerOutput,
} from "./worker.js";
export { jobMachine, restartSet, workerActorId, workerSystemId } from "./job.js";
export type { JobContext, JobEvent, JobMachine, JobMachineInput, JobMachineTimeouts, JobStartEvent, SupervisionStrategy } from "./job.js";
export { DEFAULT_RETRY, decideRestart, isRetryableByDefault, resolveRetryPolicy } from "./restartPolicy.js";
export type { BackoffOptions, RestartDecision, RetryOptions, RetryPolicy } from "./restartPolicy.js";
