/**
 * A Redis queue consumer closed while BullMQ hands it a job (the env's
 * `close()` stopping its consumers as a job is being taken) must not run that
 * job: the env has already released what it runs, and a job started then
 * would run on after `close()` (its actors and timers left behind, BullMQ's
 * close waiting for it). The job goes back to its queue for another process.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Backend, QueueConsumer } from "../src/backend/Backend.js";
import { redisBackend } from "../src/redis/index.js";
import { jobRecord, recordingConsumer, until } from "./helpers/backendProbes.js";
import { redisUrl, uniquePrefix } from "./helpers/redisServer.js";

const silent = { warn() {}, error() {} };
const opened: Backend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((backend) => backend.close()));
});

/** One "process": a backend of its own on the shared prefix, bound to project `kitchen`. */
function processOf(prefix: string): Backend {
  const backend = redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000, leaseMs: 5_000 });
  backend.bind?.({ projectId: "kitchen", logger: silent });
  opened.push(backend);
  return backend;
}

describe("a Redis queue consumer closed while a job is handed to it", () => {
  it("does not run the job; the next consumer does", async () => {
    const prefix = uniquePrefix("consumer-close");
    const closing = processOf(prefix);
    // The close comes while the take (the job's first script) is on its way to Redis.
    const ctx = closing as unknown as { client: object };
    const client = ctx.client as Record<string | symbol, unknown>;
    ctx.client = new Proxy(client, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (property !== "lwStartBuffer") return value.bind(target);
        return (...args: unknown[]) => {
          consumer.close();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const ranInClosing: string[] = [];
    const consumer: QueueConsumer = closing.jobs.consume("q", 1, (record) => void ranInClosing.push(record.jobId));
    await closing.jobs.add("q", jobRecord("handed-while-closing"), () => {});

    const next = recordingConsumer(processOf(prefix), "q", 1);
    await until(() => next.runs.length === 1 || ranInClosing.length > 0, "a consumer to take the job", 10_000);
    expect(ranInClosing).toEqual([]);
    next.finish("handed-while-closing");
    expect(next.ids()).toEqual(["handed-while-closing"]);
  });
});
