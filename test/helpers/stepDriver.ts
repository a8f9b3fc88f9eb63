import type { SimulatedClock } from "xstate";
import { flushMicrotasks } from "./drive.js";

/** Drives a simulated clock in fixed steps; user code can sleep for a number of steps. */
export interface StepDriver {
  /** Steps taken so far. */
  readonly step: number;
  /** Resolves `n` steps from now (a user function stuck, ignoring its signal). */
  stepsLater(n: number): Promise<void>;
  /** Resolves every pending `stepsLater` now. */
  wakeAll(): void;
  /** One step: the clock moves `stepMs` (due timers fire), due sleepers wake, promise callbacks run. */
  tick(): Promise<void>;
  /**
   * Steps until `done()`; throws `what()` after `maxSteps` steps (and, with
   * `minRealMs`, once that much real time passed too), so a hang fails instead of hanging.
   */
  driveUntil(done: () => boolean, what: () => string): Promise<void>;
}

/**
 * A step driver for `clock`: simulated time advances only through it.
 *
 * @example
 * const driver = createStepDriver(clock, { stepMs: 20, maxSteps: 10_000 });
 * await driver.driveUntil(() => finished.settled, () => "the job did not end");
 */
export function createStepDriver(
  clock: SimulatedClock,
  { stepMs, maxSteps, minRealMs = 0 }: { stepMs: number; maxSteps: number; /** Real time a drive gets besides its steps (a backend with I/O, whose round trips the steps may outrun). */ minRealMs?: number },
): StepDriver {
  let step = 0;
  const sleepers: Array<{ at: number; wake: () => void }> = [];
  const wakeDue = (all: boolean) => {
    for (const sleeper of [...sleepers]) {
      if (all || sleeper.at <= step) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
    }
  };
  const tick = async () => {
    clock.increment(stepMs);
    step++;
    wakeDue(false);
    await flushMicrotasks();
  };
  return {
    get step() {
      return step;
    },
    stepsLater: (n) => new Promise<void>((wake) => sleepers.push({ at: step + n, wake })),
    wakeAll: () => wakeDue(true),
    tick,
    async driveUntil(done, what) {
      const realDeadline = Date.now() + minRealMs;
      for (let steps = 0; ; steps++) {
        await flushMicrotasks();
        if (done()) return;
        if (steps >= maxSteps && Date.now() >= realDeadline) throw new Error(`${what()} within ${maxSteps} steps of ${stepMs} ms`);
        await tick();
      }
    },
  };
}
