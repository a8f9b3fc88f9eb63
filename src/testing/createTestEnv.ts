import { SimulatedClock } from "xstate";
import { LiveEnv, type LiveEnvOptions } from "../env/LiveEnv.js";
import { createInProcessBackend } from "../backend/defaultBackend.js";
import { isFinalStatus, type JobStatus, type LifecycleEvent, type WorkerState } from "../backend/events.js";
import type { Logger } from "../logger.js";
import { assertKnownKeys, checkDuration, withDefaults } from "../options.js";

/** Anything with a job id: a `LiveJob` or its id. */
export type JobRef = { readonly jobId: string; readonly status?: JobStatus } | string;

/** An env on a simulated clock, with helpers for tests. */
export interface TestEnv {
  /** The env to pass as `liveEnv` (`liveEnv: t.env`; passing the TestEnv itself is a `ConfigurationError`). */
  readonly env: LiveEnv;
  readonly clock: SimulatedClock;
  /** Moves the simulated clock by `ms` (whole ms, 0 … 2³¹−1; due timers fire), then lets promise callbacks run. */
  advance(ms: number): Promise<void>;
  /** Resolves when the job has `status` (at once if it has it now); rejects if it ends otherwise. */
  waitForJobStatus(job: JobRef, status: JobStatus): Promise<void>;
  /** Resolves when the job's worker is in `state` (at once if its last reported state is `state`). */
  waitForWorkerState(job: JobRef, state: WorkerState): Promise<void>;
  /** Every lifecycle event so far, oldest first. */
  readonly events: readonly LifecycleEvent[];
  /** Closes the env (cancels what still runs). */
  close(): Promise<void>;
}

/**
 * Options of `createTestEnv`: those of `LiveEnv.create`, without `clock`
 * (a `ConfigurationError`, like any unknown key). Default logger: silent
 * (also when `logger` is `undefined`). Default backend: in this process (a
 * test env steps a simulated clock, which a shared backend's I/O would not
 * follow); pass `backend` to run on another.
 */
export type TestEnvOptions = Omit<LiveEnvOptions, "clock">;

// A record, so that a new `LiveEnvOptions` field fails to compile here until it is listed.
const TEST_ENV_KEYS = Object.keys({
  projectId: true,
  logger: true,
  inspect: true,
  streams: true,
  backend: true,
  handleSignals: true,
  shutdownGraceMs: true,
} satisfies Record<keyof TestEnvOptions, true>);

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const idOf = (job: JobRef): string => (typeof job === "string" ? job : job.jobId);

/** Lets queued promise callbacks and immediate callbacks run. */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Creates a `LiveEnv` driven by XState's `SimulatedClock`: backoffs, timeouts
 * and heartbeats fire only when the test advances the clock.
 *
 * @example
 * const t = createTestEnv();
 * spec.defineWorker({ liveEnv: t.env, processor, retry: { maxRestarts: 1 } });
 * const job = await spec.enqueueJob({ liveEnv: t.env });
 * await t.waitForWorkerState(job, "recovering");
 * await t.advance(1_000);                 // the backoff elapses
 * await t.waitForJobStatus(job, "completed");
 * await t.close();
 */
export function createTestEnv(options: TestEnvOptions = {}): TestEnv {
  // `clock` is not an option here: the test env brings its own simulated one.
  assertKnownKeys("createTestEnv options", options, TEST_ENV_KEYS);
  const clock = new SimulatedClock();
  const backend = options.backend ?? createInProcessBackend();
  const env = LiveEnv.create({ ...withDefaults({ logger: silentLogger }, options), backend, clock });
  const events: LifecycleEvent[] = [];
  const jobStatus = new Map<string, JobStatus>();
  const workerState = new Map<string, WorkerState>();
  env.subscribe((event) => {
    events.push(event);
    if (event.type === "job.status") jobStatus.set(event.jobId, event.status);
    if (event.type === "worker.state") workerState.set(event.jobId, event.state);
  });
  const waitFor = (jobId: string, done: () => boolean, failed: () => string | undefined): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (done()) resolve();
        else {
          const why = failed();
          if (why === undefined) return false;
          reject(new Error(why));
        }
        return true;
      };
      if (check()) return;
      const unsubscribe = env.subscribe((event) => {
        if (event.jobId === jobId && check()) unsubscribe();
      });
    });
  return {
    env,
    clock,
    events,
    async advance(ms) {
      clock.increment(checkDuration("ms of advance", ms));
      await flush();
    },
    waitForJobStatus(job, status) {
      const jobId = idOf(job);
      const now = () => (typeof job === "string" ? jobStatus.get(jobId) : (jobStatus.get(jobId) ?? job.status));
      return waitFor(
        jobId,
        () => now() === status,
        () => {
          const current = now();
          return current && isFinalStatus(current) && current !== status
            ? `Job "${jobId}" ended ${current}; it will never be ${status}`
            : undefined;
        },
      );
    },
    waitForWorkerState(job, state) {
      const jobId = idOf(job);
      return waitFor(
        jobId,
        () => workerState.get(jobId) === state,
        () => {
          const current = jobStatus.get(jobId);
          return current && isFinalStatus(current) ? `Job "${jobId}" ended ${current} before its worker was ${state}` : undefined;
        },
      );
    },
    close: () => env.close(),
  };
}
