/**
 * Serves the calls of one async method (an iterator's `next`) in call
 * order, as Node's stream iterators do: a call made while an earlier one
 * still waits runs once that one settled. A call answered at once holds
 * nothing, and a call that waits costs no promise for this: its own
 * continuation calls `release` (a reader that waits for each message pays
 * one promise per message, not two).
 *
 * @example
 * next() {
 *   if (this.order.busy) return this.order.after(() => this.serve(false));
 *   // serve(true): a wait goes through `hold`, and its continuation (resolved
 *   // or rejected) calls `this.order.release()` before anything else.
 * }
 */
export class CallOrder<T> {
  /** Calls that wait: held ones until released, queued ones until settled. */
  private waiting = 0;
  /** The call queued last: the next call queues behind it. */
  private last: Promise<T> | undefined;

  /** True while a call waits: a new call must go `after` it. */
  get busy(): boolean {
    return this.waiting > 0;
  }

  /** Runs `serve` once the waiting calls settled (however they settled). Its own waits must not `hold`. */
  after(serve: () => Promise<T>): Promise<T> {
    const result = this.last!.then(serve, serve);
    this.waiting++;
    this.last = result;
    const settled = () => {
      this.waiting--;
    };
    result.then(settled, settled);
    return result;
  }

  /** Makes the calls that come before `result`'s continuation calls `release` wait for it. */
  hold(result: Promise<T>): Promise<T> {
    this.waiting++;
    this.last = result;
    return result;
  }

  /** The held call's continuation runs: calls made from now on need not wait for it. */
  release(): void {
    this.waiting--;
  }
}
