import { SimulatedClock } from "xstate";
import { LiveEnv, type LifecycleEvent, type LiveEnvOptions, type RetryOptions } from "../../src/index.js";

/** Restarts that wait a fixed, small backoff (no jitter), so tests can compute delays. */
export const FAST_RETRY: RetryOptions = {
  maxRestarts: 3,
  withinMs: 60_000,
  backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 0 },
};

/** A logger that keeps quiet: failures in tests are expected, not noise. */
const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * An env driven by a `SimulatedClock`, with a silent logger. Every env
 * created here is closed by `closeAll()` (call it in `afterEach`).
 *
 * @example
 * const { env, clock } = createTestEnv({ streams: { highWaterMark: 2 } });
 */
export function createTestEnv(options: Omit<LiveEnvOptions, "clock"> = {}): { env: LiveEnv; clock: SimulatedClock } {
  const clock = new SimulatedClock();
  const env = LiveEnv.create({ logger: silentLogger, ...options, clock });
  opened.add(env);
  return { env, clock };
}

const opened = new Set<LiveEnv>();

/** Closes every env `createTestEnv` made. */
export async function closeAll(): Promise<void> {
  const envs = [...opened];
  opened.clear();
  await Promise.all(envs.map((env) => env.close()));
}

/**
 * Advances `clock` by each restart's backoff as soon as the worker enters
 * `recovering`, so recovery proceeds under a simulated clock. Returns an
 * unsubscribe function.
 */
export function autoAdvanceBackoff(env: LiveEnv, clock: SimulatedClock): () => void {
  return env.subscribe((event) => {
    if (event.type === "worker.restart") {
      // After the transition that scheduled the backoff timer has finished.
      setImmediate(() => clock.increment(event.delayMs));
    }
  });
}

/**
 * Resolves with the first lifecycle event of `env` matching `predicate`;
 * rejects after `timeoutMs` of real time (a generous bound, not a race).
 */
export function nextEvent(
  env: LiveEnv,
  predicate: (event: LifecycleEvent) => boolean,
  timeoutMs = 10_000,
): Promise<LifecycleEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching lifecycle event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = env.subscribe((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

/** A promise with its resolve function exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

/** Creates a `Deferred`. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
