/** True for a promise or any object with a `then` method (reading `then` may throw: then false). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
  } catch {
    return false;
  }
}

/**
 * Calls `fn` and returns its promise; a synchronous throw becomes a rejected
 * promise. For API methods that return a promise: callers handle one
 * failure path (`await`, `.catch`), never two.
 */
export function rejectOnThrow<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}
