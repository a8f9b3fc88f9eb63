import { fromPromise, type AnyActorLogic } from "xstate";
import { jobMachine } from "../../machines/job.js";
import { workerMachine, type AttemptInput } from "../../machines/worker.js";
import type { JobRuntime } from "../job/JobRuntime.js";
import { fromAttempt } from "./attemptActor.js";

/**
 * The job machine with the worker's attempt actors provided: each dispatches
 * to the runtime of its job by id. Built once per env, so a job costs no
 * `provide()` call.
 */
export function createRuntimeJobMachine(findJob: (jobId: string) => JobRuntime | undefined): AnyActorLogic {
  const runtimeOf = (input: AttemptInput): JobRuntime => {
    const job = findJob(input.jobId);
    if (!job) throw new Error(`internal: no runtime for job "${input.jobId}"`);
    return job;
  };
  const worker = workerMachine.provide({
    actors: {
      initialize: fromAttempt((input) => runtimeOf(input).initialize(input)),
      execute: fromAttempt((input) => runtimeOf(input).execute(input)),
      abandon: fromPromise<void, AttemptInput>(({ input }) => runtimeOf(input).abandon(input)),
    },
  });
  return jobMachine.provide({ actors: { worker } });
}
