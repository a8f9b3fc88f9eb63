import type { Clock } from "../clock.js";

/** How `within` ended. */
export type Bounded = { kind: "settled" } | { kind: "rejected"; error: unknown } | { kind: "timeout" };

/** Waits for `work` at most `ms` (by `clock`; `Infinity`: no limit). Never rejects. */
export function within(work: Promise<unknown>, ms: number | undefined, clock: Clock): Promise<Bounded> {
  const outcome = work.then(
    (): Bounded => ({ kind: "settled" }),
    (error: unknown): Bounded => ({ kind: "rejected", error }),
  );
  if (ms === undefined || ms === Infinity) return outcome;
  let timer: unknown;
  const timeout = new Promise<Bounded>((resolve) => (timer = clock.setTimeout(() => resolve({ kind: "timeout" }), ms)));
  return Promise.race([outcome, timeout]).finally(() => clock.clearTimeout(timer));
}
