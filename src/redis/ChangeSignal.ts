import type { WaitCanceller } from "../backend/Backend.js";

/**
 * Counts the notifications a stream got, and lets a waiter sleep until the
 * next one (or `pollMs`, or its canceller). A waiter takes the count before
 * it reads, and waits only if nothing came since: no notification is lost
 * between a read and the wait.
 */
export class ChangeSignal {
  version = 0;
  private waiters: Array<() => void> = [];

  /** Something changed: wake every waiter. */
  bump(): void {
    this.version++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once a change after `since` came, or after `pollMs`; rejects
   * with the canceller's reason once it fires.
   */
  wait(since: number, pollMs: number, canceller?: WaitCanceller): Promise<void> {
    if (canceller?.cancelled) return Promise.reject(canceller.cancelReason);
    if (this.version !== since) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error !== undefined) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => finish(), pollMs);
      this.waiters.push(() => finish());
      canceller?.onCancel(() => finish(canceller.cancelReason ?? new Error("cancelled")));
    });
  }
}
