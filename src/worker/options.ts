import type { RetryPolicy } from "../../machines/restartPolicy.js";
import type { JobMachineTimeouts } from "../../machines/job.js";
import type { Logger } from "../logger.js";
import type { Draft, Immutable } from "immer";
import type { JobOptionsOut, ProcessorInput, ProcessorOutput } from "../spec/types.js";

/**
 * Timeouts of a worker. A timeout that fires raises `TimeoutError` naming it;
 * `initMs` and `heartbeatMs` count as a failed attempt (restart policy
 * applies), `jobMs` fails the job, `stopMs` abandons a stopping attempt.
 * Each is whole ms up to 2³¹−1 (about 24.8 days), or `Infinity` for none (no
 * timer is armed). Left out or `undefined`: the default. Anything else is a
 * `ValidationError` naming the option.
 */
export interface TimeoutOptions {
  /** Longest `init` may take per attempt: 1 … 2³¹−1 ms, or `Infinity`. Default 60 000 ms. */
  initMs?: number;
  /** Longest the whole job may run, restarts included: 1 … 2³¹−1 ms, or `Infinity`. Default: none. */
  jobMs?: number;
  /**
   * The processor must pull input, emit or call `heartbeat()` at least this
   * often, or the attempt counts as stalled. Time spent waiting inside the
   * library (for input not yet fed, for a slow reader) does not count.
   * 1 … 2³¹−1 ms, or `Infinity`. Default: none.
   */
  heartbeatMs?: number;
  /**
   * Grace for a processor to return after its signal aborts (cancel, close):
   * 0 … 2³¹−1 ms (0 abandons it at once), or `Infinity` to wait for it
   * however long it takes. Default 5 000 ms.
   */
  stopMs?: number;
}

/** Defaults of `timeouts` on `defineWorker`. */
export const DEFAULT_TIMEOUTS = { initMs: 60_000, stopMs: 5_000 } as const;

/** What `init` receives. */
export interface InitContext<Opt> {
  jobId: string;
  jobOptions: JobOptionsOut<Opt>;
  logger: Logger;
  /**
   * The attempt's signal, shared by `init` and the processor: aborts when
   * the attempt fails or is abandoned (a timeout, a restart, cancel,
   * shutdown). Not aborted when the processor returns normally.
   */
  signal: AbortSignal;
  /** 1 for the first run, then one more per restart. */
  attempt: number;
}

/**
 * A change to a stateful worker's state: an immer recipe that changes the
 * draft it is given, or returns a replacement state (not both).
 */
export type StateRecipe<S> = (draft: Draft<S>) => S | Draft<S> | void | undefined;

/** What the processor receives. */
export interface ProcessorContext<I, O, Opt, R, S = undefined> extends InitContext<Opt> {
  input: ProcessorInput<I>;
  output: ProcessorOutput<O>;
  /** What `init` returned for this attempt. */
  resources: R;
  /** Tells the heartbeat timeout that the processor is alive. */
  heartbeat(): void;
  /** Reports progress to subscribers of the job (any JSON-safe value). */
  progress(value: unknown): void;
  /**
   * A stateful worker's state as this attempt changed it so far (it starts
   * from the last committed one), deep-frozen: changing it throws a
   * `TypeError` (always, not only in development: immer's auto-freeze).
   * Undefined for a worker without `initialState`.
   */
  state(): Immutable<S>;
  /**
   * Changes the state with an immer `recipe` (`produce`): the draft's
   * changes, or the value it returns, become the state. Committed with the
   * next acknowledgement of input (asking for the next message, or
   * returning), checked against the spec's `state` schema then. What
   * `recipe` throws is thrown here, the state unchanged.
   *
   * @throws ConfigurationError for a worker without `initialState`, or a recipe that is not a function.
   * @throws AttemptAbandonedError once the attempt was abandoned (restart, cancel, timeout).
   */
  updateState(recipe: StateRecipe<S>): void;
}

/** How an attempt ended, as `dispose` is told. */
export type DisposeOutcome = "done" | "failed" | "abandoned";

/** What `dispose` receives. */
export interface DisposeContext<R> {
  /** What this attempt's `init` returned (undefined for a worker without `init`). */
  resources: R;
  jobId: string;
  /** The attempt that ended (1 = the first run). */
  attempt: number;
  /**
   * `done`: the processor returned. `failed`: the processor threw or the
   * attempt failed (a heartbeat stall, an invalid emit).
   * `abandoned`: the worker left the attempt (cancel, shutdown, a timeout,
   * a sibling's restart).
   */
  outcome: DisposeOutcome;
  logger: Logger;
}

/**
 * A worker def as the runtime sees it: options resolved, defaults applied.
 * `LiveWorkerDef` implements it.
 */
export interface WorkerDefinition {
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly timeouts: ResolvedTimeouts;
  readonly init: ((context: InitContext<any>) => unknown) | undefined;
  readonly processor: (context: ProcessorContext<any, any, any, any, any>) => void | Promise<void>;
  /** A stateful worker's `initialState`; undefined: the worker keeps no state. */
  readonly initialState: (() => unknown) | undefined;
  readonly dispose: ((context: DisposeContext<any>) => void | Promise<void>) | undefined;
}

/** Timeouts with defaults applied (`Infinity` stored as `undefined`: no timer). */
export type ResolvedTimeouts = JobMachineTimeouts & Pick<TimeoutOptions, "heartbeatMs">;
