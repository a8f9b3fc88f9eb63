/**
 * vitest globalSetup: makes sure the Redis tests (`*.redis.test.ts`, and the
 * whole suite under `LW_BACKEND=redis`) have a Redis, so `npm test` needs no
 * setup on a fresh machine. Without `LW_REDIS_URL` it runs
 * `scripts/ensure-redis.sh` (127.0.0.1:6379 when it answers, else a
 * redis-server it starts on a free port, installing it when missing), sets
 * `LW_REDIS_URL` for the test workers, and at teardown stops only a server
 * it started (by the pid in that server's pidfile). Each run's keys live
 * under `lwtest:<run>:` (`LW_TEST_RUN`, see `uniquePrefix`), deleted at
 * teardown: a shared Redis keeps nothing of the suite.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export default function setup(): () => Promise<void> {
  const run = randomBytes(4).toString("hex");
  process.env.LW_TEST_RUN = run;
  if (process.env.LW_REDIS_URL) return () => deleteRunKeys(process.env.LW_REDIS_URL!, run);
  const dir = mkdtempSync(join(tmpdir(), "lw-redis-setup-"));
  const startedFile = join(dir, "started");
  const url = execFileSync("bash", ["scripts/ensure-redis.sh"], {
    env: { ...process.env, LW_REDIS_STARTED_FILE: startedFile },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  process.env.LW_REDIS_URL = url;
  return async () => {
    await deleteRunKeys(url, run);
    let pidfile = "";
    try {
      pidfile = readFileSync(startedFile, "utf8").trim();
    } catch {
      // This run started no server.
    }
    if (pidfile) {
      try {
        const pid = Number(readFileSync(pidfile, "utf8").trim());
        if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGTERM");
      } catch {
        // Gone already.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Deletes the keys of test run `run` (`lwtest:<run>:*`), bounded to a few seconds. */
async function deleteRunKeys(url: string, run: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `lwtest:${run}:*`, "COUNT", 1_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } catch {
    // No Redis, or it went away: nothing of ours to delete there.
  } finally {
    redis.disconnect();
  }
}
