/** What hears that its lease was lost (a job's runtime). */
export interface LeaseHolder {
  onLeaseLost(): void;
}

/**
 * The holders listening to each lease's `lost` signal. A backend may hand
 * every lease one signal (memory: one that never aborts): its holders share
 * one listener, instead of one `addEventListener` each (about a microsecond
 * a job in Node's EventTarget, a listener record kept per live job, and
 * Node's "possible memory leak" warning past ten). A signal of one lease
 * keeps its holder directly, without a set.
 */
const holders = new WeakMap<AbortSignal, LeaseHolder | Set<LeaseHolder>>();

function onAbort(this: AbortSignal): void {
  const held = holders.get(this);
  holders.delete(this);
  if (held === undefined) return;
  if (held instanceof Set) for (const holder of held) holder.onLeaseLost();
  else held.onLeaseLost();
}

/**
 * Calls `holder.onLeaseLost()` once `lost` aborts (until `unwatchLease`).
 * The caller checks `lost.aborted` first.
 *
 * @example
 * watchLease(lease.lost, runtime);
 * // … the job ends here:
 * unwatchLease(lease.lost, runtime);
 */
export function watchLease(lost: AbortSignal, holder: LeaseHolder): void {
  const held = holders.get(lost);
  if (held === undefined) {
    holders.set(lost, holder);
    lost.addEventListener("abort", onAbort, { once: true });
  } else if (held instanceof Set) held.add(holder);
  else holders.set(lost, new Set([held, holder]));
}

/** `holder` no longer hears of `lost` (its job ended here). */
export function unwatchLease(lost: AbortSignal, holder: LeaseHolder): void {
  const held = holders.get(lost);
  if (held === holder) {
    holders.delete(lost);
    lost.removeEventListener("abort", onAbort);
  } else if (held instanceof Set) held.delete(holder);
}
