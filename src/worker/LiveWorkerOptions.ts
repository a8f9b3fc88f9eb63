import type { RetryOptions } from "../../machines/restartPolicy.js";
import type { LiveEnv } from "../env/LiveEnv.js";
import type { DisposeContext, InitContext, ProcessorContext, TimeoutOptions } from "./options.js";

/**
 * Options of `spec.defineWorker`. Every field but `processor` has a default,
 * which a field left out or set to `undefined` takes. Unknown keys (here, in
 * `retry`, `retry.backoff` and `timeouts`) are a `ConfigurationError`.
 */
export interface LiveWorkerOptions<I, O, Opt, R, S = undefined> {
  /** The env this worker serves. Default `LiveEnv.global()`. */
  liveEnv?: LiveEnv;
  /** Jobs of this spec running at once in the env (a whole number >= 1, or `Infinity`); the rest wait `queued`, FIFO. Default 10. */
  concurrency?: number;
  /** Runs before each attempt's processor; its result is `resources`. Default: none. */
  init?: (context: InitContext<Opt>) => R | Promise<R>;
  /**
   * Makes the worker stateful (README, "Stateful workers"): the state a
   * job's worker starts from, called once per job when no state was
   * committed yet (its result is deep-frozen). The processor reads the
   * state with `state()` and changes it with `updateState(recipe)`; it is
   * committed with each acknowledgement of input, so each acknowledged
   * message changes it exactly once, across restarts and processes.
   * Required when the spec has a `state` schema. Default: none (the worker
   * keeps no state; `updateState` throws).
   */
  initialState?: () => S;
  /** The work: read `input`, write `output`. Returning completes the job. */
  processor: (context: ProcessorContext<I, O, Opt, R, S>) => void | Promise<void>;
  /**
   * Releases what an attempt held (Erlang's `terminate/2`): runs once after
   * every attempt whose `init` returned (without `init`: whose processor
   * started), whatever the outcome, before the next attempt's `init` and
   * before the job is final (for a `done` or `failed` attempt; an abandoned
   * one's dispose may finish after, and `env.close()` waits for it). An
   * abandoned attempt's processor first gets up to `timeouts.stopMs` to
   * return. Bounded by `timeouts.stopMs`; a throw or an overrun is logged,
   * never retried. Default: none.
   */
  dispose?: (context: DisposeContext<R>) => void | Promise<void>;
  /** Restart policy. Defaults: see `DEFAULT_RETRY`. */
  retry?: RetryOptions;
  /** Timeouts. Defaults: see `DEFAULT_TIMEOUTS`. */
  timeouts?: TimeoutOptions;
}

/** Default of `concurrency`. */
export const DEFAULT_CONCURRENCY = 10;

