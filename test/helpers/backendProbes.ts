import type { Backend, JobLease, JobOutcome, JobRecord, QueueConsumer, StreamKey, StreamOptions, StreamReader, WriteGuard } from "../../src/backend/Backend.js";
import type { LifecycleEvent } from "../../src/backend/events.js";
import type { BackendFactory } from "./backends.js";

/** A job record with defaults; `jobOptions` are plain data. */
export function jobRecord(jobId: string, jobOptions: Record<string, unknown> = {}): JobRecord {
  return { jobId, kind: "spec", name: "chop", jobOptions, enqueuedAt: 0 };
}

/** The key of one stream of a job (default: output "out" of node "chop"). */
export function streamKey(jobId: string, overrides: Partial<StreamKey> = {}): StreamKey {
  return { jobId, node: "chop", tag: "out", role: "output", specName: "chop", ...overrides };
}

/** Stream options with roomy defaults. */
export function streamOptions(overrides: Partial<StreamOptions> = {}): StreamOptions {
  return { highWaterMark: 1024, historyLimit: 1024, ...overrides };
}

/**
 * Waits until `condition` holds, yielding a macrotask turn between checks;
 * fails after `timeoutMs` of real time (a generous bound, not a race).
 */
export async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Lets the backend do whatever it would do on its own (its `quietMs`). */
export function quiet(factory: BackendFactory): Promise<void> {
  return new Promise((resolve) => (factory.quietMs > 0 ? setTimeout(resolve, factory.quietMs) : setImmediate(resolve)));
}

/** True when `promise` is still pending after the backend had its quiet time. */
export async function stillPending(factory: BackendFactory, promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await quiet(factory);
  return !settled;
}

/** What `fn` threw or rejected with (a backend may throw synchronously where it may reject). */
export async function failureOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure; it succeeded");
}

/** Reads `reader` to its end; returns the data in order. */
export async function readAll(reader: StreamReader): Promise<unknown[]> {
  const all: unknown[] = [];
  for (let message = await reader.next(); message; message = await reader.next()) all.push(message.data);
  return all;
}

/** A guard and canceller the test fires: once cancelled, waits reject and `assertLive` throws with `reason`. */
export class TestGuard implements WriteGuard {
  cancelled = false;
  cancelReason: unknown;
  private wakes: Array<() => void> = [];

  onCancel(wake: () => void): void {
    if (this.cancelled) wake();
    else this.wakes.push(wake);
  }

  assertLive(): void {
    if (this.cancelled) throw this.cancelReason;
  }

  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.cancelReason = reason;
    for (const wake of this.wakes.splice(0)) wake();
  }
}

/** One job a test consumer was handed. */
export interface Run {
  readonly record: JobRecord;
  readonly lease: JobLease;
}

/** A queue consumer that records what it is handed and how many jobs run at once. */
export interface RecordingConsumer {
  readonly runs: Run[];
  readonly consumer: QueueConsumer;
  /** Job ids in the order they were handed out. */
  ids(): string[];
  /** Jobs handed out and not finished yet. */
  running(): number;
  /** The most jobs running at once so far. */
  maxRunning(): number;
  /** Finishes the run of `jobId` (default: completed). */
  finish(jobId: string, outcome?: JobOutcome): void;
}

/** Consumes `queueKey`, keeping every run for the test to inspect and finish. */
export function recordingConsumer(backend: Backend, queueKey: string, concurrency: number, onRun?: (run: Run) => void): RecordingConsumer {
  const runs: Run[] = [];
  const finished = new Set<string>();
  let max = 0;
  const running = () => runs.length - finished.size;
  const consumer = backend.jobs.consume(queueKey, concurrency, (record, lease) => {
    const run = { record, lease };
    runs.push(run);
    max = Math.max(max, running());
    onRun?.(run);
  });
  return {
    runs,
    consumer,
    ids: () => runs.map((run) => run.record.jobId),
    running,
    maxRunning: () => max,
    finish(jobId, outcome = { status: "completed" }) {
      const run = runs.find((candidate) => candidate.record.jobId === jobId && !finished.has(jobId));
      if (!run) throw new Error(`test: job "${jobId}" is not running`);
      finished.add(jobId);
      run.lease.finish(outcome);
    },
  };
}

/** A `worker.state` event (any non-final, non-progress event will do where the kind does not matter). */
export function stateEvent(jobId: string, attempt: number): LifecycleEvent {
  return { type: "worker.state", jobId, specName: "chop", at: attempt, workerName: "w", state: "executing", attempt };
}

/** A `job.status` event. */
export function statusEvent(jobId: string, status: "queued" | "running" | "completed" | "failed" | "cancelled"): LifecycleEvent {
  return { type: "job.status", jobId, specName: "chop", at: 0, status };
}

/** A `job.progress` event of `workerName`. */
export function progressEvent(jobId: string, workerName: string, value: unknown): LifecycleEvent {
  return { type: "job.progress", jobId, specName: "chop", at: 0, workerName, value };
}
