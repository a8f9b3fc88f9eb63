import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The packed tarball, installed in an empty project, works from `import` and
 * `require`, with types. The package is built and packed from a copy of the
 * sources so this suite never rewrites the shared `dist/` of the checkout.
 */

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Generous: packing builds with declarations, and CI machines may be busy.
const TIMEOUT = 300_000;

let work: string;
let consumer: string;
let tarball: string;

async function sh(cwd: string, command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, timeout: TIMEOUT, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failure.message}\n${failure.stdout ?? ""}\n${failure.stderr ?? ""}`);
  }
}

const ESM_SCRIPT = `
import { z } from "zod";
import { JobSpec, LiveEnv, JobFailedError } from "liveworker";
import { workerMachine, jobMachine } from "liveworker/machines";

const env = LiveEnv.create({ projectId: "packed-esm" });
const shout = JobSpec.define({ name: "shout", input: z.string(), output: z.string() });
shout.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const word of input) await output.emit(word.toUpperCase());
  },
});
const { data } = await shout.enqueueAndGetResult({ liveEnv: env, input: "hi" });
const job = await shout.enqueueJob({ liveEnv: env });
await job.input.feed("a");
await job.input.feed("b");
await job.input.terminate();
const streamed = [];
for await (const message of job.output) streamed.push(message.data);
await env.close();
console.log(JSON.stringify({
  result: data,
  streamed,
  status: job.status,
  errorIsClass: typeof JobFailedError === "function",
  machines: [workerMachine.id, jobMachine.id],
}));
`;

const CJS_SCRIPT = `
const { z } = require("zod");
const { JobSpec, LiveEnv } = require("liveworker");
const { workerMachine } = require("liveworker/machines");

async function main() {
  const env = LiveEnv.create({ projectId: "packed-cjs" });
  const add = JobSpec.define({ name: "add", input: z.object({ a: z.number(), b: z.number() }), output: z.number() });
  add.defineWorker({
    liveEnv: env,
    processor: async ({ input, output }) => {
      for await (const { a, b } of input) await output.emit(a + b);
    },
  });
  const { data } = await add.enqueueAndGetResult({ liveEnv: env, input: { a: 2, b: 3 } });
  await env.close();
  console.log(JSON.stringify({ result: data, machine: workerMachine.id }));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

// Type-checked against the installed package's declarations (import and require conditions).
const ESM_TYPES = `
import { z } from "zod";
import { JobSpec, LiveEnv, type LiveJob } from "liveworker";
import { workerMachine } from "liveworker/machines";
import { redisBackend, type RedisBackendOptions } from "liveworker/redis";
export const redisOptions: RedisBackendOptions = { connection: "redis://127.0.0.1:6379", leaseMs: 30_000 };
export const makeBackend = () => LiveEnv.create({ backend: redisBackend(redisOptions) });
const spec = JobSpec.define({ name: "t", input: z.string(), output: z.number() });
export async function check(env: LiveEnv): Promise<number> {
  const job: LiveJob = await spec.enqueueJob({ liveEnv: env });
  void job;
  const { data } = await spec.enqueueAndGetResult({ liveEnv: env, input: "x" });
  return data + workerMachine.config.id!.length;
}
`;

const CJS_TYPES = `
import liveworker = require("liveworker");
import machines = require("liveworker/machines");
export const env: liveworker.LiveEnv = liveworker.LiveEnv.create();
export const id: string | undefined = machines.jobMachine.config.id;
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "liveworker-pack-"));
  const source = join(work, "source");
  await mkdir(source);
  for (const entry of ["package.json", "tsconfig.json", "tsup.config.ts", "README.md", "LICENSE", "src", "machines"]) {
    await cp(join(root, entry), join(source, entry), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
  await symlink(join(root, "node_modules"), join(source, "node_modules"), "dir");
  // `npm pack` runs the `prepack` script, which builds with tsup.
  await sh(source, "npm", ["pack", "--pack-destination", work, "--silent"]);
  const packed = (await readdir(work)).filter((name) => name.endsWith(".tgz"));
  expect(packed).toHaveLength(1);
  tarball = join(work, packed[0]!);

  consumer = join(work, "consumer");
  await mkdir(consumer);
  await writeFile(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  // bullmq and ioredis: the optional peer dependencies of liveworker/redis, at the versions this checkout's lockfile
  // installed (what the suite ran against), not whatever the registry has today: ioredis 6.1.0's declarations import
  // "redis-errors", whose types it does not depend on, and fail a consumer's strict check without skipLibCheck.
  const installed = async (name: string) => (JSON.parse(await readFile(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  const peers = [`bullmq@${await installed("bullmq")}`, `ioredis@${await installed("ioredis")}`];
  await sh(consumer, "npm", ["install", tarball, "zod", ...peers, "--prefer-offline", "--no-audit", "--no-fund", "--silent"]);
}, TIMEOUT);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("package", () => {
  it("packs dist and the README, and no sources or tests", async () => {
    const listing = (await sh(work, "tar", ["-tzf", tarball])).split("\n").filter(Boolean);
    for (const file of ["index.js", "index.cjs", "index.d.ts", "index.d.cts", "machines.js", "machines.cjs", "machines.d.ts", "machines.d.cts", "redis.js", "redis.cjs", "redis.d.ts", "redis.d.cts"]) {
      expect(listing).toContain(`package/dist/${file}`);
    }
    expect(listing).toContain("package/package.json");
    expect(listing).toContain("package/README.md");
    expect(listing.filter((file) => /^package\/(src|test|examples|machines)\//.test(file))).toEqual([]);
  });

  it("runs a job end to end from an ES module (`import`)", { timeout: TIMEOUT }, async () => {
    await writeFile(join(consumer, "run.mjs"), ESM_SCRIPT);
    const out = JSON.parse(await sh(consumer, process.execPath, ["run.mjs"]));
    expect(out).toEqual({
      result: "HI",
      streamed: ["A", "B"],
      status: "completed",
      errorIsClass: true,
      machines: ["worker", "job"],
    });
  });

  it("runs a job end to end from CommonJS (`require`)", { timeout: TIMEOUT }, async () => {
    await writeFile(join(consumer, "run.cjs"), CJS_SCRIPT);
    const out = JSON.parse(await sh(consumer, process.execPath, ["run.cjs"]));
    expect(out).toEqual({ result: 5, machine: "worker" });
  });

  it("ships type declarations for both `import` and `require`", { timeout: TIMEOUT }, async () => {
    await writeFile(join(consumer, "check.mts"), ESM_TYPES);
    await writeFile(join(consumer, "check.cts"), CJS_TYPES);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const args = ["--noEmit", "--strict", "--skipLibCheck", "--module", "node16", "--moduleResolution", "node16", "--target", "es2022", "--types", "node", "--typeRoots", join(root, "node_modules", "@types"), "check.mts", "check.cts"];
    await sh(consumer, process.execPath, [tsc, ...args]);
  });

  it("declares no runtime class: every class in the declarations is one the package exports", { timeout: TIMEOUT }, async () => {
    const dist = join(consumer, "node_modules", "liveworker", "dist");
    const declared = new Set<string>();
    for (const file of (await readdir(dist)).filter((name) => name.endsWith(".d.ts") || name.endsWith(".d.cts"))) {
      for (const match of (await readFile(join(dist, file), "utf8")).matchAll(/^\s*(?:export\s+)?declare\s+(?:abstract\s+)?class\s+(\w+)/gm)) declared.add(match[1]!);
    }
    // What users can reach: classes exported by the four entry points.
    await writeFile(
      join(consumer, "classes.mjs"),
      `const names = new Set();
      for (const entry of ["liveworker", "liveworker/testing", "liveworker/machines", "liveworker/redis"]) {
        for (const [name, value] of Object.entries(await import(entry))) {
          if (typeof value === "function" && /^class\\b/.test(Function.prototype.toString.call(value))) names.add(name);
        }
      }
      console.log(JSON.stringify([...names].sort()));`,
    );
    const exported: string[] = JSON.parse(await sh(consumer, process.execPath, ["classes.mjs"]));
    expect(exported).toContain("LiveEnv");
    expect([...declared].sort()).toEqual(exported);
  });

  it("ships declarations that compile on their own (no skipLibCheck)", { timeout: TIMEOUT }, async () => {
    // stripInternal must never leave a public member naming a type it removed.
    // Handles come from the library only: building one is a type error (a stripped constructor would read as a public no-argument one).
    const noConstructors = `import { LiveJob as Job, LiveWorkerDef as Def } from "liveworker";\n// @ts-expect-error LiveJob has no public constructor\nexport const job = new Job();\n// @ts-expect-error LiveWorkerDef has no public constructor\nexport const def = new Def();\n`;
    await writeFile(join(consumer, "strict.mts"), ESM_TYPES + `import type { createTestEnv } from "liveworker/testing";\nexport type T = typeof createTestEnv;\n` + noConstructors);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const args = ["--noEmit", "--strict", "--module", "node16", "--moduleResolution", "node16", "--target", "es2022", "--types", "node", "--typeRoots", join(root, "node_modules", "@types"), "strict.mts"];
    await sh(consumer, process.execPath, [tsc, ...args]);
  });
});
