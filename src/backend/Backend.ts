/**
 * The seam between liveworker's runtime and where jobs, their data and their
 * lifecycle events live. Designed from what the runtime needs: a queue that
 * hands jobs to a consumer one slot at a time, append-only streams with
 * per-reader cursors and an acknowledging consumer, and an event bus. The
 * memory backend (`src/backend/memory/`) is the default; the Redis backend
 * (`src/redis/`: BullMQ for the queue, Redis Streams for the data) implements
 * the same across processes. `test/backend_conformance.test.ts` checks a backend against every
 * promise below, through this interface alone.
 *
 * What crosses the seam is plain data that survives a structured copy: job
 * records, outcomes (their error serialised by a backend that crosses a
 * process: `serializeError` / `rebuildError`), events, message data and
 * workers' states. Validation stays on the writer's side: a backend stores what
 * it is given, or, when it cannot carry a value (a function, a symbol),
 * refuses it with a `ValidationError` naming what was written, and stores
 * nothing. The env guards every listener it hands to the backend: they never
 * throw.
 */
import type { LeaseExpiredError, RestartRecord } from "../errors.js";
import type { FinalStatus, JobStatus, LifecycleEvent, LifecycleListener } from "./events.js";
import type { StreamStore } from "./StreamStore.js";

/** Where jobs wait and are handed out, where their data is, and where their events go. */
export interface Backend {
  readonly jobs: JobQueue;
  readonly streams: StreamStore;
  readonly events: EventBus;
  /**
   * True when jobs outlive the process that added or runs them (another
   * process can take them over): closing an env then releases the jobs it
   * runs (`JobLease.release`) instead of cancelling them, and leaves the jobs
   * it added to run on. Absent or false: jobs live and die with the env.
   */
  readonly shared?: boolean;
  /**
   * Called once, when an env takes the backend, with what names it: a shared
   * backend keeps the env's jobs, data and events apart from other envs'
   * under `projectId`. Optional.
   */
  bind?(scope: BackendScope): void;
  /** Stops every consumer and releases what the backend holds (connections, timers). Idempotent. */
  close(): Promise<void>;
}

/** The env a backend serves. */
export interface BackendScope {
  /** The env's `projectId`: processes whose backends share a store and this id form one env. */
  readonly projectId: string;
  /** The env's logger (guarded: it never throws), for what a backend reports (a reconnect, a lost lease). */
  readonly logger: { warn(message: string, fields?: Record<string, unknown>): void; error(message: string, fields?: Record<string, unknown>): void };
}

// ——— jobs ———

/** A job as the queue stores it: enough for any process to rebuild and run it. */
export interface JobRecord {
  readonly jobId: string;
  /** Which registry `name` is found in: a spec's, or a flow's. */
  readonly kind: "spec" | "flow";
  /** The spec or flow name. */
  readonly name: string;
  /** Node key (a flow's label, or the spec name) → that node's validated job options. Plain data. */
  readonly jobOptions: Readonly<Record<string, unknown>>;
  /** When it was added, by the adding env's clock (ms). */
  readonly enqueuedAt: number;
}

/** How a job ended. `error` (failed, cancelled) is the error `waitUntilFinish` rejects with. */
export interface JobOutcome {
  readonly status: FinalStatus;
  readonly error?: unknown;
}

/**
 * Jobs wait in named queues (one per spec, one per flow), first in, first
 * out, until a consumer of their queue has a free slot.
 */
export interface JobQueue {
  /**
   * Adds a job at the end of `queueKey`'s queue and resolves to its ticket.
   * Once the job is stored, and before any consumer can be handed it, calls
   * `announce` with the ticket (the env publishes the job's `queued` event
   * there, so it comes before `running`). A backend that stores the job in
   * this step (memory) calls `announce` before `add` returns. Jobs of one
   * queue are queued in the order `add` was called, whether or not the
   * earlier calls have resolved.
   *
   * @throws ConfigurationError (a rejection) when a job of this id is queued or running, or when the backend is closed; nothing is added and `announce` is not called.
   */
  add(queueKey: string, record: JobRecord, announce: (ticket: JobTicket) => void): Promise<JobTicket>;
  /** The ticket of a job this queue knows (queued, running, or final and still kept); undefined for any other id. */
  find(jobId: string): Promise<JobTicket | undefined>;
  /**
   * Hands the jobs of `queueKey` to `run`, oldest first, at most
   * `concurrency` at once (`Infinity`: no limit). A slot frees when the job's
   * lease is finished. One consumer per queue and backend instance. Jobs
   * already waiting are handed out after the caller's current step at the
   * earliest (as for `add`): what the caller does right after comes first.
   */
  consume(queueKey: string, concurrency: number, run: JobRunner): QueueConsumer;
}

/**
 * Runs one job the queue handed out. It must call `lease.finish(outcome)`
 * exactly once, when the job is final; it must not throw.
 */
export type JobRunner = (record: JobRecord, lease: JobLease) => void;

/** A consumer of one queue. */
export interface QueueConsumer {
  /** Takes no more jobs (running ones go on). */
  close(): void;
}

/** The client's view of one job: where it is, how it ended, how to cancel it. */
export interface JobTicket {
  readonly jobId: string;
  /** The queue the job was added to (`spec/<name>` or `flow/<name>`). */
  readonly queueKey: string;
  /**
   * `queued`, `running`, or a final status (as far as this process knows);
   * final at the latest when `outcome` settles (clients sweep their jobs by it).
   */
  readonly status: JobStatus;
  /** Settles once the job is final (never rejects). */
  readonly outcome: Promise<JobOutcome>;
  /**
   * Asks for the job to be cancelled, and says where it was: `queued` (it is
   * out of the queue now, with `outcome` its outcome, `cancelled`: the caller
   * finishes it, since it never ran), `running` (its runner is told:
   * `JobLease.onCancel`), or `final` (nothing changes).
   */
  cancel(reason: string): Promise<CancelAnswer>;
}

/** Where a job was when `JobTicket.cancel` asked (see there). */
export type CancelAnswer = { was: "queued"; outcome: JobOutcome } | { was: "running" | "final" };

/** What a runner holds while it runs a job. */
export interface JobLease {
  /** True when this run resumes a job that ran elsewhere before (another process held it). */
  readonly resumed: boolean;
  /** Aborts when the lease is lost: another process may run the job now; stop and write nothing. The memory backend never loses one. */
  readonly lost: AbortSignal;
  /** Called with the reason when the job is cancelled while it runs (at most once). */
  onCancel(handler: (reason: string) => void): void;
  /**
   * The restart history earlier holders stored (`recordRestarts`), newest
   * last: a resumed job's supervisor starts from it, so the restart budget
   * (`retry.maxRestarts` within `retry.withinMs`) spans processes. Empty or
   * absent for a job that never ran elsewhere.
   */
  readonly restarts?: readonly RestartRecord[];
  /**
   * Stores the job's restart history (called each time the supervisor grants
   * a restart), behind the fence: a holder that lost the lease stores
   * nothing. Absent on a backend that is not shared (nothing resumes elsewhere).
   */
  recordRestarts?(history: readonly RestartRecord[]): void;
  /**
   * The attempt each worker (by name) last began under earlier holders
   * (`recordAttempts`): a resumed job's workers go on from the next one, so
   * `attempt` never repeats across processes. Absent for a job that never
   * ran elsewhere (every worker starts at 1).
   */
  readonly attempts?: Readonly<Record<string, number>>;
  /**
   * Stores the attempt each worker is on (called when a worker begins an
   * attempt after its first), behind the fence as `recordRestarts`. Absent
   * on a backend that is not shared.
   */
  recordAttempts?(attempts: Readonly<Record<string, number>>): void;
  /**
   * Resolves once what `recordRestarts` and `recordAttempts` stored so far
   * is kept by the backend; undefined when nothing is on its way. In a job
   * taken over after its lease expired (`expired`), the runtime runs an
   * attempt's user code (`init`, the processor) only after it, so a process
   * that dies as each attempt begins cannot escape the restart budget.
   * Absent on a backend that is not shared.
   */
  saved?(): Promise<void> | undefined;
  /**
   * Set when the job's last holder lost it without finishing or releasing
   * it (its process died, or stalled past its lease): this run is then a
   * restart of every worker, counted against the restart budget and begun
   * after its backoff, with this error as the cause. Absent otherwise.
   */
  readonly expired?: LeaseExpiredError;
  /**
   * Node key → the state its worker last committed (`StreamStore.commit`)
   * under earlier holders: a resumed job's stateful workers start from it.
   * Absent for a job that never ran elsewhere, or whose workers committed
   * none.
   */
  readonly states?: Readonly<Record<string, unknown>>;
  /**
   * The job is final: records `outcome` (the ticket's status and outcome
   * follow at once) and frees the slot. Waiting jobs start after the
   * current step, so the caller's own final event comes first.
   */
  finish(outcome: JobOutcome): void;
  /**
   * Gives the job back without an outcome (its env is closing and the
   * backend is shared): it waits in its queue again, and the consumer that
   * takes it next resumes it (`resumed`) from its acknowledged input. Frees
   * the slot. Absent on a backend that is not shared.
   */
  release?(): void;
}

// ——— data: `StreamStore.ts` ———

export { APPENDED, DEFAULT_STREAM_LIMITS } from "./StreamStore.js";
export type { JobStates, JobStream, StreamConsumer, StreamKey, StreamLimits, StreamMessage, StreamOptions, StreamReader, StreamStore, WaitCanceller, WriteGuard } from "./StreamStore.js";

// ——— events ———

/** Carries lifecycle events from where jobs run to whoever listens. */
export interface EventBus {
  /** Delivers `event` to the env's listeners and to its job's journal. */
  publish(event: LifecycleEvent): void;
  /**
   * Listens to every job's events from now on. Returns a function that
   * unsubscribes. `replay`: first the events the bus still keeps of the env
   * (a shared backend's capped stream: what a viewer opened late needs to
   * show jobs already running elsewhere); a backend of one process keeps
   * none (its own actors say it all).
   */
  subscribe(listener: LifecycleListener, options?: { replay?: boolean }): () => void;
  /** The journal of one job: its events so far, and live ones. */
  journal(jobId: string): JobJournal;
  /**
   * Forgets a job's journal (it stays usable by whoever holds it). A shared
   * backend keeps it for other processes until the job itself is forgotten.
   */
  dispose(jobId: string): void;
}

/**
 * One job's events, kept for subscribers that come late: the newest 256, a
 * progress report replacing the one before it when that was the same
 * worker's (progress is a gauge). It takes no more after the job's final status.
 */
export interface JobJournal {
  /** Replays the events kept, then delivers live ones until the job's final status. Returns a function that unsubscribes. */
  subscribe(listener: LifecycleListener): () => void;
}
