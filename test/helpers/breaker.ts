/**
 * Helpers of the hostile review of the Redis backend
 * (`test/redis_breaker*.redis.test.ts`): "processes" of one env (each an env
 * with a `redisBackend` of its own on a shared prefix), a hang made visible,
 * and ways to look at Redis from outside (channels, MONITOR, the viewer).
 */
import { connect } from "node:net";
import { Redis } from "ioredis";
import { WebSocket } from "ws";
import { JobSpec, LiveEnv, type Logger } from "../../src/index.js";
import { redisBackend } from "../../src/redis/index.js";
import { z } from "zod";
import { redisUrl } from "./redisServer.js";

export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface ProcessOptions {
  projectId?: string;
  /** The backend's prefix; the test's own unless a test needs another. */
  prefix?: string;
  streams?: { historyLimit?: number; highWaterMark?: number };
  leaseMs?: number;
  retentionMs?: number;
}

/** Envs opened by `processOf`, closed by `closeProcesses` (afterEach). */
const opened: LiveEnv[] = [];

/** One "process" of an env: its own backend (own connections) on `prefix`. */
export function processOf(prefix: string, options: ProcessOptions = {}): LiveEnv {
  const env = LiveEnv.create({
    projectId: options.projectId ?? "kitchen",
    logger: silent,
    ...(options.streams ? { streams: options.streams } : {}),
    backend: redisBackend({
      connection: redisUrl(),
      prefix: options.prefix ?? prefix,
      retentionMs: options.retentionMs ?? 60_000,
      leaseMs: options.leaseMs ?? 5_000,
      connectTimeoutMs: 1_000,
    }),
  });
  opened.push(env);
  return env;
}

export async function closeProcesses(): Promise<void> {
  await Promise.all(opened.splice(0).map((env) => env.close({ graceMs: 0 })));
}

let specs = 0;
/** A fresh spec of string input and output. */
export const stringSpec = () => JobSpec.define({ name: `breaker-${++specs}`, input: z.string(), output: z.string() });
/** A fresh name for a spec or flow. */
export const freshName = (label: string) => `${label}-${++specs}`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms` (a hang made visible). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How a promise settled: "resolved", or the name of its rejection. */
export function settlement(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (error as Error).name,
  );
}

/** Runs `body` with a plain Redis client of the test Redis. */
export async function withRedis<T>(body: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(redisUrl());
  try {
    return await body(redis);
  } finally {
    redis.disconnect();
  }
}

/** Channels of `prefix` anyone subscribes to. */
export function channelsOf(prefix: string): Promise<string[]> {
  return withRedis(async (redis) => (await redis.pubsub("CHANNELS", `${prefix}/*`)) as string[]);
}

/**
 * Every command Redis runs that names `prefix`, in the order it runs them
 * (MONITOR on a raw socket): a script's own commands are logged one by one
 * (`[0 lua] "XADD" …`).
 */
export async function monitorOf(prefix: string): Promise<{ lines: string[]; stop: () => void }> {
  const url = new URL(redisUrl());
  const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
  const lines: string[] = [];
  let rest = "";
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.write("MONITOR\r\n");
    socket.on("data", (chunk) => {
      rest += chunk.toString("latin1");
      let at: number;
      while ((at = rest.indexOf("\r\n")) >= 0) {
        const line = rest.slice(0, at);
        rest = rest.slice(at + 2);
        if (line === "+OK") resolve();
        else if (line.includes(prefix)) lines.push(line);
      }
    });
  });
  return { lines, stop: () => socket.destroy() };
}

/** What a viewer sends a page that connects now (its first message). */
export function viewerInit(pageUrl: string): Promise<{ actors: Array<{ id: string; state: string }> }> {
  const url = new URL(pageUrl);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${url.host}/ws${url.search}`);
    socket.once("message", (data) => {
      socket.close();
      resolve(JSON.parse(String(data)) as { actors: Array<{ id: string; state: string }> });
    });
    socket.once("error", reject);
  });
}
