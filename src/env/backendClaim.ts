import { ConfigurationError } from "../errors.js";
import type { Backend } from "../backend/Backend.js";

/**
 * The env each backend, and each of its parts, was given to: a backend serves
 * one env, and `env.close()` closes it. Parts too: a wrapper spread from an
 * env's backend shares its queue, which either env's close would stop.
 */
const backendOwners = new WeakMap<object, string>();

/** A backend and its parts, each of which serves one env. */
function backendParts(backend: Backend): object[] {
  return [backend, backend.jobs, backend.streams, backend.events];
}

/** The `backend` option: an object with the parts of a `Backend` that no other env was given, else a `ConfigurationError`. */
export function checkBackend(value: unknown): Backend {
  const shaped = value as Partial<Record<keyof Backend, unknown>> | null;
  const isObject = (part: unknown) => typeof part === "object" && part !== null;
  const ok =
    isObject(shaped) &&
    isObject(shaped!.jobs) &&
    isObject(shaped!.streams) &&
    isObject(shaped!.events) &&
    typeof shaped!.close === "function";
  if (!ok) {
    throw new ConfigurationError(
      `backend of LiveEnv.create must be a Backend, such as memoryBackend(); got ${value === null ? "null" : typeof value}`,
    );
  }
  const owner = backendParts(value as Backend)
    .map((part) => backendOwners.get(part))
    .find((claimed) => claimed !== undefined);
  if (owner !== undefined) {
    throw new ConfigurationError(
      `backend of LiveEnv.create was already given to env "${owner}" (a backend serves one env, and closing that env closes it); create a new backend for each env`,
    );
  }
  return value as Backend;
}

/** `backend` serves the env `projectId` from now on (called once the env is made: a refused env leaves it free). */
export function claimBackend(backend: Backend, projectId: string): void {
  for (const claimed of backendParts(backend)) backendOwners.set(claimed, projectId);
}
