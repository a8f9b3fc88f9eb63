/**
 * The fencing and chaos tests' processes: worker children running
 * test/fixtures/numbers-worker.ts, the client env in the test process, and
 * where their job's keys are in Redis (the test reads them directly).
 */
import { fileURLToPath } from "node:url";
import type { LiveEnv } from "../../src/index.js";
import { RedisKeys } from "../../src/redis/keys.js";
import { CHILD_ENV, NUMBERS_ENV, multiProcessEnv } from "../fixtures/multiProcessSpecs.js";
import { startChild, type Child, type ChildLine } from "./childProcesses.js";
import { redisUrl } from "./redisServer.js";

const fixture = fileURLToPath(new URL("../fixtures/numbers-worker.ts", import.meta.url));

/**
 * Starts a numbers worker process named `name` in the env under `prefix`
 * (it prints `ready` once connected; see the fixture for its lines).
 *
 * @param holdMs how long its processor holds each input before emitting it (ms, default 0).
 */
export function startNumbersWorker(name: string, prefix: string, holdMs = 0): Child {
  return startChild(name, fixture, [], {
    [CHILD_ENV.url]: redisUrl(),
    [CHILD_ENV.prefix]: prefix,
    [CHILD_ENV.name]: name,
    [NUMBERS_ENV.holdMs]: String(holdMs),
  });
}

/** This process's env under `prefix`: the client (no worker defs). */
export function numbersClient(prefix: string): LiveEnv {
  return multiProcessEnv(redisUrl(), prefix);
}

/** The Redis keys of the env under `prefix` (project `multi-process`, as `multiProcessEnv` makes it). */
export function numbersKeys(prefix: string): RedisKeys {
  return new RedisKeys(prefix, "multi-process");
}

/** Matches a line of `event` (of job `jobId`, with input `n`, when given). */
export const is =
  (event: string, jobId?: string, n?: number) =>
  (line: ChildLine): boolean =>
    line.event === event && (jobId === undefined || line.jobId === jobId) && (n === undefined || line.n === n);
