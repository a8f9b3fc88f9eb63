import type { SimulatedClock } from "xstate";
import { settle } from "./collect.js";

/**
 * Lets every queued promise callback run (a few macrotask turns, so chains
 * of awaits across XState's mailbox and the streams finish).
 */
export function flushMicrotasks(turns = 3): Promise<void> {
  return settle(turns);
}

/**
 * Drives a simulated clock until `done` settles: alternates a flush and
 * `clock.increment(stepMs)`, at most `maxSteps` times, so it cannot hang.
 * Returns how many steps it took; throws when `done` did not settle.
 *
 * @example
 * await driveUntilSettled(clock, job.waitUntilFinish(), { stepMs: 50, maxSteps: 1_000 });
 */
export async function driveUntilSettled(
  clock: SimulatedClock,
  done: Promise<unknown>,
  { stepMs = 10, maxSteps = 10_000 }: { stepMs?: number; maxSteps?: number } = {},
): Promise<number> {
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; step < maxSteps; step++) {
    await flushMicrotasks();
    if (settled) return step;
    clock.increment(stepMs);
  }
  await flushMicrotasks();
  if (settled) return maxSteps;
  throw new Error(`did not settle within ${maxSteps} steps of ${stepMs} ms of simulated time`);
}

/**
 * Advances a simulated clock by `totalMs` in slices of `stepMs`, flushing
 * between slices so timers scheduled on the way fire in order.
 */
export async function advanceBy(clock: SimulatedClock, totalMs: number, stepMs = 10): Promise<void> {
  for (let elapsed = 0; elapsed < totalMs; ) {
    const slice = Math.min(stepMs, totalMs - elapsed);
    await flushMicrotasks();
    clock.increment(slice);
    elapsed += slice;
  }
  await flushMicrotasks();
}
