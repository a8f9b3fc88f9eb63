import { resolveRetryPolicy, type RetryPolicy } from "../../machines/restartPolicy.js";
import type { JobMachineTimeouts } from "../../machines/job.js";
import { ConfigurationError, ValidationError } from "../errors.js";
import { assertKnownKeys } from "../options.js";
import { resolveEnv } from "../env/resolveEnv.js";
import type { LiveEnv } from "../env/LiveEnv.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_TIMEOUTS,
  type DisposeContext,
  type InitContext,
  type LiveWorkerOptions,
  type ProcessorContext,
  type TimeoutOptions,
} from "./options.js";

/** Timeouts with defaults applied (`heartbeatMs` stays with the runtime). */
export type ResolvedTimeouts = JobMachineTimeouts & Pick<TimeoutOptions, "heartbeatMs">;

/**
 * The sous-chef's job description: how jobs of one spec are processed in one
 * env. Created by `spec.defineWorker(...)`.
 */
export class LiveWorkerDef<I = any, O = any, Opt = any, R = any> {
  readonly liveEnv: LiveEnv;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly timeouts: ResolvedTimeouts;
  readonly init: ((context: InitContext<Opt>) => R | Promise<R>) | undefined;
  readonly processor: (context: ProcessorContext<I, O, Opt, R>) => void | Promise<void>;
  readonly dispose: ((context: DisposeContext<R>) => void | Promise<void>) | undefined;

  constructor(
    readonly spec: AnyJobSpec,
    options: LiveWorkerOptions<I, O, Opt, R>,
  ) {
    const where = `defineWorker options of spec "${spec.name}"`;
    assertKnownKeys(where, options, ["liveEnv", "concurrency", "init", "processor", "dispose", "retry", "timeouts"]);
    assertKnownKeys(`retry of ${where}`, options?.retry, ["maxRestarts", "withinMs", "backoff", "resetAfterMs", "retryable"]);
    assertKnownKeys(`retry.backoff of ${where}`, options?.retry?.backoff, ["initialMs", "factor", "maxMs", "jitter"]);
    assertKnownKeys(`timeouts of ${where}`, options?.timeouts, ["initMs", "jobMs", "heartbeatMs", "stopMs"]);
    if (typeof options?.processor !== "function") {
      throw new ConfigurationError(`defineWorker for spec "${spec.name}" needs a processor function; got ${typeof options?.processor}`);
    }
    for (const hook of ["init", "dispose"] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== "function") {
        throw new ConfigurationError(`${hook} of the worker for "${spec.name}" must be a function; got ${typeof options[hook]}`);
      }
    }
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!(concurrency === Infinity || (Number.isInteger(concurrency) && concurrency >= 1))) {
      throw new ValidationError(`concurrency must be a whole number >= 1 (or Infinity); got ${String(concurrency)}`);
    }
    this.concurrency = concurrency;
    this.retry = resolveRetryPolicy(options.retry);
    this.timeouts = resolveTimeouts(options.timeouts);
    this.init = options.init;
    this.processor = options.processor;
    this.dispose = options.dispose;
    this.liveEnv = resolveEnv(options.liveEnv, `defineWorker of spec "${spec.name}"`);
    this.liveEnv.registerWorker(this);
  }
}

/** A worker def of any spec. */
export type AnyLiveWorkerDef = LiveWorkerDef<any, any, any, any>;

function resolveTimeouts(options: TimeoutOptions | undefined): ResolvedTimeouts {
  const merged: TimeoutOptions = { ...DEFAULT_TIMEOUTS, ...options };
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value > 0) || value > 2 ** 31 - 1) {
      throw new ValidationError(`timeouts.${name} must be a number of ms between 1 and 2147483647, or undefined for none; got ${String(value)}`);
    }
  }
  return merged;
}
