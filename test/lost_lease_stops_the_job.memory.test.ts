/**
 * `JobLease.lost` (Backend.ts): "Aborts when the lease is lost: another
 * process may run the job now; stop and write nothing." The memory backend
 * never loses a lease, so a memory backend whose leases can be lost on
 * demand stands for one that does (Redis: a lock that expired, a write
 * refused by the fencing token). The runtime stops the job here: its
 * attempt's signal aborts, and nothing more is written.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, memoryBackend, type Backend, type JobLease } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** A memory backend whose leases can be lost on demand (as a Redis lock that expired). */
function losingBackend(): { backend: Backend; lose: (jobId: string) => void; finishElsewhere: (jobId: string) => void } {
  const inner = memoryBackend();
  const losers = new Map<string, AbortController>();
  const leases = new Map<string, JobLease>();
  const jobs: Backend["jobs"] = {
    add: (queueKey, record, announce) => inner.jobs.add(queueKey, record, announce),
    find: (jobId) => inner.jobs.find(jobId),
    consume: (queueKey, concurrency, run) =>
      inner.jobs.consume(queueKey, concurrency, (record, lease) => {
        const lost = new AbortController();
        losers.set(record.jobId, lost);
        leases.set(record.jobId, lease);
        const losable: JobLease = {
          resumed: lease.resumed,
          lost: lost.signal,
          onCancel: (handler) => lease.onCancel(handler),
          finish: (outcome) => lease.finish(outcome),
        };
        run(record, losable);
      }),
  };
  return {
    backend: { jobs, streams: inner.streams, events: inner.events, close: () => inner.close() },
    lose: (jobId) => losers.get(jobId)?.abort(new Error("lease lost")),
    // What the process that holds the job now does at its end (here, for the env to close).
    finishElsewhere: (jobId) => leases.get(jobId)?.finish({ status: "completed" }),
  };
}

describe("a job whose lease is lost", () => {
  it("aborts its processor's signal, and writes nothing more", async () => {
    const { backend, lose, finishElsewhere } = losingBackend();
    const { env } = createTestEnv({ backend });
    const spec = JobSpec.define({ name: "leased", input: z.number(), output: z.number() });
    let signal: AbortSignal | undefined;
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, signal: attemptSignal }) => {
        signal = attemptSignal;
        for await (const n of input) await output.emit(n).catch(() => {});
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env, jobId: "leased-1" });
    await job.input.feed(1);
    const reader = job.output[Symbol.asyncIterator]();
    expect((await reader.next()).value?.data).toBe(1);
    lose("leased-1");
    await job.input.feed(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(signal?.aborted).toBe(true);
    const next = await Promise.race([reader.next(), new Promise((resolve) => setTimeout(() => resolve("nothing"), 50))]);
    expect(next).toBe("nothing");
    finishElsewhere("leased-1");
    await job.waitUntilFinish();
  });
});
