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
import { brittle, crashy, flaky, hangs } from "./fixtures/breaker14Specs.js";
import { startChild, stopChildren, type Child, type ChildLine } from "./helpers/childProcesses.js";
import { closeProcesses, processOf, settlement, sleep, stringSpec, within, withRedis } from "./helpers/breaker.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const fixture = fileURLToPath(new URL("./fixtures/breaker14-worker.ts", import.meta.url));
const children: Child[] = [];
const clients: LiveEnv[] = [];

afterEach(async () => {
  await closeProcesses();
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

describe("a holder that dies during a restart's backoff", () => {
  it("the process that takes the job over runs attempt 3 (two restarts: the failure, the lost lease), and no two restarts name the same attempt", async ({ annotate }) => {
    // README: the context's "attempt (1, then one more per restart)"; Crash: "each worker begins in recovering
    // (a worker.restart event with that cause, the lost attempt, the backoff) and goes on with the next attempt".
    // Redis: attempt 1 fails in R1 (restart 1, backoff 4 s); R1 is killed during the backoff; R2 grants restart 2
    // (LeaseExpiredError) and runs attempt 2. Both worker.restart events (and restart records) name attempt 1, and
    // the processor's attempt (2) is one less than 1 + restarts. Cause: a worker's attempt is stored (`ra`) when
    // it begins initializing/executing, not when a restart is granted (`recovering` toward attempt 2), so the next
    // holder resumes from attempt 1 (lastAttempt) and counts its restart from there. The same class of defect as
    // redis_breaker_jobs' "a second restart record of attempt 1".
    const prefix = uniquePrefix("breaker14");
    const env = client(prefix);
    const jobId = "dies-in-backoff";
    const events = eventsOf(env, jobId);
    const first = worker("R1", prefix);
    const job = await flaky.enqueueJob({ liveEnv: env, jobId });
    await first.waitFor("R1 fails attempt 1", is("failing", jobId));
    const second = worker("R2", prefix);
    await second.waitFor("R2 ready", is("ready"));
    first.signal("SIGKILL"); // R1 is in its 4 s backoff (recovering) now
    const started = await second.waitFor("R2 runs the job", is("started", jobId), 15_000);
    await job.input.feed(7);
    await job.input.terminate();
    await within(job.waitUntilFinish(), 10_000, "waitUntilFinish");
    const restarts = events.filter((event) => event.type === "worker.restart").map((event) => `${(event as { attempt: number }).attempt}:${(event as { error?: { name: string } }).error?.name}`);
    await annotate(`R2 ran attempt ${started.attempt as number}; worker.restart events: ${restarts.join(", ")}`);
    expect({ attempt: started.attempt, restarts }).toEqual({ attempt: 3, restarts: ["1:Error", "2:LeaseExpiredError"] });
  }, 40_000);
});

describe("cancel of a job whose holder died", () => {
  it("settles (cancelled) within 2 × leaseMs though no other worker process is up: the dead holder's job is held by nobody", async () => {
    // README, Closing: "job.cancel() cancels from any process: a queued job is removed, a running one stopped
    // where it runs"; a released job no process holds is cancelled at once (redis_adversarial). Redis: after the
    // holder's SIGKILL, cancel() (and waitUntilFinish) hang until some worker process takes the job (39 s here,
    // until the test gave up); the job stays `running` in its hash (cx set, held 1). Cause: lwCancel treats
    // `running` + `held 1` as running somewhere and only sets `cx`; nothing tells it that the holder's lease
    // (BullMQ's lock key) has expired, so nobody will ever act on the request until a worker turns up.
    const prefix = uniquePrefix("breaker14");
    const env = client(prefix);
    const jobId = "cancel-dead";
    const first = worker("D1", prefix);
    const job = await hangs.enqueueJob({ liveEnv: env, jobId });
    await first.waitFor("D1 runs the job", is("started", jobId));
    first.signal("SIGKILL");
    await first.exited;
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS)); // its lease has run out
    await within(job.cancel("its holder is gone"), LEASE_MS, "cancel");
    expect(job.status).toBe("cancelled");
  }, 20_000);

  it("cancelled before the take-over, it ends cancelled in the process that takes it over, though its restart budget is spent (maxRestarts 0)", async () => {
    // README: cancel "a running one stopped where it runs"; waitUntilFinish rejects with JobCancelledError for a
    // cancelled job. Redis: the cancel request (`cx`) is handed to the next holder with the expired lease; the job
    // machine asks the restart policy first (`resuming`), which refuses, and the job fails with JobFailedError
    // (cause LeaseExpiredError) though the user cancelled it before any process acted on the loss. Cause: the job
    // machine's `resuming` state decides on `expired` before the CANCEL the lease delivers after `start()`.
    const prefix = uniquePrefix("breaker14");
    const env = client(prefix);
    const jobId = "cancel-then-take";
    const first = worker("E1", prefix);
    const job = await brittle.enqueueJob({ liveEnv: env, jobId });
    await first.waitFor("E1 runs the job", is("started", jobId));
    first.signal("SIGKILL");
    await first.exited;
    const cancelling = job.cancel("changed my mind");
    const second = worker("E2", prefix);
    await second.waitFor("E2 ready", is("ready"));
    await within(cancelling, 4 * LEASE_MS, "cancel");
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect((error as Error).name).toBe("JobCancelledError");
  }, 20_000);
});

describe("a stale holder's outcome", () => {
  it("a waiter in the stale holder's own process does not settle with the outcome the fence refused: it follows the job's real end", async () => {
    // README, Stall: "The stale process may still run its processor, but none of its writes land ... the outcome";
    // "readers and waiters in other processes carry on"; "each job still ends exactly once (its outcome is
    // recorded behind the token)". Redis: the job was taken over (token raised, as the new holder's lwStart
    // does); the stale holder's processor returns; waitUntilFinish in that same process resolves (completed) and
    // job.status there reads "completed", while the job's hash is still `running` under its new holder (which may
    // yet fail it). Cause: RedisLease.finish calls `queue.finishedHere` (the local ticket's `final`) before
    // lwFinish answers, and does not undo it when the script refuses the token (applied 0): the ticket is
    // settled and forgotten, so it never follows the real outcome. Fixed: the ticket settles at once only under
    // a lock taken or renewed within 0.8 × leaseMs (no other process can hold the job then); else once lwFinish
    // took the outcome, and a refused one leaves it following the job.
    const prefix = uniquePrefix("breaker14");
    const env = processOf(prefix);
    const spec = stringSpec();
    let release!: () => void;
    const returns = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    spec.defineWorker({
      liveEnv: env,
      processor: async () => {
        started = true;
        await returns;
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    await expect.poll(() => started).toBe(true);
    await withRedis((redis) => redis.hincrby(`${prefix}/kitchen:job:{${job.jobId}}`, "tok", 1)); // another process took it
    const waiting = settlement(job.waitUntilFinish());
    // As another process can only once this one stalled past its lease (its BullMQ lock expired): the event loop
    // is blocked for leaseMs (5 000 here), and the processor returns as soon as it runs again.
    const blockedUntil = Date.now() + 5_000;
    while (Date.now() < blockedUntil) {
      // busy: no timer, no lock renewal
    }
    release();
    await sleep(500);
    const stored = await withRedis((redis) => redis.hget(`${prefix}/kitchen:job:{${job.jobId}}`, "st"));
    expect({ stored, here: job.status, waiter: await Promise.race([waiting, sleep(100).then(() => "pending")]) }).toEqual({ stored: "running", here: "running", waiter: "pending" });
  });
});
