import { LiveworkerError } from "../errors.js";

/**
 * Redis no longer holds a job this process knew was not final (its hash, with
 * its record, status and fencing token, is gone): Redis was restarted
 * without persistence, or the job's keys were flushed or evicted. The job
 * cannot go on: `waitUntilFinish()` and every reader of it reject with this
 * error, a `feed` rejects with a `StreamClosedError` whose `cause` is this
 * error, and the process that ran it stops its attempt (its `signal` aborts)
 * and writes nothing more of it (the backend's scripts refuse to recreate
 * the keys of a job whose hash is gone). A reader of a finished job whose
 * keys expired (`retentionMs`) gets it too, rather than waiting forever.
 *
 * `jobId` names the job, `address` the Redis (`host:port`). To keep jobs
 * across Redis restarts, run Redis with persistence (`appendonly yes`) and
 * `maxmemory-policy noeviction`; enqueue a lost job again.
 *
 * @example
 * try { await job.waitUntilFinish(); }
 * catch (e) { if (e instanceof RedisDataLostError) await spec.enqueueJob({ jobOptions }); }
 */
export class RedisDataLostError extends LiveworkerError {
  override readonly code = "REDIS_DATA_LOST";

  constructor(
    readonly jobId: string,
    readonly address: string,
  ) {
    super(
      `Redis at ${address} lost job "${jobId}"'s data: its record is gone while the job was not final (Redis was restarted without persistence, or the key was flushed or evicted; or the job ended more than retentionMs ago). The job cannot go on: enqueue it again. To keep jobs across Redis restarts, enable persistence (appendonly yes) and maxmemory-policy noeviction`,
    );
  }
}
