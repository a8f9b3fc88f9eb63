import type { Backend } from "./Backend.js";
import { memoryBackend } from "./memory/memoryBackend.js";

let makeDefault: () => Backend = () => memoryBackend();

/**
 * The backend of an env created without one: `memoryBackend()` (in this
 * process, nothing to set up), one per env.
 */
export function createDefaultBackend(): Backend {
  return makeDefault();
}

/**
 * Replaces what `createDefaultBackend` makes (undefined: back to
 * `memoryBackend()`). The test suite's seam: it runs every behaviour test,
 * written with `LiveEnv.create()`, on the backend `LW_BACKEND` names. Not
 * part of the public API.
 *
 * @internal
 */
export function setDefaultBackend(factory: (() => Backend) | undefined): void {
  makeDefault = factory ?? (() => memoryBackend());
}

/**
 * A backend in this process: the default one, unless that is shared (the
 * test suite's `LW_BACKEND=redis`), then a fresh `memoryBackend()`. For
 * `createTestEnv`, whose simulated clock a shared backend's I/O would not follow.
 *
 * @internal
 */
export function createInProcessBackend(): Backend {
  const backend = makeDefault();
  if (!backend.shared) return backend;
  void backend.close();
  return memoryBackend();
}
