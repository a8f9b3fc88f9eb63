import { fromPromise, type AnyActorLogic } from "xstate";
import { jobMachine, type JobContext } from "../../machines/job.js";
import { workerMachine, type AttemptInput, type ReportedWorkerState, type WorkerContext } from "../../machines/worker.js";
import type { JobRuntime } from "./JobRuntime.js";
import { fromAttempt } from "./attemptActor.js";

/**
 * The job machine with the worker's attempt actors and reporting actions
 * provided: each dispatches to the runtime of its job by id. Built once per
 * env, so a job costs no `provide()` call.
 */
export function createRuntimeJobMachine(findJob: (jobId: string) => JobRuntime | undefined): AnyActorLogic {
  const runtimeOf = (input: AttemptInput): JobRuntime => {
    const job = findJob(input.jobId);
    if (!job) throw new Error(`internal: no runtime for job "${input.jobId}"`);
    return job;
  };
  const worker = workerMachine.provide({
    actors: {
      initialize: fromAttempt((input, report) => runtimeOf(input).initialize(input, report)),
      execute: fromAttempt((input, report) => runtimeOf(input).execute(input, report)),
      abandon: fromPromise<void, AttemptInput>(({ input }) => runtimeOf(input).abandon(input)),
    },
    actions: {
      reportState: ({ context }: { context: WorkerContext }, params: { state: ReportedWorkerState }) =>
        findJob(context.jobId)?.onWorkerState(params.state, context),
    },
  });
  return jobMachine.provide({
    actors: { worker },
    actions: {
      reportJobTimeout: ({ context }: { context: JobContext }) => findJob(context.jobId)?.onJobTimeout(context.timeouts.jobMs!),
    },
  });
}
