/**
 * White-box helpers for tests that check what the library did underneath a
 * public call (nothing written, no inspector attached). Not public API.
 */
import type { JobStream } from "../../src/backend/Backend.js";
import type { LiveEnv, LiveJob } from "../../src/index.js";
import type { JobRuntime } from "../../src/job/JobRuntime.js";

/** How many messages were ever appended to a stream. */
export async function appended(stream: JobStream | undefined): Promise<number> {
  return ((await stream?.last())?.offset ?? -1) + 1;
}

/** The stream of a job's exposed input (`default` unless named). */
export function inputOf(job: LiveJob, alias = "default"): JobStream {
  return (job as unknown as { inputStream(alias: string): JobStream }).inputStream(alias);
}

/** The stream of a job's exposed output (`default` unless named). */
export function outputOf(job: LiveJob, alias = "default"): JobStream {
  return (job as unknown as { outputStream(alias: string): JobStream }).outputStream(alias);
}

/** The runtime of a job running in `env`, or undefined once it is final. */
export function runtimeOf(env: LiveEnv, job: LiveJob): JobRuntime | undefined {
  return (env as unknown as { runner: { job(jobId: string): JobRuntime | undefined } }).runner.job(job.jobId);
}

/** The worker def a spec name has in `env` (and the spec it serves), or undefined when none was registered. */
export function workerOf(env: LiveEnv, specName: string): { readonly spec: unknown; readonly def: unknown } | undefined {
  return (env as unknown as { runner: { worker(name: string): { spec: unknown; def: unknown } | undefined } }).runner.worker(specName);
}
