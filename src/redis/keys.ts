import type { StreamKey } from "../backend/Backend.js";

/**
 * Where an env's jobs live in Redis. Every key starts with
 * `<prefix>/<projectId>:` (neither holds a `/`, so two pairs never share keys); a job's keys carry its id in braces (a Redis
 * Cluster hash tag), so one script can touch all of them.
 *
 * - `…:job:{id}`: the job's hash (record, status, fencing token, outcome, per-stream counters, and the states stateful workers committed, `ws:<node>`);
 * - `…:s:{id}:<role>:<node>/<tag>`: one Redis stream per node, tag and direction;
 * - `…:s:{id}:<role>:<node>/<tag>/cursors`: the output readers' positions (sorted set) and `…/leases` their expiry (hash)
 *   (a tag holds no `/`: no stream's key is another's reader set);
 * - `…:ev:{id}`: the job's journal (its lifecycle events, capped);
 * - `…:events`: every job's lifecycle events (capped);
 * - channel `…:n:{id}`: notifications of the job: `d|<suffix>` data or an end marker on one
 *   stream, `a|<suffix>` room on it (acknowledged, or a reader moved on), `d` every stream
 *   ended, `s|<status>` a status that is not final (no outcome to read), `s` a final
 *   status (the outcome is in the hash), `c` cancel;
 * - `…:bull`: BullMQ's own keys (one queue per spec or flow).
 */
export class RedisKeys {
  readonly base: string;

  constructor(prefix: string, projectId: string) {
    // `/`, which neither holds: ("p", "x:y") and ("p:x", "y") are two envs, not one.
    this.base = `${prefix}/${projectId}`;
  }

  job(jobId: string): string {
    return `${this.base}:job:{${jobId}}`;
  }

  /** What names a stream within its job: `<role>:<node>/<tag>` (ids hold no `/`: the first one splits node from tag). */
  static suffix(key: Pick<StreamKey, "role" | "node" | "tag">): string {
    return `${key.role}:${key.node}/${key.tag}`;
  }

  stream(jobId: string, suffix: string): string {
    return `${this.base}:s:{${jobId}}:${suffix}`;
  }

  /** Prefix of a job's stream keys, for scripts that walk them (`…:s:{id}:`). */
  streamPrefix(jobId: string): string {
    return `${this.base}:s:{${jobId}}:`;
  }

  journal(jobId: string): string {
    return `${this.base}:ev:{${jobId}}`;
  }

  get events(): string {
    return `${this.base}:events`;
  }

  channel(jobId: string): string {
    return `${this.base}:n:{${jobId}}`;
  }

  /** BullMQ's key prefix for this env's queues. */
  get bull(): string {
    return `${this.base}:bull`;
  }
}
