/**
 * Redis for tests. Most tests share one Redis (`redisUrl()`, isolated by
 * `uniquePrefix`); tests that kill or restart Redis (issue 14) start their own
 * with `startRedisServer`. Node built-ins only: no Redis client needed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { answersPing, respCommand } from "./respCommand.js";

/** How long (ms) a server may take to answer PING after it is spawned. */
const START_TIMEOUT_MS = 10_000;
/** How long (ms) `stop` waits after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** A private `redis-server` started by `startRedisServer`. */
export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its TCP port on 127.0.0.1; the same across restarts. */
  readonly port: number;
  /** The pid of its current process (a restart changes it). */
  readonly pid: number;
  /** Its working directory (a fresh temporary one; the AOF lives here); the same across restarts. */
  readonly dir: string;
  /**
   * Ends the server: SIGTERM (Redis shuts down cleanly, flushing the AOF),
   * then SIGKILL after 5 s; resolves once the process has exited. Does nothing
   * when it already has. Keeps `dir`, so `restart` can bring it back with its data.
   */
  stop(): Promise<void>;
  /** SIGKILL, at once (a crash: no shutdown work). The process exits shortly after; `stop` waits for that. */
  kill(): void;
  /**
   * `stop` (if still running), then starts redis-server again on the same
   * port and dir with the same options; resolves once it answers PING. Works
   * after `stop` and after `kill`.
   *
   * @throws Error as `startRedisServer` does (e.g. the port was taken meanwhile).
   */
  restart(): Promise<void>;
}

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /**
   * `true`: append-only file on, fsynced on every write (`--appendfsync
   * always`), so a write acknowledged before `kill()` survives a restart.
   * Default `false`: no persistence at all (a restart starts empty).
   */
  readonly appendonly?: boolean;
}

/** One process of a server, from spawn to exit. */
interface Running {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<void>;
  hasExited: boolean;
}

/** Every process started here that has not exited yet; SIGKILLed if the test process ends first. */
const live = new Set<Running>();
/** Every directory made here; removed when the test process ends. */
const dirs = new Set<string>();
let exitHookInstalled = false;

/**
 * Starts a private `redis-server` on a free port of 127.0.0.1, in a fresh
 * temporary directory, with no RDB snapshots (`--save ''`) and the AOF as
 * `options.appendonly` says, and resolves once it answers PING. Stop it with
 * `stop()` (e.g. in `afterEach`); if a test forgets, it is SIGKILLed and its
 * directory removed when the test process ends (exit, or SIGTERM from
 * vitest). Nothing here ever signals a process it did not start.
 *
 * @throws Error when `redis-server` is not installed (see `redisServerInstalled`),
 *   or when it does not answer within 10 s (the message ends with its log).
 * @example
 * const redis = await startRedisServer({ appendonly: true });
 * try { ... redis.url ... await redis.restart(); ... } finally { await redis.stop(); }
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const appendonly = options.appendonly ?? false;
  const dir = mkdtempSync(join(tmpdir(), "lw-redis-"));
  dirs.add(dir);
  installExitHook();
  let port = 0;
  let current: Running | undefined;
  // The free port can be taken between choosing it and redis-server binding it: choose again.
  for (let attempt = 1; current === undefined; attempt++) {
    port = await freePort();
    try {
      current = await spawnServer(port, dir, appendonly);
    } catch (error) {
      if (attempt < 3 && String(error).includes("Address already in use")) continue;
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
      throw error;
    }
  }
  let running: Running = current;
  const stop = () => end(running);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return running.pid;
    },
    dir,
    stop,
    kill: () => signal(running, "SIGKILL"),
    restart: async () => {
      await stop();
      running = await spawnServer(port, dir, appendonly);
    },
  };
}

/** True when a `redis-server` executable is on PATH (what `startRedisServer` needs). */
export function redisServerInstalled(): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((folder) => {
    if (folder === "") return false;
    try {
      accessSync(join(folder, "redis-server"), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The shared Redis tests use: `LW_REDIS_URL` (see scripts/ensure-redis.sh), default `redis://127.0.0.1:6379`. */
export function redisUrl(): string {
  return process.env.LW_REDIS_URL ?? "redis://127.0.0.1:6379";
}

/**
 * A key prefix no other test file (or run) uses: `lwtest:<run>:<label>:<8 hex chars>`,
 * so tests sharing one Redis never see each other's keys.
 *
 * @param label names the test file or case, e.g. `"conformance"`.
 * @throws Error when `label` is empty.
 */
export function uniquePrefix(label: string): string {
  if (label === "") throw new Error("uniquePrefix: label must not be empty");
  // Under the run's own prefix (test/setup/redisForTests.ts deletes its keys at the end).
  const run = process.env.LW_TEST_RUN ?? "adhoc";
  return `lwtest:${run}:${label}:${randomBytes(4).toString("hex")}`;
}

/** Spawns redis-server (in the foreground: it is our child) and resolves once it, and not another server, answers. */
async function spawnServer(port: number, dir: string, appendonly: boolean): Promise<Running> {
  const logfile = join(dir, "redis.log");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no"];
  args.push("--logfile", logfile, "--appendonly", appendonly ? "yes" : "no");
  if (appendonly) args.push("--appendfsync", "always");
  const child = spawn("redis-server", args, { stdio: "ignore" });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new Error("redis-server is not installed (not on PATH): apt-get install -y redis-server")
          : error,
      ),
    );
  });
  const pid = child.pid as number;
  const running: Running = {
    child,
    pid,
    hasExited: false,
    exited: new Promise<void>((resolve) =>
      child.once("exit", () => {
        running.hasExited = true;
        live.delete(running);
        resolve();
      }),
    ),
  };
  live.add(running);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!running.hasExited && Date.now() < deadline) {
    if ((await answersPing(port, { timeoutMs: 200 })) && (await serverPid(port)) === pid) return running;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const why = running.hasExited ? "exited" : `did not answer PING within ${START_TIMEOUT_MS} ms`;
  await end(running);
  throw new Error(`redis-server on 127.0.0.1:${port} ${why}; its log (${logfile}) ends with:\n${logTail(logfile)}`);
}

/** SIGTERM, SIGKILL after the grace period; resolves once the process has exited. */
async function end(running: Running): Promise<void> {
  if (running.hasExited) return;
  signal(running, "SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_GRACE_MS)));
  const timedOut = await Promise.race([running.exited.then(() => false), graceOver]);
  clearTimeout(timer);
  if (timedOut) signal(running, "SIGKILL");
  await running.exited;
}

/** Sends a signal to our process, by its pid, unless it has exited (so the pid cannot be another process's yet). */
function signal(running: Running, name: NodeJS.Signals): void {
  if (running.hasExited) return;
  try {
    process.kill(running.pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** The pid the server on the port reports (`INFO server`), or undefined. */
async function serverPid(port: number): Promise<number | undefined> {
  try {
    const info = await respCommand(port, ["INFO", "server"], { timeoutMs: 500 });
    const match = /process_id:(\d+)/.exec(String(info));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A TCP port of 127.0.0.1 that nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function logTail(logfile: string): string {
  try {
    return readFileSync(logfile, "utf8").trimEnd().split("\n").slice(-5).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Cleans up when the test process ends with servers still running: on
 * `exit`, and on SIGTERM (how vitest ends its worker processes, which skips
 * `exit`); after cleaning up, a SIGTERM nobody else listens to is raised again
 * so the process still terminates as it would have.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", cleanUp);
  const onSigterm = () => {
    cleanUp();
    process.off("SIGTERM", onSigterm);
    if (process.listenerCount("SIGTERM") === 0) process.kill(process.pid, "SIGTERM");
  };
  process.on("SIGTERM", onSigterm);
}

/** SIGKILLs every server process still running, removes every directory. Synchronous (runs on exit). */
function cleanUp(): void {
  for (const running of live) {
    try {
      signal(running, "SIGKILL");
    } catch {
      // nothing more can be done while exiting
    }
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
