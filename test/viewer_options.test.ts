import { runtimeOf } from "./helpers/internals.js";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, ValidationError, type InspectorServerOptions, type LiveEnv } from "../src/index.js";
import { INSPECTOR_SERVER_DEFAULTS } from "../src/inspect/inspectorServerOptions.js";
import type { InspectorServer } from "../src/inspect/server.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

const viewers: InspectorServer[] = [];
const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(viewers.splice(0).map((viewer) => viewer.close()));
  await closeAll();
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Listening servers of this process (TCP and Unix sockets), by Node's own count. */
const listeningServers = () => process.getActiveResourcesInfo().filter((name) => name === "TCPServerWrap" || name === "PipeServerWrap").length;

/**
 * White-box: whether a job started now would get an inspect observer (a viewer left attached would give it one).
 * The probe job runs until cancelled, and is read once it runs in `env` (on Redis it starts after round trips).
 */
async function newJobIsInspected(env: LiveEnv): Promise<boolean> {
  const spec = JobSpec.define({ name: `probe-${Math.random().toString(36).slice(2)}`, input: z.number() });
  spec.defineWorker({ liveEnv: env, processor: async ({ input }) => { for await (const _ of input); } });
  const job = await spec.enqueueJob({ liveEnv: env });
  await expect.poll(() => runtimeOf(env, job)).toBeDefined();
  const inspected = (runtimeOf(env, job)!.actor as unknown as { options: { inspect?: unknown } }).options.inspect !== undefined;
  await job.cancel();
  return inspected;
}

/** Calls serveInspector with options TypeScript would refuse, as a JavaScript caller could. */
const serveUnchecked = (env: LiveEnv, options: Record<string, unknown>) => env.serveInspector(options as InspectorServerOptions);

describe("serveInspector options", () => {
  it("an unknown key is a ConfigurationError naming it and the known keys; nothing is opened", async () => {
    const { env } = createTestEnv();
    const before = listeningServers();
    for (const options of [{ prot: 4477 }, { port: 0, flushMS: 10 }, JSON.parse('{"__proto__": {"port": 1}}') as Record<string, unknown>]) {
      const error = await serveUnchecked(env, options).then(
        (viewer) => {
          viewers.push(viewer);
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigurationError);
      expect(String((error as Error).message)).toMatch(/Unknown option "(prot|flushMS|__proto__)".*known: port, host, token, maxEvents, flushMs, maxClientBacklogBytes/);
    }
    expect(listeningServers()).toBe(before);
    expect(await newJobIsInspected(env)).toBe(false);
  });

  it.each([
    ["port", "abc", /port must be a whole number 0 … 65535.*got "abc"/],
    ["port", -1, /port .* got -1/],
    ["port", 65_536, /port .* got 65536/],
    ["port", 80.5, /port .* got 80.5/],
    ["port", Number.NaN, /port .* got NaN/],
    ["host", "", /host must be a non-empty string.*got ""/],
    ["host", 127, /host .* got 127/],
    ["token", "", /token must be a non-empty string.*got ""/],
    ["token", 42, /token .* got 42/],
    ["maxEvents", 0, /maxEvents must be a whole number >= 1; got 0/],
    ["maxEvents", 2.5, /maxEvents .* got 2.5/],
    ["maxEvents", Number.POSITIVE_INFINITY, /maxEvents .* got Infinity/],
    ["flushMs", -1, /flushMs must be whole ms 0 … 2147483647; got -1/],
    ["flushMs", 2 ** 31, /flushMs .* got 2147483648/],
    ["flushMs", 0.5, /flushMs .* got 0.5/],
    ["flushMs", "100", /flushMs .* got "100"/],
    ["maxClientBacklogBytes", 0, /maxClientBacklogBytes must be a whole number of bytes >= 1; got 0/],
    ["maxClientBacklogBytes", "1mb", /maxClientBacklogBytes .* got "1mb"/],
  ])("%s: %s is a ValidationError naming the option and the value; nothing is opened or attached", async (option, value, message) => {
    const { env } = createTestEnv();
    const before = listeningServers();
    const attempt = serveUnchecked(env, { [option]: value });
    attempt.then((viewer) => viewers.push(viewer), () => {});
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(message);
    expect(listeningServers()).toBe(before);
    expect(await newJobIsInspected(env)).toBe(false);
  });

  it('port: a string is never taken for a Unix socket path (no socket file is created)', async () => {
    const { env } = createTestEnv();
    const dir = mkdtempSync(join(tmpdir(), "viewer-options-"));
    scratch.push(dir);
    const path = join(dir, "viewer.sock");
    const attempt = serveUnchecked(env, { port: path });
    attempt.then((viewer) => viewers.push(viewer), () => {});
    await expect(attempt).rejects.toThrow(ValidationError);
    expect(existsSync(path)).toBe(false);
  });

  it("a port in use is a ConfigurationError that names it and says to pass another (or 0)", async () => {
    const { env } = createTestEnv();
    const first = await env.serveInspector();
    viewers.push(first);
    const port = Number(new URL(first.url).port);
    const error = await env.serveInspector({ port }).then(
      (viewer) => {
        viewers.push(viewer);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`:${port}`);
    expect((error as Error).message).toMatch(/in use.*0 for a free one/);
  });

  it("an explicit undefined means the default for every option", async () => {
    const { env } = createTestEnv();
    const viewer = await env.serveInspector({
      port: undefined,
      host: undefined,
      token: undefined,
      maxEvents: undefined,
      flushMs: undefined,
      maxClientBacklogBytes: undefined,
    });
    viewers.push(viewer);
    const url = new URL(viewer.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(url.search).toBe("");
    expect((await fetch(viewer.url)).status).toBe(200);
  });

  it("the README's options table shows the defaults the code uses", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### The offline viewer"), readme.indexOf("### The machines"));
    const defaultOf = (option: string) => section.split("\n").find((line) => line.startsWith(`| \`${option}\` |`))?.split("|")[2]?.trim();
    expect(defaultOf("port")).toBe(`\`${INSPECTOR_SERVER_DEFAULTS.port}\` (any free port)`);
    expect(defaultOf("host")).toBe(`\`"${INSPECTOR_SERVER_DEFAULTS.host}"\``);
    expect(defaultOf("token")).toBe("none");
    expect(defaultOf("maxEvents")).toBe(`\`${INSPECTOR_SERVER_DEFAULTS.maxEvents}\``);
    expect(defaultOf("flushMs")).toBe(`\`${INSPECTOR_SERVER_DEFAULTS.flushMs}\``);
    expect(defaultOf("maxClientBacklogBytes")).toBe(`\`${INSPECTOR_SERVER_DEFAULTS.maxClientBacklogBytes}\` (8 MiB)`);
  });
});
