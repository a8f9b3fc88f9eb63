/**
 * test/helpers/redisServer.ts, which the tests that kill or restart Redis
 * (issue 14) rely on: a private redis-server that answers, survives a restart
 * with its data when append-only, dies on kill, and leaves no process behind.
 */
import { afterEach, describe, expect, it } from "vitest";
import { answersPing, respCommand } from "./helpers/respCommand.js";
import {
  redisServerInstalled,
  redisUrl,
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from "./helpers/redisServer.js";

const hasRedisServer = redisServerInstalled();

/** True while a process with this pid exists (zombies included). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Resolves once `check` holds; rejects after `ms` milliseconds. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: still not true after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!hasRedisServer)("startRedisServer (skipped: redis-server is not installed)", () => {
  const started: RedisServerHandle[] = [];
  const start = async (options?: { appendonly?: boolean }) => {
    const server = await startRedisServer(options);
    started.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.stop()));
  });

  it("starts a private server on a free port of 127.0.0.1 that answers PING over a raw socket", async () => {
    const server = await start();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(6379);
    expect(pidExists(server.pid)).toBe(true);
    expect(await respCommand(server.port, ["PING"])).toBe("PONG");
    const info = await respCommand(server.port, ["INFO", "server"]);
    expect(String(info)).toContain(`process_id:${server.pid}`);
  });

  it("with appendonly, a key written before a restart survives it (same port, new pid)", async () => {
    const server = await start({ appendonly: true });
    const firstPid = server.pid;
    expect(await respCommand(server.port, ["SET", "lw:survivor", "still here"])).toBe("OK");
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(pidExists(firstPid)).toBe(false);
    expect(await answersPing(server.port)).toBe(true);
    expect(await respCommand(server.port, ["GET", "lw:survivor"])).toBe("still here");
  });

  it("with appendonly, a key acknowledged before kill() survives a restart (fsync on every write)", async () => {
    const server = await start({ appendonly: true });
    await respCommand(server.port, ["SET", "lw:crash", "1"]);
    server.kill();
    await server.restart();
    expect(await respCommand(server.port, ["GET", "lw:crash"])).toBe("1");
  });

  it("without appendonly, a restart starts empty", async () => {
    const server = await start();
    await respCommand(server.port, ["SET", "lw:gone", "1"]);
    await server.restart();
    expect(await answersPing(server.port)).toBe(true);
    expect(await respCommand(server.port, ["GET", "lw:gone"])).toBeNull();
  });

  it("kill(): PING fails and the pid is gone", async () => {
    const server = await start();
    const pid = server.pid;
    server.kill();
    await eventually("PING fails after kill()", async () => !(await answersPing(server.port, { timeoutMs: 200 })));
    await eventually("the pid is gone after kill()", () => !pidExists(pid));
    await expect(respCommand(server.port, ["PING"])).rejects.toThrow();
  });

  it("stop() resolves once the process has exited; a second stop() does nothing", async () => {
    const server = await start();
    const pid = server.pid;
    await server.stop();
    expect(pidExists(pid)).toBe(false);
    expect(await answersPing(server.port)).toBe(false);
    await server.stop();
  });
});

describe("shared-Redis helpers", () => {
  it("redisUrl() is LW_REDIS_URL, or redis://127.0.0.1:6379 without it", () => {
    const saved = process.env.LW_REDIS_URL;
    try {
      delete process.env.LW_REDIS_URL;
      expect(redisUrl()).toBe("redis://127.0.0.1:6379");
      process.env.LW_REDIS_URL = "redis://10.0.0.7:7000";
      expect(redisUrl()).toBe("redis://10.0.0.7:7000");
    } finally {
      if (saved === undefined) delete process.env.LW_REDIS_URL;
      else process.env.LW_REDIS_URL = saved;
    }
  });

  it("uniquePrefix() is lwtest:<run>:<label>:<random>, different on every call", () => {
    const first = uniquePrefix("conformance");
    expect(first).toMatch(new RegExp(`^lwtest:${process.env.LW_TEST_RUN ?? "adhoc"}:conformance:[0-9a-f]{8}$`));
    expect(uniquePrefix("conformance")).not.toBe(first);
    expect(() => uniquePrefix("")).toThrow(/label/);
  });
});
