import { createActor } from "xstate";
import { machines } from "../library.js";

const { jobMachine, workerMachine } = machines;

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
