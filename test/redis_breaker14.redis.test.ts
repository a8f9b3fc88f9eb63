/**
 * A hostile review of issue 14's guarantees on Redis (take-over after a
 * crash, fencing, restarts spanning processes), with worker children
 * (test/fixtures/breaker14-worker.ts) and this process as the client.
 * One defect per test (title: what should happen; comment: the promise
 * quoted, what happened, the cause when found).
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { JobFailedError, LeaseExpiredError, type LifecycleEvent, type LiveEnv } from "../src/index.js";
import { CHILD_ENV, LEASE_MS, multiProcessEnv } from "./fixtures/multiProcessSpecs.js";
import { crashy, flaky, hangs, twoStep } from "./fixtures/breaker14Specs.js";
import { startChild, stopChildren, type Child, type ChildLine } from "./helpers/childProcesses.js";
import { within } from "./helpers/breaker.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const fixture = fileURLToPath(new URL("./fixtures/breaker14-worker.ts", import.meta.url));
const children: Child[] = [];
const clients: LiveEnv[] = [];

afterEach(async () => {
  await stopChildren(children.splice(0));
  await Promise.all(clients.splice(0).map((env) => env.close()));
});

function worker(name: string, prefix: string, extra: Record<string, string> = {}): Child {
  const child = startChild(name, fixture, [], { [CHILD_ENV.url]: redisUrl(), [CHILD_ENV.prefix]: prefix, [CHILD_ENV.name]: name, ...extra });
  children.push(child);
  return child;
}

function client(prefix: string): LiveEnv {
  const env = multiProcessEnv(redisUrl(), prefix);
  clients.push(env);
  return env;
}

const is = (event: string, jobId?: string) => (line: ChildLine) => line.event === event && (jobId === undefined || line.jobId === jobId);

/** The events of job `jobId` this client sees. */
function eventsOf(env: LiveEnv, jobId: string): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  env.subscribe((event) => {
    if (event.jobId === jobId) events.push(event);
  });
  return events;
}

/**
 * Runs a `crashy` job (its processor SIGKILLs its own process at once) on one worker process at a time, each
 * killed one followed by the next, up to 5: the processor calls seen, the job's outcome (or a timeout), its events.
 */
async function crashLoop(backoffMs: number) {
  const prefix = uniquePrefix("breaker14");
  const env = client(prefix);
  const jobId = "crash-loop";
  const events = eventsOf(env, jobId);
  const job = await crashy.enqueueJob({ liveEnv: env, jobId });
  const outcome = job.waitUntilFinish().catch((error: unknown) => error);
  const started: ChildLine[] = [];
  for (let i = 1; i <= 5; i++) {
    const child = worker(`C${i}`, prefix, { LW_B14_BACKOFF_MS: String(backoffMs) });
    const ended = await Promise.race([child.exited.then(() => "killed"), outcome.then(() => "finished")]);
    started.push(...child.lines.filter(is("started", jobId)));
    if (ended === "finished") break;
  }
  const error = await within(outcome, 4 * LEASE_MS, "waitUntilFinish").catch((timeout: unknown) => timeout);
  return { attempts: started.map((line) => line.attempt as number), error, events };
}

describe("restart budget spanning processes", () => {
  it("a job whose processor crashes its process at once (backoff 0) fails once crashes alone spent maxRestarts (2): JobFailedError caused by LeaseExpiredError", async ({ annotate }) => {
    // README, Running on Redis: "each granted restart is stored with the job (behind its fencing token), so a
    // process that resumes the job starts from that history and the restart budget (retry.maxRestarts within
    // retry.withinMs) spans processes"; Crash: "with the budget spent the job fails, JobFailedError with the
    // LeaseExpiredError as cause". Redis: 5 processes took the job over in turn, each ran attempt 2 and died;
    // the job stays running forever (hash: no `rh`, no `ra`; tok 5). Cause: the granted restart (`lwRecord rh`,
    // JobRuntime.onSnapshot → RedisLease.record) is a write-behind queued for the end of the turn (WriteQueue,
    // setImmediate), and with a backoff of 0 the next attempt's processor runs in the same turn: a processor that
    // takes its process down there (a native crash, an OOM, process.exit) does so before the record is sent.
    // Nothing stored at the take-over itself (lwStart) counts it.
    const { attempts, error } = await crashLoop(0);
    await annotate(`processor calls (attempt of each): ${attempts.join(", ")}`);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(LeaseExpiredError);
    expect(attempts.length).toBe(3);
  }, 40_000);

  it("a job whose processor crashes its process at once numbers its attempts 1, 2, 3 across the processes that take it over, each restart naming the attempt lost", async ({ annotate }) => {
    // README: the context's "attempt (1, then one more per restart)"; Crash: "each worker begins in recovering
    // (a worker.restart event with that cause, the lost attempt, the backoff) and goes on with the next attempt".
    // Redis (backoff 300 ms, maxRestarts 2): the processor calls were attempts 1, 2, 2 and the job's restarts
    // both say attempt 1 (so do the worker.restart events). Cause: a worker's attempt is stored (`ra`,
    // JobRuntime.storeAttempt on `executing`) write-behind, at the end of the turn its processor starts in: a
    // process that dies in that turn never stores it, and the next holder resumes from the attempt before.
    const { attempts, error, events } = await crashLoop(300);
    await annotate(`processor calls (attempt of each): ${attempts.join(", ")}`);
    expect(error).toBeInstanceOf(JobFailedError);
    expect({
      attempts,
      restarts: (error as JobFailedError).restarts.map((record) => record.attempt),
      restartEvents: events.filter((event) => event.type === "worker.restart").map((event) => (event as { attempt: number }).attempt),
      failedStatuses: events.filter((event) => event.type === "job.status" && event.status === "failed").length,
    }).toEqual({ attempts: [1, 2, 3], restarts: [1, 2], restartEvents: [1, 2], failedStatuses: 1 });
  }, 40_000);
});
