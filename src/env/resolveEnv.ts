import { ConfigurationError } from "../errors.js";
import { LiveEnv } from "./LiveEnv.js";

/**
 * The `liveEnv` option: the given env, or `LiveEnv.global()` when omitted.
 * Anything else is a `ConfigurationError` naming `where` (a check by shape,
 * not `instanceof`, so an env from another copy of the package still works).
 */
export function resolveEnv(value: unknown, where: string): LiveEnv {
  if (value === undefined) return LiveEnv.global();
  if (value instanceof LiveEnv) return value;
  const shaped = value as Partial<Record<"reserveJob" | "registerWorker" | "close", unknown>> | null;
  if (shaped && typeof shaped.reserveJob === "function" && typeof shaped.registerWorker === "function" && typeof shaped.close === "function") {
    return value as LiveEnv;
  }
  throw new ConfigurationError(
    `liveEnv of ${where} must be an env from LiveEnv.create(...) (or omitted for LiveEnv.global()); got ${value === null ? "null" : typeof value}`,
  );
}
