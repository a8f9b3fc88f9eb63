/** True for a promise or any object with a `then` method (reading `then` may throw: then false). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
  } catch {
    return false;
  }
}
