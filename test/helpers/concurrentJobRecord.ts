import { JobCancelledError, JobFailedError, type JobStatus, type LiveJob } from "../../src/index.js";
import type { Fault } from "./concurrentJobsScenario.js";
import { isSameError } from "./sameError.js";

/**
 * What the concurrent-jobs property test records about each job, and the
 * guarantees it checks on a job once everything settled: one final status
 * that waiters and readers agree with, fencing, and at-least-once delivery.
 */

export const FINAL: readonly JobStatus[] = ["completed", "failed", "cancelled"];
export const isFinal = (status: JobStatus | undefined): boolean => status !== undefined && FINAL.includes(status);

/** Promise state without awaiting it. */
export interface Watched<T> {
  settled: boolean;
  rejected: boolean;
  value?: T;
  error?: unknown;
}
export function watch<T>(promise: Promise<T>, onSettled?: (state: Watched<T>) => void): Watched<T> {
  const state: Watched<T> = { settled: false, rejected: false };
  promise.then(
    (value) => {
      Object.assign(state, { settled: true, value });
      onSettled?.(state);
    },
    (error: unknown) => {
      Object.assign(state, { settled: true, rejected: true, error });
      onSettled?.(state);
    },
  );
  return state;
}

/** What the processors emit: `emitId` is unique per job. */
export interface Output {
  seq: number;
  attempt: number;
  emitId: number;
}

/** What one attempt's processor got, and which messages it finished (emitted for) before asking for the next. */
export interface AttemptLog {
  received: number[];
  processed: Set<number>;
}

/** Everything the test knows about one job. */
export interface JobRecord {
  /** Enqueue order within the run. */
  index: number;
  def: number;
  jobId: string;
  fault: Fault;
  handle?: LiveJob;
  statuses: JobStatus[];
  cancelRequested: boolean;
  terminated: boolean;
  nextSeq: number;
  /** Messages whose `feed` resolved: appended to the input. */
  fed: Set<number>;
  feeds: Watched<void>[];
  attempts: Map<number, AttemptLog>;
  /** Emits made after the attempt's signal aborted: emitId → what. */
  fencedEmits: Map<number, string>;
  fencedEmitsResolved: number[];
  emitCount: number;
  enteredUserCode: boolean;
  finished?: Watched<void>;
  reader?: Watched<void>;
  lateReader?: Watched<void>;
  /** What each reader got before it ended (or threw). */
  readerGot: Output[];
  lateReaderGot: Output[];
  cancels: Watched<void>[];
}

/** A job about to be enqueued: nothing seen yet. */
export function newJobRecord(index: number, def: number, jobId: string, fault: Fault): JobRecord {
  return {
    index,
    def,
    jobId,
    fault,
    statuses: [],
    cancelRequested: false,
    terminated: false,
    nextSeq: 0,
    fed: new Set(),
    feeds: [],
    attempts: new Map(),
    fencedEmits: new Map(),
    fencedEmitsResolved: [],
    emitCount: 0,
    enteredUserCode: false,
    readerGot: [],
    lateReaderGot: [],
    cancels: [],
  };
}

/** Outcomes `checkJob` counts, to show the scenarios reach them. */
export type CountedOutcome = "completed" | "failed" | "cancelled" | "cancelledWhileQueued" | "redeliveries";

export const describeJob = (job: JobRecord): string => `job ${job.jobId} (#${job.index} enqueued)`;

/** The per-job guarantees, once everything settled. */
export function checkJob(job: JobRecord, violation: (message: string) => void, count: (what: CountedOutcome) => void): void {
  const name = describeJob(job);
  const finals = job.statuses.filter(isFinal);
  if (finals.length !== 1) return violation(`${name}: ${finals.length} final job.status events (${job.statuses.join(" → ")}), not exactly one`);
  const status = finals[0]!;
  count(status as CountedOutcome);
  const path = job.statuses.join(" → ");
  if (path === "queued → cancelled") count("cancelledWhileQueued");
  else if (path !== `queued → running → ${status}`) violation(`${name}: job.status events ${path}; expected queued → running → ${status}, or queued → cancelled`);
  const handle = job.handle!;
  if (handle.status !== status) violation(`${name}: job.status is "${handle.status}" but its final event said "${status}"`);

  // waitUntilFinish and both readers agree with the status.
  const finished = job.finished!;
  const readers = { "early reader": job.reader!, "late reader": job.lateReader! };
  if (status === "completed") {
    if (finished.rejected) violation(`${name}: completed but waitUntilFinish rejected with ${String(finished.error)}`);
    for (const [which, reader] of Object.entries(readers)) {
      if (reader.rejected) violation(`${name}: completed but its ${which} threw ${String(reader.error)}`);
    }
  } else {
    const expected = status === "failed" ? JobFailedError : JobCancelledError;
    if (!(finished.error instanceof expected)) violation(`${name}: ${status} but waitUntilFinish gave ${String(finished.error ?? "no error")}`);
    for (const [which, reader] of Object.entries(readers)) {
      if (!isSameError(reader.error, finished.error)) violation(`${name}: ${status} but its ${which} ended with ${String(reader.error ?? "no error")}, not the job's error`);
    }
  }

  // Fencing: nothing an attempt emitted after its signal aborted reaches a reader, and such an emit never resolves.
  for (const [which, got] of [["early reader", job.readerGot], ["late reader", job.lateReaderGot]] as const) {
    for (const { emitId } of got) {
      const fenced = job.fencedEmits.get(emitId);
      if (fenced) violation(`fencing: the ${which} of ${name} got ${fenced}`);
    }
  }
  for (const emitId of job.fencedEmitsResolved) violation(`fencing: ${name}: ${job.fencedEmits.get(emitId)} resolved instead of being dropped`);

  // Delivery: each attempt gets messages in order, from the first one not acknowledged. A message is
  // acknowledged when the processor asks for the next one, so an attempt that did not finish its last
  // message leaves it to the next attempt.
  let expectedFirst = 0;
  for (const attempt of [...job.attempts.keys()].sort((a, b) => a - b)) {
    const { received, processed } = job.attempts.get(attempt)!;
    if (received.length === 0) continue;
    if (received[0] !== expectedFirst) {
      violation(
        `at-least-once: attempt ${attempt} of ${name} started at message ${received[0]}; the first message not acknowledged was ${expectedFirst}`,
      );
    }
    if (receivedBefore(job, attempt, received[0]!)) count("redeliveries");
    if (received.some((seq, i) => seq !== received[0]! + i)) violation(`order: attempt ${attempt} of ${name} got messages ${received.join(",")}`);
    const last = received.at(-1)!;
    expectedFirst = processed.has(last) ? last + 1 : last;
  }
  if (status !== "completed") return;
  const processedAny = new Set([...job.attempts.values()].flatMap((log) => [...log.processed]));
  const emitted = new Set(job.readerGot.map((output) => output.seq));
  for (const seq of [...job.fed].sort((a, b) => a - b)) {
    if (!processedAny.has(seq)) violation(`at-least-once: ${name} completed but message ${seq} it was fed was never processed`);
    else if (!emitted.has(seq)) violation(`at-least-once: ${name} completed but its reader never got the output of message ${seq}`);
  }
}

function receivedBefore(job: JobRecord, attempt: number, seq: number): boolean {
  for (const [earlier, log] of job.attempts) if (earlier < attempt && log.received.includes(seq)) return true;
  return false;
}
