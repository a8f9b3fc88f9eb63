/**
 * Serves the calls of one async method (an iterator's `next`) in call
 * order, as Node's stream iterators do: a call made while an earlier one
 * still waits runs once that one settled. A call answered at once holds
 * nothing, so a reader that keeps up pays no promise per message for this.
 *
 * @example
 * next() {
 *   return this.order.busy ? this.order.after(() => this.serve(false)) : this.serve(true);
 * }
 */
export class CallOrder<T> {
  private waiting: Promise<T> | undefined;

  /** True while a call waits: a new call must go `after` it. */
  get busy(): boolean {
    return this.waiting !== undefined;
  }

  /** Runs `serve` once the waiting calls settled (however they settled). */
  after(serve: () => Promise<T>): Promise<T> {
    return this.hold(this.waiting!.then(serve, serve));
  }

  /** Makes the calls that come before `result` settles wait for it. */
  hold(result: Promise<T>): Promise<T> {
    this.waiting = result;
    const clear = () => {
      if (this.waiting === result) this.waiting = undefined;
    };
    result.then(clear, clear);
    return result;
  }
}
