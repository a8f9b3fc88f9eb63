/**
 * The data part of the backend seam (`Backend.ts`): append-only streams per
 * job, node, tag and direction, with per-reader cursors, an acknowledging
 * consumer per input, and a stateful worker's commit of its state with its
 * input. `Backend.ts` re-exports all of it.
 */
/** Limits of one stream. */
export interface StreamLimits {
  /**
   * Writers wait (`append` returns a pending promise) while the slowest
   * reader (outputs) or the consumer's acknowledgements (inputs) are this
   * many messages behind. Default 1024. A backend may keep them waiting
   * until the lag fell further (memory: to half the mark).
   */
  highWaterMark: number;
  /**
   * Messages an output keeps for readers that come later; older ones are
   * dropped. Inputs keep only unacknowledged messages. Default 1024.
   */
  historyLimit: number;
}

/** Defaults of the env's `streams` option. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { highWaterMark: 1024, historyLimit: 1024 };

/** One stored message. `offset` counts from 0 per stream; `order` compares messages of different streams of one job by arrival. */
export interface StreamMessage<T = unknown> {
  readonly data: T;
  /** When it was appended (ms); 0 on inputs, whose timestamps nobody reads. */
  readonly timestamp: number;
  readonly offset: number;
  readonly order: number;
}

/**
 * Which stream of which job: one per node, tag and direction. Ids, node keys
 * and tags follow the id rules (`assertValidId`): none holds a `/`, so a
 * backend may join them with one.
 */
export interface StreamKey {
  readonly jobId: string;
  /** The node key (the spec name, or a flow's label). */
  readonly node: string;
  readonly tag: string;
  readonly role: "input" | "output";
  /** The spec of the node, for error messages. */
  readonly specName: string;
}

/** How a stream is made: its limits, and the clock that stamps its messages. */
export interface StreamOptions extends StreamLimits {
  /** Stamps each message (ms); left out (inputs, whose timestamps nobody reads), messages carry 0. */
  now?: () => number;
}

/**
 * Where streams are kept, per job: the streams of a job the queue holds
 * (added, and not forgotten yet). A shared backend refuses writes to a job
 * it does not know (it ends the stream: the job is no longer known).
 */
export interface StreamStore {
  /**
   * The stream of `key`, made on first open with `options`; every open
   * returns the same stream while the job is kept (the first options hold).
   */
  open(key: StreamKey, options: StreamOptions): JobStream;
  /**
   * Ends every stream of a job that exists (fails them with `error` when
   * given): for a job that ends without a runtime (cancelled while queued).
   */
  endAll(jobId: string, reason: string, error?: unknown): void;
  /**
   * Forgets a job's streams and node states (streams stay usable by whoever
   * holds them). A shared backend forgets this process's handles only: the
   * data stays for other processes until the job itself is forgotten (its
   * retention).
   */
  dispose(jobId: string): void;
  /**
   * Commits the state of a stateful worker with its input, as one atomic
   * step: acknowledges every message each of `consumers` (this backend's,
   * of inputs of `jobId`'s node `node`) has taken so far, and stores `state`
   * as the node's state. A new attempt, here or in another process, starts
   * from both or from neither: each acknowledged message has changed the
   * state exactly once. `guard` fences it like an acknowledgement (a stale
   * attempt's commit throws, or is refused where it lands). Queued in call
   * order with this process's other writes, after the outputs written
   * before it.
   *
   * @throws ValidationError when the backend cannot carry `state` (a function, a symbol): nothing is committed.
   */
  commit(jobId: string, node: string, consumers: readonly StreamConsumer[], state: unknown, guard?: WriteGuard): void;
  /**
   * Where a job's committed node states are read (a job handle takes it
   * when it is made, like its streams: it keeps reading them after the
   * store disposed of the job here).
   */
  states(jobId: string): JobStates;
}

/** The states a job's stateful workers committed (`StreamStore.commit`). */
export interface JobStates {
  /**
   * The node's last committed state, after every commit this process called
   * before; undefined before any, or once the backend no longer keeps the
   * job. A copy where the backend crosses a process (or copies).
   */
  read(node: string): Promise<unknown>;
}

/**
 * Ends a wait inside a stream early: the waiting attempt was abandoned.
 * Lighter than an `AbortSignal`: a stream registers one wake-up per canceller.
 */
export interface WaitCanceller {
  readonly cancelled: boolean;
  /** What the wait rejects with once cancelled. */
  readonly cancelReason: unknown;
  /** Calls `wake` once when cancelled (at once if it already is). */
  onCancel(wake: () => void): void;
}

/** A writer's fence: checked just before its append lands (a stale attempt's writes are dropped). */
export interface WriteGuard extends WaitCanceller {
  /** Throws when the writer may no longer write. */
  assertLive(): void;
}

/**
 * What `JobStream.append` returns when it need not wait: one shared settled
 * promise, so a writer can tell the fast path (no wait, no allocation) from
 * a wait for room. Returning it is not required: any other promise is
 * treated as a wait (the writer's attempt is marked waiting until it settles).
 */
export const APPENDED: Promise<void> = Promise.resolve();

/** An append-only stream of one job's tag. */
export interface JobStream {
  /** Names the stream in errors, e.g. `input "default" of job "j1" (spec "chop")`. */
  readonly label: string;
  /** Set once the stream ended or failed. */
  readonly closed: { readonly error?: unknown; readonly reason: string } | undefined;
  /**
   * Appends one message (already valid) after `guard.assertLive()` passed.
   * Returns `APPENDED` when below the high-water mark, else a promise that
   * resolves once there is room (or the stream ended: the message is in); rejects with
   * `StreamClosedError` on a closed stream, or the guard's reason when its
   * writer is abandoned meanwhile. May throw synchronously: callers turn that
   * into a rejection.
   */
  append(data: unknown, guard?: WriteGuard): Promise<void>;
  /** Ends the stream: readers finish after the last message; appends throw. Idempotent. */
  end(reason: string): void;
  /** Fails the stream: readers throw `error` after the last message; appends throw. Idempotent. */
  fail(error: unknown, reason: string): void;
  /** A reader with its own cursor, from the oldest message kept, or from the next one appended (`live`). */
  reader(from?: "oldest" | "live"): StreamReader;
  /**
   * The consumer of an input (one at a time: a new attempt's replaces the
   * last): it starts at the first unacknowledged message. `guard` fences its
   * acknowledgements (a stale attempt's acks are refused).
   */
  consumer(guard?: WriteGuard): StreamConsumer;
  /** The newest message appended (kept even when `historyLimit` dropped it); undefined before any. */
  last(): Promise<StreamMessage | undefined>;
}

/** Reads a stream with its own cursor; while open, it pins retention and counts toward backpressure. */
export interface StreamReader {
  /** Takes the next message if it is there now; undefined otherwise (nothing yet, or the end). */
  nextNow(): StreamMessage | undefined;
  /**
   * Takes the next message, waiting for one. Resolves `undefined` at a normal
   * end; rejects with the stream's error, or the canceller's reason once it fires.
   */
  next(canceller?: WaitCanceller): Promise<StreamMessage | undefined>;
  /**
   * Calls `wake` once, when `nextNow` has a message, or the stream ended or
   * failed (`next` then settles at once), or `canceller` fired (`next`
   * rejects at once): at once when one of these holds already. It may also
   * come early (another reader's canceller fired): `nextNow` then has
   * nothing and `next` waits as usual. A reader that waits for each message
   * makes one promise per wait this way (a job's output reader: `wake`
   * resolves it), where `next` and a continuation make two. Optional:
   * without it, readers wait through `next`.
   */
  whenReady?(wake: () => void, canceller?: WaitCanceller): void;
  /** Lets go of the cursor (idempotent). */
  close(): void;
}

/**
 * The consumer of an input, as a Redis Streams consumer group: it hands out
 * messages and acknowledges them; a new consumer starts again at the first
 * message not acknowledged (at-least-once).
 */
export interface StreamConsumer {
  /** The next message not yet handed out, if there now (not taken). */
  peekNow(): StreamMessage | undefined;
  /** Waits for the next message not yet handed out (or the end), without taking it. */
  peek(canceller?: WaitCanceller): Promise<StreamMessage | undefined>;
  /**
   * For a backend whose consumers read ahead from a store, each input on its
   * own (Redis): resolves once `peekNow` shows any message of this input that
   * arrived before `other` (a message another consumer of the same job just
   * gave), so that comparing `order` across inputs is exact. Returns
   * undefined when `peekNow` shows that already. Absent: always so (memory).
   */
  catchUp?(other: StreamMessage): Promise<void> | undefined;
  /** Hands `message` (the one `peek` gave) out: taken, not yet acknowledged. */
  take(message: StreamMessage): void;
  /**
   * Acknowledges every message taken so far: a new consumer starts after
   * them. A stateful worker's acknowledgements go through
   * `StreamStore.commit` instead, with its state.
   */
  ack(): void;
  /** Lets go (unacknowledged messages stay for the next consumer). */
  close(): void;
}
