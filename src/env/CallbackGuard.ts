import { describeError, serializeError } from "../errors.js";
import type { Logger } from "../logger.js";
import { isThenable } from "../thenable.js";

/**
 * Calls user callbacks (lifecycle listeners, inspect observers) so that what
 * they throw never reaches the library: the first throw of each callback is
 * logged (the logger is guarded too), later ones are dropped, and the job
 * goes on as if the callback had returned.
 */
export class CallbackGuard {
  private readonly reported = new WeakSet<object>();

  constructor(private readonly logger: Logger) {}

  /** Calls `callback(argument)`; a throw is reported once per callback. */
  call<A>(callback: (argument: A) => unknown, argument: A, what: string): void {
    try {
      const result = callback(argument);
      // An async callback rejects instead of throwing: the same rule, or the rejection would go unhandled.
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.report(callback, what, error));
    } catch (error) {
      this.report(callback, what, error);
    }
  }

  /** Reports a throw of `callback`, the first time only. */
  report(callback: object, what: string, error: unknown): void {
    if (this.reported.has(callback)) return;
    this.reported.add(callback);
    this.logger.error(`${what} threw (ignored; later throws of it are not reported): ${describeError(error)}`, {
      error: serializeError(error),
    });
  }
}
