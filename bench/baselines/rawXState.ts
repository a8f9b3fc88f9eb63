import { createActor, fromPromise, toPromise, type AnyActorLogic } from "xstate";
import { machines } from "../library.js";

const { jobMachine, workerMachine, DEFAULT_RETRY } = machines;

/** The pure job machine whose worker's attempt resolves at once: no streams, no processor. */
const lifecycleMachine: AnyActorLogic = jobMachine.provide({
  actors: {
    worker: workerMachine.provide({
      actors: { execute: fromPromise(async () => {}) },
    }),
  },
});
const START = { type: "START", retry: DEFAULT_RETRY, timeouts: {}, withoutInit: ["short"] } as const;

/**
 * The baseline of scenario 2: the whole lifecycle of a short job in XState
 * alone, with liveworker's own machines (START, spawn the worker, run its
 * execute actor, done, completed): what a library on XState cannot go below.
 */
export function rawLifecycle(jobId: string): Promise<unknown> {
  const job = createActor(lifecycleMachine, { input: { jobId, specName: "short", workers: ["short"] } }).start();
  job.send(START);
  return toPromise(job);
}
