import { resolveRetryPolicy, type RetryPolicy } from "../../machines/restartPolicy.js";
import { ConfigurationError } from "../errors.js";
import { assertKnownKeys, checkCount, checkDuration, withDefaults } from "../options.js";
import { resolveEnv } from "../env/resolveEnv.js";
import type { LiveEnv } from "../env/LiveEnv.js";
import type { SpecShape } from "../spec/types.js";
import { DEFAULT_TIMEOUTS, type DisposeContext, type InitContext, type ProcessorContext, type ResolvedTimeouts, type TimeoutOptions, type WorkerDefinition } from "./options.js";
import { DEFAULT_CONCURRENCY, type LiveWorkerOptions } from "./LiveWorkerOptions.js";

/**
 * The sous-chef's job description: how jobs of one spec are processed in one
 * env. Created by `spec.defineWorker(...)`.
 */
export class LiveWorkerDef<I = any, O = any, Opt = any, R = any> implements WorkerDefinition {
  readonly liveEnv: LiveEnv;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly timeouts: ResolvedTimeouts;
  readonly init: ((context: InitContext<Opt>) => R | Promise<R>) | undefined;
  readonly processor: (context: ProcessorContext<I, O, Opt, R, any>) => void | Promise<void>;
  readonly initialState: (() => unknown) | undefined;
  readonly dispose: ((context: DisposeContext<R>) => void | Promise<void>) | undefined;

  // Private: made by `spec.defineWorker` (the declarations keep it private).
  private constructor(
    readonly spec: SpecShape,
    options: LiveWorkerOptions<I, O, Opt, R, any>,
  ) {
    const where = `defineWorker options of spec "${spec.name}"`;
    assertKnownKeys(where, options, ["liveEnv", "concurrency", "init", "processor", "dispose", "retry", "timeouts", "initialState"]);
    if (typeof options?.processor !== "function") {
      throw new ConfigurationError(`defineWorker for spec "${spec.name}" needs a processor function; got ${typeof options?.processor}`);
    }
    for (const hook of ["init", "dispose", "initialState"] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== "function") {
        throw new ConfigurationError(`${hook} of the worker for "${spec.name}" must be a function; got ${typeof options[hook]}`);
      }
    }
    if (spec.stateSchema !== undefined && options.initialState === undefined) {
      throw new ConfigurationError(
        `defineWorker for spec "${spec.name}" needs initialState: the spec has a state schema, so its workers are stateful (give initialState: () => the state a job starts from)`,
      );
    }
    // Every option is checked before the def touches the env: a bad one registers nothing.
    this.retry = resolveRetryPolicy(options.retry, "retry", where);
    this.timeouts = resolveTimeouts(options.timeouts, where);
    this.concurrency = checkCount(`concurrency of ${where}`, options.concurrency === undefined ? DEFAULT_CONCURRENCY : options.concurrency, { min: 1, allowInfinity: true });
    this.init = options.init;
    this.processor = options.processor;
    this.initialState = options.initialState;
    this.dispose = options.dispose;
    this.liveEnv = resolveEnv(options.liveEnv, `defineWorker of spec "${spec.name}"`);
    this.liveEnv.registerWorker(spec, this);
  }

  /** @internal What `spec.defineWorker` calls: checks every option, then registers the def with its env. */
  static define<I, O, Opt, R, S>(spec: SpecShape, options: LiveWorkerOptions<I, O, Opt, R, S>): LiveWorkerDef<I, O, Opt, R> {
    return new LiveWorkerDef<I, O, Opt, R>(spec, options);
  }
}


/** The least each timeout may be: a 0 ms init, heartbeat or job timeout could never be met; a 0 ms stop grace abandons at once. */
const TIMEOUT_MIN: Readonly<Record<keyof TimeoutOptions, number>> = { initMs: 1, jobMs: 1, heartbeatMs: 1, stopMs: 0 };

/**
 * Applies defaults (an explicit `undefined` is the default) and checks each
 * timeout. `Infinity` means none: the resolved value is then `undefined`, so
 * no timer is ever armed for it.
 */
function resolveTimeouts(options: TimeoutOptions | undefined, where: string): ResolvedTimeouts {
  assertKnownKeys(`timeouts of ${where}`, options, Object.keys(TIMEOUT_MIN));
  const merged: TimeoutOptions = withDefaults<TimeoutOptions>(DEFAULT_TIMEOUTS, options);
  const resolved: ResolvedTimeouts = {};
  for (const name of Object.keys(TIMEOUT_MIN) as Array<keyof TimeoutOptions>) {
    const value = merged[name];
    if (value === undefined) continue;
    const ms = checkDuration(`timeouts.${name} of ${where}`, value, { min: TIMEOUT_MIN[name], allowInfinity: true });
    if (ms !== Infinity) resolved[name] = ms;
  }
  return resolved;
}
