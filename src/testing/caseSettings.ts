import { ConfigurationError, ValidationError } from "../errors.js";
import { MAX_TIMER_MS, assertKnownKeys } from "../options.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { LiveWorkerOptions } from "../worker/LiveWorkerOptions.js";
import { DEFAULT_WORKER_TEST_TIMEOUT_MS } from "./caseDeadline.js";
import { samplesByTag, type SampleInput } from "./sampleInput.js";

/** The worker under test: what you pass to `defineWorker`, minus env, retry and concurrency. */
export type WorkerUnderTest<I, O, Opt, R, S = any> = Pick<LiveWorkerOptions<I, O, Opt, R, S>, "processor" | "init" | "dispose" | "initialState">;

/** Options of `workerTestCases` (and `replay`). */
export interface WorkerTestCasesOptions<Opt, I = any> {
  /**
   * Messages to feed: an array for the `default` input tag, or a record of
   * input tag → messages for a spec with other tags (`{ veg: […], spice: […] }`).
   * Fed tag by tag in the spec's order; every input tag is terminated after its
   * sample (tags left out get none). Required.
   */
  sampleInput: SampleInput<I>;
  /** Job options of every case. Default: none. */
  jobOptions?: Opt extends undefined ? Record<string, unknown> : unknown;
  /** Heartbeat timeout of the stall cases, in ms of the simulated clock. Default 1 000. */
  heartbeatMs?: number;
  /** Add a stall variant (heartbeat timeout) of every path with a processor failure. Default true. */
  stalls?: boolean;
  /**
   * When a case's job completes, check that nothing was lost: every sample
   * message reached the processor, and every output of a fault-free run of the
   * same sample appears among the case's outputs (compared as JSON, per tag;
   * duplicates allowed, at-least-once). Turn it off for a worker whose outputs
   * differ from run to run (wall-clock times, random ids). Default true.
   */
  checkNothingLost?: boolean;
  /**
   * Real-time deadline of each case, in ms: every wait of the case draws from it, so a
   * hang fails with the path and what the case waited for. Closing the case's env
   * may take up to 500 ms more. Default 4 000 (`DEFAULT_WORKER_TEST_TIMEOUT_MS`),
   * below the 5 000 ms per-test default of vitest and Jest; raise the runner's
   * timeout if you raise this (mocha's default is 2 000 ms).
   */
  timeoutMs?: number;
}

/** The options of a case, checked and with their defaults. */
export interface CaseSettings {
  readonly samples: ReadonlyMap<string, readonly unknown[]>;
  /** Messages in the whole sample, every tag together. */
  readonly sampleSize: number;
  readonly jobOptions: unknown;
  readonly heartbeatMs: number;
  readonly stalls: boolean;
  readonly checkNothingLost: boolean;
  readonly timeoutMs: number;
}

const KNOWN = ["sampleInput", "jobOptions", "heartbeatMs", "stalls", "checkNothingLost", "timeoutMs"];

function wholeMs(where: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new ValidationError(`${name} of ${where} must be a whole number of ms in 1 … ${MAX_TIMER_MS}; got ${typeof value === "number" ? value : typeof value}`);
  }
  return value;
}

function flag(where: string, name: string, value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== "boolean") throw new ValidationError(`${name} of ${where} must be true or false; got ${typeof value}`);
  return value;
}

/**
 * Checks the options of `workerTestCases` / `replay` against the spec and the
 * worker, once, before any case runs. Throws `ConfigurationError` (unknown
 * keys, a sample that does not fit the spec's tags, no processor) or
 * `ValidationError` (a bad duration or flag).
 */
export function caseSettings(spec: AnyJobSpec, worker: WorkerUnderTest<any, any, any, any>, options: unknown, where: string): CaseSettings {
  if (options === undefined) throw new ConfigurationError(`${where} needs options with sampleInput (the messages to feed)`);
  assertKnownKeys(`${where} options`, options, KNOWN);
  if (typeof worker?.processor !== "function") throw new ConfigurationError(`the worker given to ${where} has no processor function`);
  if (worker.init !== undefined && typeof worker.init !== "function") throw new ConfigurationError(`init of the worker given to ${where} must be a function`);
  if (worker.dispose !== undefined && typeof worker.dispose !== "function") throw new ConfigurationError(`dispose of the worker given to ${where} must be a function`);
  if (worker.initialState !== undefined && typeof worker.initialState !== "function") throw new ConfigurationError(`initialState of the worker given to ${where} must be a function`);
  if (spec.stateSchema !== undefined && worker.initialState === undefined) {
    throw new ConfigurationError(`the worker given to ${where} needs initialState: spec "${spec.name}" has a state schema, so its workers are stateful`);
  }
  const given = options as Partial<Record<(typeof KNOWN)[number], unknown>>;
  if (given.sampleInput === undefined) throw new ConfigurationError(`sampleInput of ${where} is required: the messages to feed (an array, or a record of input tag → messages)`);
  const samples = samplesByTag(spec, given.sampleInput, where);
  return {
    samples,
    sampleSize: [...samples.values()].reduce((total, messages) => total + messages.length, 0),
    jobOptions: given.jobOptions,
    heartbeatMs: wholeMs(where, "heartbeatMs", given.heartbeatMs, 1_000),
    stalls: flag(where, "stalls", given.stalls),
    checkNothingLost: flag(where, "checkNothingLost", given.checkNothingLost),
    timeoutMs: wholeMs(where, "timeoutMs", given.timeoutMs, DEFAULT_WORKER_TEST_TIMEOUT_MS),
  };
}
