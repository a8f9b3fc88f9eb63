import { createActor, fromPromise, toPromise, type AnyActorLogic } from "xstate";
import { machines } from "../library.js";

const { jobMachine, workerMachine, DEFAULT_RETRY } = machines;

/**
 * The baseline of scenario 2: what a job costs XState alone. Creates, starts
 * and stops one job actor and one worker actor of the pure machines.
 */
export function rawJobAndWorker(jobId: string): void {
  const job = createActor(jobMachine, { input: { jobId, specName: "short", workers: ["short"] } }).start();
  const worker = createActor(workerMachine, { input: { jobId, workerName: "short" } }).start();
  worker.stop();
  job.stop();
}

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
 * Not a target's baseline, a yardstick: the whole lifecycle of a short job in
 * XState alone (START, spawn the worker, run its execute actor, done,
 * completed), what a library on XState cannot go below.
 */
export function rawLifecycle(jobId: string): Promise<unknown> {
  const job = createActor(lifecycleMachine, { input: { jobId, specName: "short", workers: ["short"] } }).start();
  job.send(START);
  return toPromise(job);
}
