/** True for a promise or any object with a `then` method (reading `then` may throw: then false). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
  } catch {
    return false;
  }
}

/**
 * Calls `fn` (with `arg`) and returns its promise; a synchronous throw
 * becomes a rejected promise. For API methods that return a promise: callers
 * handle one failure path (`await`, `.catch`), never two. On a per-message
 * path, pass the argument rather than a new closure per call.
 */
export function rejectOnThrow<T>(fn: () => Promise<T>): Promise<T>;
export function rejectOnThrow<A, T>(fn: (arg: A) => Promise<T>, arg: A): Promise<T>;
export function rejectOnThrow<A, T>(fn: (arg?: A) => Promise<T>, arg?: A): Promise<T> {
  try {
    return fn(arg);
  } catch (error) {
    return Promise.reject(error);
  }
}
