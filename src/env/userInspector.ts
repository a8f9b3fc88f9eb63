import { toObserver, type InspectionEvent, type Observer } from "xstate";
import { ConfigurationError } from "../errors.js";
import type { CallbackGuard } from "./CallbackGuard.js";

/**
 * The user's `inspect` as a function that never throws (a throw is reported
 * once). A value that is neither a function nor an observer is a `ConfigurationError`.
 */
export function userInspector(inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined, guard: CallbackGuard): ((event: InspectionEvent) => void) | undefined {
  if (inspect === undefined) return undefined;
  const isObserver = typeof inspect === "object" && inspect !== null && typeof (inspect as Observer<InspectionEvent>).next === "function";
  if (typeof inspect !== "function" && !isObserver) {
    throw new ConfigurationError(
      `inspect of LiveEnv.create must be a function (event) => void or an observer { next(event) }; got ${inspect === null ? "null" : typeof inspect}`,
    );
  }
  const observer = toObserver(inspect);
  const next = (event: InspectionEvent) => observer.next?.(event);
  return (event) => guard.call(next, event, "the inspect observer");
}
