import type { JobStatus } from "../../src/index.js";
import { describeJob, isFinal, type JobRecord } from "./concurrentJobRecord.js";

/** User code running for a job: entered, not returned, and its signal not aborted. */
export interface Activity {
  job: JobRecord;
  phase: "init" | "processor";
  attempt: number;
  signal: AbortSignal;
  done: boolean;
}

/**
 * Checks, as it happens, that at most `concurrency` jobs of a def run and that
 * they start in enqueue order: from the `job.status` events, and independently
 * from inside user code (inits and processors entered and still live).
 */
export class ConcurrencyWatch {
  private readonly running: Set<JobRecord>[];
  private readonly lastStarted: number[];
  private readonly live: Set<Activity>[];
  private readonly lastEntered: number[];

  constructor(
    private readonly concurrency: readonly number[],
    /** Every job enqueued so far, in enqueue order. */
    private readonly jobs: readonly JobRecord[],
    private readonly violation: (message: string) => void,
  ) {
    this.running = concurrency.map(() => new Set());
    this.lastStarted = concurrency.map(() => -1);
    this.live = concurrency.map(() => new Set());
    this.lastEntered = concurrency.map(() => -1);
  }

  /** A `job.status` event of `job`. */
  status(job: JobRecord, status: JobStatus): void {
    const before = job.statuses.at(-1);
    if (isFinal(before)) this.violation(`${describeJob(job)}: job.status "${status}" after its final status "${before}"`);
    job.statuses.push(status);
    const running = this.running[job.def]!;
    if (isFinal(status)) running.delete(job);
    if (status !== "running") return;
    running.add(job);
    const limit = this.concurrency[job.def]!;
    if (running.size > limit) {
      this.violation(`concurrency exceeded: def d${job.def} (concurrency ${limit}) has ${running.size} jobs running at once: ${ids(running)}`);
    }
    if (job.index < this.lastStarted[job.def]!) {
      this.violation(`FIFO: ${describeJob(job)} started running after a job of def d${job.def} enqueued later (#${this.lastStarted[job.def]})`);
    }
    this.lastStarted[job.def] = Math.max(this.lastStarted[job.def]!, job.index);
    for (const earlier of this.jobs) {
      if (earlier.def === job.def && earlier.index < job.index && earlier.statuses.at(-1) === "queued" && !earlier.cancelRequested) {
        this.violation(`FIFO: ${describeJob(job)} started running while ${describeJob(earlier)} of the same def d${job.def} still waits`);
      }
    }
  }

  /** User code of `job` starts; set `done` on the result when it returns or throws. */
  enter(job: JobRecord, phase: Activity["phase"], attempt: number, signal: AbortSignal): Activity {
    const live = this.live[job.def]!;
    for (const activity of [...live]) if (activity.done || activity.signal.aborted) live.delete(activity);
    for (const other of live) {
      if (other.job === job) {
        this.violation(
          `${describeJob(job)}: ${phase} of attempt ${attempt} started while ${other.phase} of attempt ${other.attempt} still runs with a live signal`,
        );
      }
    }
    const activity: Activity = { job, phase, attempt, signal, done: false };
    live.add(activity);
    const limit = this.concurrency[job.def]!;
    const jobsInUserCode = new Set([...live].map((a) => a.job));
    if (jobsInUserCode.size > limit) {
      this.violation(
        `concurrency exceeded in user code: def d${job.def} (concurrency ${limit}) runs init/processor of ${jobsInUserCode.size} jobs at once: ${ids(jobsInUserCode)}`,
      );
    }
    if (!job.enteredUserCode) {
      job.enteredUserCode = true;
      if (job.index < this.lastEntered[job.def]!) {
        this.violation(`FIFO in user code: ${describeJob(job)} first ran after a job of def d${job.def} enqueued later (#${this.lastEntered[job.def]})`);
      }
      this.lastEntered[job.def] = Math.max(this.lastEntered[job.def]!, job.index);
    }
    return activity;
  }
}

const ids = (jobs: Iterable<JobRecord>) => [...jobs].map((job) => job.jobId).join(", ");
