import { ConfigurationError } from "./errors.js";

/**
 * Rejects option keys a function does not know, so a typo (`retries` for
 * `retry`) fails loudly instead of being ignored.
 */
export function assertKnownKeys(where: string, value: unknown, known: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${where} must be an object; got ${value === null ? "null" : typeof value}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ConfigurationError(`Unknown option "${key}" in ${where}; known: ${known.join(", ")}`);
    }
  }
}
