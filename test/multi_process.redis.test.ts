/**
 * One env across processes on Redis (issue 13), with real child processes
 * on loopback: this test process is the client (A); workers (B) and a
 * reader (C) are children running test/fixtures/redis-process.ts, which
 * tell the test what they do as JSON lines. A worker in B runs what A
 * enqueues while C reads it; two worker processes share a queue without
 * running a job twice; A cancels a job running in B; a worker process
 * closing on SIGTERM hands its running jobs to another, nothing lost.
 * Measured figures (cancel delay, jobs per worker, handover time) are test
 * annotations (`--reporter=verbose` shows them).
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { JobCancelledError, JobFailedError, LeaseExpiredError, type LifecycleEvent, type LiveEnv } from "../src/index.js";
import { CHILD_ENV, LEASE_MS, fragile, hang, multiProcessEnv, relay, tally } from "./fixtures/multiProcessSpecs.js";
import { startChild, stopChildren, type Child, type ChildLine } from "./helpers/childProcesses.js";
import { within } from "./helpers/breaker.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const fixture = fileURLToPath(new URL("./fixtures/redis-process.ts", import.meta.url));
const children: Child[] = [];
const clients: LiveEnv[] = [];

afterEach(async () => {
  // Every child started, by its pid, even when the test failed; then the client env.
  await stopChildren(children.splice(0));
  await Promise.all(clients.splice(0).map((env) => env.close()));
});

/** A child process of the env under `prefix`: `worker`, or `reader <jobId>`. */
function start(name: string, prefix: string, ...args: string[]): Child {
  const child = startChild(name, fixture, args, { [CHILD_ENV.url]: redisUrl(), [CHILD_ENV.prefix]: prefix, [CHILD_ENV.name]: name });
  children.push(child);
  return child;
}

/** This process's env under `prefix`: the client, with no worker defs. */
function clientEnv(prefix: string): LiveEnv {
  const env = multiProcessEnv(redisUrl(), prefix);
  clients.push(env);
  return env;
}

const is = (event: string, jobId?: string) => (line: ChildLine) => line.event === event && (jobId === undefined || line.jobId === jobId);
const ready = (child: Child) => child.waitFor("ready", is("ready"));

describe("one env, several processes (child processes on Redis)", () => {
  it("a worker in B runs the job A enqueues and feeds; C finds it by id and reads every message; A's waitUntilFinish resolves", async () => {
    const prefix = uniquePrefix("multi-process");
    const client = clientEnv(prefix);
    const worker = start("B", prefix, "worker");
    const job = await relay.enqueueJob({ liveEnv: client, jobId: "order-1" });
    const reader = start("C", prefix, "reader", "order-1");
    await reader.waitFor("C found the job", is("found", "order-1"));
    const numbers = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const n of numbers) await job.input.feed(n);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    const read = await reader.waitFor("C read the output", is("read", "order-1"));
    expect(read.messages).toEqual(numbers.map((n) => ({ n, by: "B" })));
    expect((await reader.waitFor("C saw the job finish", is("finished", "order-1"))).status).toBe("completed");
    expect(await reader.exited).toEqual({ code: 0, signal: null });
    // B ran it, once, each number handled once.
    expect(worker.lines.filter(is("started", "order-1"))).toHaveLength(1);
    expect(worker.lines.filter(is("handled", "order-1")).map((line) => line.n)).toEqual(numbers);
    const inA: unknown[] = [];
    for await (const { data } of job.output) inA.push(data);
    expect(inA).toEqual(read.messages);
  });

  it("two worker processes share a spec's jobs: each of 30 runs exactly once, and both processes run some", async ({ annotate }) => {
    const prefix = uniquePrefix("multi-process");
    const client = clientEnv(prefix);
    const workers = [start("B1", prefix, "worker"), start("B2", prefix, "worker")];
    await Promise.all(workers.map(ready));
    const ids = Array.from({ length: 30 }, (_, i) => `tally-${i + 1}`);
    const jobs = await Promise.all(ids.map((jobId) => tally.enqueueJob({ liveEnv: client, jobId })));
    await Promise.all(jobs.map((job) => job.waitUntilFinish()));
    const ran = workers.flatMap((worker) => worker.lines.filter(is("ran")).map((line) => ({ jobId: line.jobId as string, by: worker.name, attempt: line.attempt })));
    const attempts = new Map<string, number>();
    for (const { jobId } of ran) attempts.set(jobId, (attempts.get(jobId) ?? 0) + 1);
    expect([...attempts.keys()].sort()).toEqual([...ids].sort());
    expect([...attempts].filter(([, count]) => count !== 1), "jobs run more than once").toEqual([]);
    expect(ran.filter(({ attempt }) => attempt !== 1), "restarted attempts").toEqual([]);
    // Each job's output names the process whose processor ran it.
    const outputs = await Promise.all(jobs.map(async (job) => (await job.output.first())?.data));
    expect(outputs).toEqual(ids.map((jobId) => ran.find((r) => r.jobId === jobId)!.by));
    const perWorker = workers.map((worker) => ran.filter(({ by }) => by === worker.name).length);
    await annotate(`jobs per worker process: B1 ${perWorker[0]}, B2 ${perWorker[1]}`);
    expect(Math.min(...perWorker), "jobs run by the process that ran fewer").toBeGreaterThan(0);
  });

  it("A cancels a job running in B: B's processor sees its signal abort within 100 ms, A's waiter gets JobCancelledError with the reason", async ({ annotate }) => {
    const prefix = uniquePrefix("multi-process");
    const client = clientEnv(prefix);
    const worker = start("B", prefix, "worker");
    const job = await hang.enqueueJob({ liveEnv: client, jobId: "hang-1" });
    await worker.waitFor("B runs the job", is("running", "hang-1"));
    const asked = Date.now();
    await job.cancel("out of leeks");
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobCancelledError);
    expect((error as JobCancelledError).reason).toBe("out of leeks");
    expect(job.status).toBe("cancelled");
    const aborted = await worker.waitFor("B's signal aborts", is("aborted", "hang-1"));
    // Both clocks are this machine's wall clock (Date.now in A and in B).
    const delay = (aborted.at as number) - asked;
    await annotate(`cancel from A to the abort of B's signal: ${delay} ms`);
    expect(delay).toBeLessThan(100);
  });

  it("a worker process ended by SIGTERM releases its running jobs; another takes them over and completes them, every input handled", async ({ annotate }) => {
    const prefix = uniquePrefix("multi-process");
    const client = clientEnv(prefix);
    const first = start("B1", prefix, "worker");
    const ids = ["soup-1", "soup-2", "soup-3"];
    const jobs = await Promise.all(ids.map((jobId) => relay.enqueueJob({ liveEnv: client, jobId })));
    const before = [1, 2, 3];
    const after = [4, 5, 6];
    await Promise.all(jobs.map(async (job) => { for (const n of before) await job.input.feed(n); }));
    for (const jobId of ids) for (const n of before) await first.waitFor(`B1 handles ${n} of ${jobId}`, (line) => is("handled", jobId)(line) && line.n === n);
    const second = start("B2", prefix, "worker");
    await ready(second);
    expect(second.lines.filter(is("started"))).toEqual([]); // B1 holds every job

    const signalled = Date.now();
    first.signal("SIGTERM");
    // Fed while the jobs change hands; none of it may be lost.
    await Promise.all(jobs.map(async (job) => { for (const n of after) await job.input.feed(n); }));
    const takenOver = await Promise.all(ids.map((jobId) => second.waitFor(`B2 takes ${jobId} over`, is("started", jobId))));
    const handoverMs = Math.max(...takenOver.map((line) => line.at as number)) - signalled;
    expect(await first.exited).toEqual({ code: null, signal: "SIGTERM" });
    await Promise.all(jobs.map((job) => job.input.terminate()));
    await Promise.all(jobs.map((job) => job.waitUntilFinish()));

    let duplicates = 0;
    for (const [i, job] of jobs.entries()) {
      const jobId = ids[i]!;
      const handled = [first, second].flatMap((worker) => worker.lines.filter(is("handled", jobId)).map((line) => line.n as number));
      expect(new Set(handled), jobId).toEqual(new Set([...before, ...after]));
      const output: number[] = [];
      for await (const { data } of job.output) output.push(data.n);
      expect(new Set(output), jobId).toEqual(new Set([...before, ...after]));
      duplicates += output.length - new Set(output).size;
    }
    await annotate(`handover: SIGTERM to B1 → B2 runs all 3 jobs in ${handoverMs} ms (grace 100 ms); ${duplicates} message(s) handled twice`);
    // Released, not found stalled: a stalled job would wait at least for its lease to run out.
    expect(handoverMs).toBeLessThan(LEASE_MS);
  });

  it("a worker process killed with SIGKILL: another takes its running job over within 2 × leaseMs, as a restart (attempt 2, a worker.restart event whose cause is LeaseExpiredError); every input handled, outputs kept", async ({ annotate }) => {
    const prefix = uniquePrefix("multi-process");
    const client = clientEnv(prefix);
    const events: LifecycleEvent[] = [];
    client.subscribe((event) => {
      if (event.jobId === "killed-soup") events.push(event);
    });
    const first = start("K1", prefix, "worker");
    const job = await relay.enqueueJob({ liveEnv: client, jobId: "killed-soup" });
    for (const n of [1, 2]) await job.input.feed(n);
    await first.waitFor("K1 handles 2", (line) => is("handled", "killed-soup")(line) && line.n === 2);
    const second = start("K2", prefix, "worker");
    await ready(second);
    const killed = Date.now();
    first.signal("SIGKILL");
    for (const n of [3, 4]) await job.input.feed(n);
    const takenOver = await second.waitFor("K2 takes the job over", is("started", "killed-soup"));
    const recoveryMs = (takenOver.at as number) - killed;
    expect(takenOver.attempt).toBe(2);
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    const output: Array<{ n: number; by: string }> = [];
    for await (const { data } of job.output) output.push(data);
    // What K1 emitted before it died is kept; what it had not acknowledged K2 handles again (at least once).
    expect(output.filter(({ by }) => by === "K1").map(({ n }) => n)).toEqual([1, 2]);
    expect(new Set(output.map(({ n }) => n))).toEqual(new Set([1, 2, 3, 4]));
    const handledByK2 = second.lines.filter(is("handled", "killed-soup")).map((line) => line.n as number);
    expect(handledByK2.filter((n) => n >= 3)).toEqual([3, 4]);
    // Observers learn of it from the events alone: one restart, its cause the expired lease.
    const restarts = events.filter((event) => event.type === "worker.restart");
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatchObject({ workerName: "relay", attempt: 1, error: { code: "LEASE_EXPIRED", name: "LeaseExpiredError" } });
    const restart = restarts[0] as Extract<LifecycleEvent, { type: "worker.restart" }>;
    // The backoff is kept: K2's attempt 2 begins no sooner than delayMs after the restart was granted there.
    expect(takenOver.at as number).toBeGreaterThanOrEqual(restart.at + restart.delayMs - 1);
    await annotate(`SIGKILL to K1 → K2 runs attempt 2 after ${recoveryMs} ms (leaseMs ${LEASE_MS}; backoff ${restart.delayMs} ms included); K2 handled again: [${handledByK2.filter((n) => n < 3).join(", ")}]`);
    expect(recoveryMs).toBeLessThan(2 * LEASE_MS);
  });

  it("a worker process killed with SIGKILL while its job's restart budget is spent (maxRestarts 0): the job fails in the process that takes it over, its cause LeaseExpiredError", async () => {
    const prefix = uniquePrefix("multi-process");
    const client = clientEnv(prefix);
    const first = start("F1", prefix, "worker");
    const job = await fragile.enqueueJob({ liveEnv: client, jobId: "fragile-1" });
    await first.waitFor("F1 runs the job", is("running", "fragile-1"));
    const second = start("F2", prefix, "worker");
    await ready(second);
    first.signal("SIGKILL");
    const error = await within(job.waitUntilFinish().catch((e: unknown) => e), 4 * LEASE_MS, "waitUntilFinish");
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).message).toContain("exhausted its restart budget");
    expect((error as JobFailedError).cause).toBeInstanceOf(LeaseExpiredError);
    expect(job.status).toBe("failed");
    // Failed by the supervisor in F2 before any worker began: its processor never ran there.
    expect(second.lines.filter(is("running", "fragile-1"))).toEqual([]);
  });
});
