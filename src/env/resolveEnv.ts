import { ConfigurationError } from "../errors.js";
import { LiveEnv } from "./LiveEnv.js";

/**
 * The `liveEnv` option: the given env, or `LiveEnv.global()` when omitted.
 * Anything else is a `ConfigurationError` naming `where` (a check by shape,
 * not `instanceof`, so an env from another copy of the package still works).
 * A `createTestEnv()` result (`{ env, clock, … }`) gets an error that says to
 * pass its `.env`: the slip a newcomer makes most.
 */
export function resolveEnv(value: unknown, where: string): LiveEnv {
  if (value === undefined) return LiveEnv.global();
  if (isLiveEnv(value)) return value;
  if (isTestEnv(value)) {
    throw new ConfigurationError(
      `liveEnv of ${where} got the result of createTestEnv(); pass its .env (liveEnv: testEnv.env)`,
    );
  }
  throw new ConfigurationError(
    `liveEnv of ${where} must be an env from LiveEnv.create(...) (or omitted for LiveEnv.global()); got ${value === null ? "null" : typeof value}`,
  );
}

function isLiveEnv(value: unknown): value is LiveEnv {
  if (value instanceof LiveEnv) return true;
  const shaped = value as Partial<Record<"reserveJob" | "registerWorker" | "close", unknown>> | null;
  return Boolean(shaped && typeof shaped.reserveJob === "function" && typeof shaped.registerWorker === "function" && typeof shaped.close === "function");
}

/** The shape of `createTestEnv()`'s result: an object holding a LiveEnv as `env`, and a `clock`. */
function isTestEnv(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const shaped = value as { env?: unknown; clock?: unknown };
  return Object.hasOwn(value, "env") && Object.hasOwn(value, "clock") && isLiveEnv(shaped.env) && shaped.clock != null;
}
