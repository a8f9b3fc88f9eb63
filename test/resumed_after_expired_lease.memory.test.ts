/**
 * A job taken over from a process that lost it (issue 14): `JobLease.expired`
 * (the last holder never gave it back: it died, or stalled past its lease)
 * makes this run a restart of every worker: counted against the restart
 * budget, begun after its backoff in `recovering`, reported by a
 * `worker.restart` event whose cause is the `LeaseExpiredError`, attempt
 * + 1. A job given back (`resumed` without `expired`) goes on with the next
 * attempt and counts no restart. Attempts begun after the first are handed
 * to `recordAttempts`. The memory backend never resumes a job, so a memory
 * backend whose leases say so stands for one that does (Redis: the hash's
 * `held`, `rh` and `ra` fields, test/multi_process.redis.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  JobFailedError,
  JobSpec,
  LeaseExpiredError,
  LiveEnv,
  Liveflow,
  conn,
  expose,
  memoryBackend,
  type Backend,
  type JobLease,
  type LifecycleEvent,
  type RestartRecord,
  type RetryOptions,
} from "../src/index.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close()));
});

/** What every lease of `resumingBackend` says about the job's earlier holder. */
interface Earlier {
  expired?: boolean;
  attempts?: Record<string, number>;
  restarts?: RestartRecord[];
}

/** A memory backend whose leases present each job as resumed from an earlier holder, and keep what the runtime records. */
function resumingBackend(earlier: Earlier): { backend: Backend; recordedAttempts: Array<Record<string, number>>; recordedRestarts: RestartRecord[][] } {
  const inner = memoryBackend();
  const recordedAttempts: Array<Record<string, number>> = [];
  const recordedRestarts: RestartRecord[][] = [];
  const jobs: Backend["jobs"] = {
    add: (queueKey, record, announce) => inner.jobs.add(queueKey, record, announce),
    find: (jobId) => inner.jobs.find(jobId),
    consume: (queueKey, concurrency, run) =>
      inner.jobs.consume(queueKey, concurrency, (record, lease) => {
        const resumed: JobLease = {
          resumed: true,
          lost: lease.lost,
          onCancel: (handler) => lease.onCancel(handler),
          finish: (outcome) => lease.finish(outcome),
          ...(earlier.expired ? { expired: new LeaseExpiredError(record.jobId) } : {}),
          ...(earlier.attempts ? { attempts: earlier.attempts } : {}),
          ...(earlier.restarts ? { restarts: earlier.restarts } : {}),
          recordAttempts: (attempts) => void recordedAttempts.push({ ...attempts }),
          recordRestarts: (history) => void recordedRestarts.push([...history]),
        };
        run(record, resumed);
      }),
  };
  return { backend: { jobs, streams: inner.streams, events: inner.events, close: () => inner.close() }, recordedAttempts, recordedRestarts };
}

const RETRY: RetryOptions = { maxRestarts: 3, withinMs: 60_000, backoff: { initialMs: 30, factor: 1, maxMs: 30, jitter: 0 } };

function envOf(backend: Backend, warnings: string[] = []): { env: LiveEnv; events: LifecycleEvent[] } {
  const env = LiveEnv.create({ logger: { ...silent, warn: (message: string) => void warnings.push(message) }, backend });
  envs.push(env);
  const events: LifecycleEvent[] = [];
  env.subscribe((event) => void events.push(event));
  return { env, events };
}

let counter = 0;

describe("a job taken over after its holder's lease expired", () => {
  it("restarts its worker: a worker.restart event with the LeaseExpiredError for the lost attempt, the backoff, then attempt + 1", async () => {
    const { backend, recordedAttempts, recordedRestarts } = resumingBackend({ expired: true, attempts: { [`soup-${counter + 1}`]: 2 } });
    const warnings: string[] = [];
    const { env, events } = envOf(backend, warnings);
    const spec = JobSpec.define({ name: `soup-${++counter}`, output: z.number() });
    const began: Array<{ attempt: number; at: number }> = [];
    spec.defineWorker({
      liveEnv: env,
      retry: RETRY,
      processor: async ({ attempt, output }) => {
        began.push({ attempt, at: Date.now() });
        await output.emit(attempt);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await job.waitUntilFinish();
    expect(began.map(({ attempt }) => attempt)).toEqual([3]);
    const restarts = events.filter((event) => event.type === "worker.restart");
    expect(restarts).toEqual([expect.objectContaining({ workerName: spec.name, attempt: 2, delayMs: 30, error: expect.objectContaining({ code: "LEASE_EXPIRED" }) })]);
    expect(began[0]!.at - restarts[0]!.at).toBeGreaterThanOrEqual(29);
    // The worker's states: recovering first, never a second attempt 2.
    const states = events.flatMap((event) => (event.type === "worker.state" ? [`${event.state}#${event.attempt}`] : []));
    expect(states).toEqual(["recovering#2", "executing#3", "done#3"]);
    expect(recordedRestarts).toEqual([[expect.objectContaining({ attempt: 2, delayMs: 30, error: expect.objectContaining({ code: "LEASE_EXPIRED" }) })]]);
    expect(recordedAttempts).toEqual([{ [spec.name]: 3 }]);
    // Operators see the take-over in the logs too.
    expect(warnings.filter((message) => message.includes(`job "${job.jobId}" taken over here: LeaseExpiredError`))).toHaveLength(1);
  });

  it("fails the job when the restart budget is spent: JobFailedError, its cause the LeaseExpiredError; no worker begins", async () => {
    const earlier: RestartRecord = { attempt: 1, at: Date.now(), delayMs: 30, error: { name: "Error", message: "boom" } };
    const { backend } = resumingBackend({ expired: true, restarts: [earlier] });
    const { env, events } = envOf(backend);
    const spec = JobSpec.define({ name: `soup-${++counter}` });
    let ran = 0;
    spec.defineWorker({ liveEnv: env, retry: { ...RETRY, maxRestarts: 1 }, processor: async () => void ran++ });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).message).toContain("exhausted its restart budget (1 restarts within 60000 ms)");
    expect((error as JobFailedError).cause).toBeInstanceOf(LeaseExpiredError);
    expect((error as JobFailedError).restarts).toEqual([earlier]);
    expect(ran).toBe(0);
    expect(events.filter((event) => event.type.startsWith("worker."))).toEqual([]);
  });

  it("fails the job when its retryable predicate refuses the LeaseExpiredError", async () => {
    const { backend } = resumingBackend({ expired: true });
    const { env } = envOf(backend);
    const spec = JobSpec.define({ name: `soup-${++counter}` });
    const asked: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: { ...RETRY, retryable: (error) => (asked.push(error), false) },
      processor: async () => {},
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect((error as JobFailedError).message).toContain("non-retryable");
    expect(asked).toEqual([expect.any(LeaseExpiredError)]);
  });
});

describe("a job given back by its holder (released), resumed here", () => {
  it("goes on with each worker's next attempt (a worker with none stored was on 1), counting no restart", async () => {
    const n = ++counter;
    const head = JobSpec.define({ name: `head-${n}`, input: z.number(), output: z.number() });
    const tail = JobSpec.define({ name: `tail-${n}`, input: z.number(), output: z.number() });
    const { backend, recordedAttempts, recordedRestarts } = resumingBackend({ attempts: { [head.name]: 4 } });
    const { env, events } = envOf(backend);
    const flow = Liveflow.define({
      name: `resumed-${n}`,
      connections: [conn({ from: head, to: tail })],
      exposures: [expose(head.input.default, "in"), expose(tail.output.default, "out")],
    });
    const attempts: Record<string, number> = {};
    for (const spec of [head, tail]) {
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ input, output, attempt }) => {
          attempts[spec.name] = attempt;
          for await (const x of input) await output.emit(x);
        },
      });
    }
    const job = await flow.enqueueJob({ liveEnv: env });
    await job.input("in").feed(1);
    await job.input("in").terminate();
    await job.waitUntilFinish();
    expect(attempts).toEqual({ [head.name]: 5, [tail.name]: 2 });
    expect(events.filter((event) => event.type === "worker.restart")).toEqual([]);
    expect(recordedRestarts).toEqual([]);
    expect(recordedAttempts.at(-1)).toEqual({ [head.name]: 5, [tail.name]: 2 });
  });
});
