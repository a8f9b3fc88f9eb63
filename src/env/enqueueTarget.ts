import { assertValidId, newJobId } from "../ids.js";
import { assertKnownKeys } from "../options.js";
import type { LiveEnv } from "./LiveEnv.js";
import { resolveEnv } from "./resolveEnv.js";

/**
 * The env and the job id of an enqueue call (`owner`: `spec "chop"`,
 * `Liveflow "pizza"`): its option keys checked against `keys`, `liveEnv`
 * resolved (default `LiveEnv.global()`), `jobId` as given or a fresh one.
 *
 * @throws ConfigurationError for an unknown option key or a `liveEnv` that is no env.
 * @throws ValidationError for a job id that is not a valid id (see `assertValidId`).
 */
export function enqueueTarget(
  owner: string,
  options: { readonly liveEnv?: unknown; readonly jobId?: unknown },
  keys: readonly string[],
): { env: LiveEnv; jobId: string } {
  assertKnownKeys(`enqueueJob options of ${owner}`, options, keys);
  const env = resolveEnv(options.liveEnv, `enqueueJob of ${owner}`);
  const jobId = options.jobId === undefined ? newJobId() : options.jobId;
  assertValidId("job id", jobId);
  return { env, jobId };
}
