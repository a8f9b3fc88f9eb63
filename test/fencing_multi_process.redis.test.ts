/**
 * Fencing across processes (issue 14), with real child processes on Redis:
 * a worker process paused with SIGSTOP past its lease loses its job to
 * another; resumed, its processor (still running, deaf to its signal) emits
 * and acknowledges its input, and none of it lands: every write of a job
 * goes through a script that checks the job's fencing token. Checked in
 * Redis directly (the job's hash and streams) and through readers.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { LiveEnv } from "../src/index.js";
import { RedisKeys } from "../src/redis/keys.js";
import { LEASE_MS, numbers } from "./fixtures/multiProcessSpecs.js";
import { stopChildren, type Child } from "./helpers/childProcesses.js";
import { is, numbersClient, numbersKeys, startNumbersWorker } from "./helpers/numbersWorkers.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const children: Child[] = [];
const clients: LiveEnv[] = [];
const redises: Redis[] = [];

afterEach(async () => {
  // Every child started, by its pid (a paused one too: SIGKILL ends it), then the client env.
  await stopChildren(children.splice(0));
  await Promise.all(clients.splice(0).map((env) => env.close()));
  await Promise.all(redises.splice(0).map((redis) => redis.quit()));
});

function worker(name: string, prefix: string, holdMs: number): Child {
  const child = startNumbersWorker(name, prefix, holdMs);
  children.push(child);
  return child;
}

type Message = { n: number; by: string; attempt: number; run: number };

/**
 * A job run by W1 (holding each input `holdMs.W1` before emitting it), with
 * W2 (`holdMs.W2`) ready to take it over; Redis and the job's stream keys.
 */
async function jobOfW1(jobId: string, holdMs: { W1: number; W2: number }) {
  const prefix = uniquePrefix("fencing-mp");
  const keys = numbersKeys(prefix);
  const redis = new Redis(redisUrl());
  redises.push(redis);
  const client = numbersClient(prefix);
  clients.push(client);
  const first = worker("W1", prefix, holdMs.W1);
  const job = await numbers.enqueueJob({ liveEnv: client, jobId });
  await first.waitFor("W1 runs the job", is("started", jobId));
  // Started once W1 holds the job: it waits for the job to be free.
  const second = worker("W2", prefix, holdMs.W2);
  await second.waitFor("W2 is ready", is("ready"));
  const stream = async (role: "input" | "output") => keys.stream(jobId, await streamSuffix(redis, keys, jobId, role));
  /** Every message of the job's output, read by a reader of this process. */
  const messages = async () => {
    const read: Message[] = [];
    for await (const { data } of job.output) read.push(data);
    return read;
  };
  /** Resolves once the input stream holds exactly `ids` (what was acknowledged is deleted). */
  const inputHolds = async (ids: string[]) => {
    const input = await stream("input");
    await expect.poll(async () => (await redis.xrange(input, "-", "+")).map(([id]) => id), { interval: 10 }).toEqual(ids);
  };
  return { keys, redis, first, second, job, stream, messages, inputHolds };
}

/** The job's hash field that names its stream of `role` (`n:<role>:<node>/default`: how many entries it got). */
async function streamSuffix(redis: Redis, keys: RedisKeys, jobId: string, role: "input" | "output"): Promise<string> {
  const fields = await redis.hkeys(keys.job(jobId));
  const field = fields.find((f) => f.startsWith(`n:${role}:`) && f.endsWith("/default"));
  if (!field) throw new Error(`job "${jobId}" has no ${role} stream; its hash holds ${fields.join(", ")}`);
  return field.slice(2);
}

describe("fencing across processes (child processes on Redis)", () => {
  it("a worker process paused past its lease (SIGSTOP): another takes the job over; resumed, its processor's emit and acknowledgement do not land, its signal aborts, no input is lost", async ({ annotate }) => {
    const jobId = "paused-soup";
    // W2 holds each input 1.5 s: long enough to read Redis while it holds input 2.
    const { keys, redis, first, second, job, stream, messages, inputHolds } = await jobOfW1(jobId, { W1: 300, W2: 1_500 });
    await job.input.feed(1);
    await job.input.feed(2);
    await first.waitFor("W1 takes input 2", is("handled", jobId, 2));
    // Its acknowledgement of input 1 (sent after its emit of 1) has landed.
    await inputHolds(["2-0"]);
    first.signal("SIGSTOP");
    const pausedAt = Date.now();
    // W1 is paused holding input 2: taken from Redis, neither emitted nor acknowledged. W2 waits for the job.
    expect(second.lines.filter(is("started"))).toEqual([]);
    const takenOver = await second.waitFor("W2 takes the job over", is("started", jobId), 10 * LEASE_MS);
    await job.input.feed(3);
    await job.input.feed(4);
    // W2 resumes from what was acknowledged: input 2, which it now holds.
    await second.waitFor("W2 takes input 2", is("handled", jobId, 2));
    const input = await stream("input");
    const output = await stream("output");
    const outputBefore = await redis.xlen(output);

    // Read before the signal: the resumed child may log before this process runs again (2 cores).
    const continuedAt = Date.now();
    first.signal("SIGCONT");
    // Its hold of input 2 ran out while it was paused: it emits 2 at once (the processor is told nothing yet),
    // then asks for the next input (which acknowledges 2), each through a fenced script.
    const staleEmit = await first.waitFor("W1 emits input 2 after SIGCONT", is("emit", jobId, 2));
    const aborted = await first.waitFor("W1's signal aborts", is("aborted", jobId));
    // Redis now, while W2 still holds input 2 (it acknowledges it only after emitting it).
    const [pending, entries, outputAfter] = await Promise.all([redis.xpending(input, "lw", "-", "+", 10), redis.xrange(input, "-", "+"), redis.xlen(output)]);
    const checkedAt = Date.now();
    const secondEmitted = second.lines.find(is("emit", jobId, 2));
    expect(secondEmitted === undefined || (secondEmitted.at as number) > checkedAt, "W2 still held input 2 when Redis was read (else the check proves nothing)").toBe(true);
    // W1's acknowledgement of input 2 did not land: entry 2-0 is still pending in the group and still in the stream.
    expect((pending as Array<[string, ...unknown[]]>).map(([id]) => id)).toContain("2-0");
    expect(entries.map(([id]) => id)).toContain("2-0");
    // W1's emit of input 2 did not land: the output has what it had before W1 resumed.
    expect(outputAfter).toBe(outputBefore);

    await job.input.terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    const read = await messages();
    // W1's only message is from before its pause; W2 handled the rest, every input once, nothing lost.
    expect(read.filter(({ by }) => by === "W1").map(({ n }) => n)).toEqual([1]);
    expect(read.filter(({ by }) => by === "W2").map(({ n }) => n)).toEqual([2, 3, 4]);
    // In Redis: the output stream got those 4 messages and its end marker, nothing else.
    expect(Number(await redis.hget(keys.job(jobId), `n:${await streamSuffix(redis, keys, jobId, "output")}`))).toBe(5);
    expect((staleEmit.at as number) >= continuedAt).toBe(true);
    await annotate(
      `paused ${continuedAt - pausedAt} ms (lease ${LEASE_MS} ms); W2 took over ${(takenOver.at as number) - pausedAt} ms after SIGSTOP; ` +
        `W1 emitted ${(staleEmit.at as number) - continuedAt} ms after SIGCONT (its signal aborted: ${String(staleEmit.aborted)}); ` +
        `its signal aborted ${(aborted.at as number) - continuedAt} ms after SIGCONT: ${String(aborted.reason)}`,
    );
  });

  it("resumed, a paused worker process takes none of the input fed meanwhile: the process that took its job over reads all of it", async ({ annotate }) => {
    const jobId = "paused-reader";
    const { first, second, job, messages, inputHolds } = await jobOfW1(jobId, { W1: 0, W2: 1_500 });
    await job.input.feed(1);
    await first.waitFor("W1 emits input 1", is("emit", jobId, 1));
    await inputHolds([]);
    // W1 is paused waiting for input, its lease running out.
    first.signal("SIGSTOP");
    await second.waitFor("W2 takes the job over", is("started", jobId), 10 * LEASE_MS);
    await job.input.feed(2);
    // W2 read what was pending (nothing) and then input 2, new: it reads only new input from now on.
    await second.waitFor("W2 takes input 2", is("handled", jobId, 2));
    // Fed while W2 holds input 2: W2 reads it once it emitted 2; W1, resumed, is told of it at once.
    await job.input.feed(3);
    // Read before the signal: the resumed child may log before this process runs again (2 cores).
    const continuedAt = Date.now();
    first.signal("SIGCONT");
    const aborted = await first.waitFor("W1's signal aborts", is("aborted", jobId));
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(first.lines.filter((line) => is("handled", jobId)(line) && (line.at as number) >= continuedAt), "input W1 took after SIGCONT").toEqual([]);
    expect(second.lines.filter(is("handled", jobId)).map((line) => line.n)).toEqual([2, 3]);
    expect((await messages()).map(({ n, by }) => `${n} by ${by}`)).toEqual(["1 by W1", "2 by W2", "3 by W2"]);
    await annotate(`W1's signal aborted ${(aborted.at as number) - continuedAt} ms after SIGCONT: ${String(aborted.reason)}`);
  });
});
