/**
 * The env's clock. XState's `SimulatedClock` satisfies it, so one simulated
 * clock drives every delay, timeout and timestamp in tests.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: any[]) => void, timeout: number): any;
  clearTimeout(id: any): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, timeout) => setTimeout(fn, timeout),
  clearTimeout: (id) => clearTimeout(id),
};
