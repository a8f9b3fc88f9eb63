/**
 * Job scripts sent twice (issue 14, Redis restarts): ioredis sends a command
 * again when the connection dropped before its reply came, though Redis may
 * have run it. Storing a job (`lwAdd`) and taking it (`lwStart`) carry a
 * nonce, so the second call gets the first one's answer: no false "job id
 * already in use", no fencing token raised twice (which would make the
 * take look like a take-over of an expired lease).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "../src/redis/connection.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const client = createClient(redisUrl(), "lw-test-scripts");
afterAll(() => client.quit());

function keysOf(jobId: string): { job: string; journal: string; channel: string; streams: string } {
  const base = `${uniquePrefix("resent")}/p:`;
  return { job: `${base}job:{${jobId}}`, journal: `${base}ev:{${jobId}}`, channel: `${base}n:{${jobId}}`, streams: `${base}s:{${jobId}}:` };
}

describe("a job script sent again after its reply was lost", () => {
  it("lwAdd with the same nonce stores the job once and answers 1 both times; another add of the id is refused", async () => {
    const keys = keysOf("j1");
    expect(await client.lwAdd(keys.job, keys.journal, "q", "record", keys.streams, "nonce-1")).toBe(1);
    expect(await client.lwAdd(keys.job, keys.journal, "q", "record", keys.streams, "nonce-1")).toBe(1);
    expect(await client.lwAdd(keys.job, keys.journal, "q", "record", keys.streams, "nonce-2")).toBe(0);
    await client.del(keys.job, keys.journal);
  });

  it("lwStart with the same nonce answers the same token and status as the first call; a new take raises the token", async () => {
    const keys = keysOf("j2");
    await client.lwAdd(keys.job, keys.journal, "q", "record", keys.streams, "n");
    const first = (await client.lwStart(keys.job, keys.channel, "take-1")) as string[];
    const again = (await client.lwStart(keys.job, keys.channel, "take-1")) as string[];
    expect(first.slice(0, 2)).toEqual(["queued", "1"]);
    expect(again).toEqual(first);
    expect(await client.hget(keys.job, "tok")).toBe("1");
    // Another take (the holder died): the lease expired (held, never given back).
    const next = (await client.lwStart(keys.job, keys.channel, "take-2")) as string[];
    expect([next[0], next[1], next[6]]).toEqual(["running", "2", "1"]);
    await client.del(keys.job, keys.journal);
  });
});
