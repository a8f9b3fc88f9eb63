import { SimulatedClock } from "xstate";
import type { Clock } from "../../src/index.js";

/** The longest delay Node's timers take. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A simulated clock that behaves like Node's timers at their limits: a delay
 * above 2³¹−1 ms, below 1 ms or not a number fires after 1 ms (Node also
 * prints a `TimeoutOverflowWarning`). It records every delay it was asked
 * for, so a test can assert that no timer was armed, or none out of range.
 */
export class NodeLikeClock implements Clock {
  readonly simulated = new SimulatedClock();
  /** Every delay passed to `setTimeout`, in order. */
  readonly requested: number[] = [];
  private live = new Set<unknown>();

  now(): number {
    return this.simulated.now();
  }

  setTimeout(fn: (...args: any[]) => void, timeout: number): unknown {
    this.requested.push(timeout);
    const effective = timeout > MAX_TIMER_MS || !(timeout >= 1) ? 1 : timeout;
    const id = this.simulated.setTimeout(() => {
      this.live.delete(id);
      fn();
    }, effective);
    this.live.add(id);
    return id;
  }

  clearTimeout(id: unknown): void {
    this.live.delete(id);
    this.simulated.clearTimeout(id as number);
  }

  /** Timers armed and neither fired nor cleared. */
  get pending(): number {
    return this.live.size;
  }

  /** Requested delays a real timer would not honour. */
  get overflowing(): number[] {
    return this.requested.filter((ms) => !(Number.isInteger(ms) && ms >= 0 && ms <= MAX_TIMER_MS));
  }

  increment(ms: number): void {
    this.simulated.increment(ms);
  }
}
