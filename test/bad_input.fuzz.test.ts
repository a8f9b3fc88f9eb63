import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigurationError,
  JobFailedError,
  JobSpec,
  LiveEnv,
  Liveflow,
  LiveworkerError,
  StreamClosedError,
  UnknownTagError,
  ValidationError,
  conn,
  expose,
} from "../src/index.js";
import { createTestEnv as createKitEnv } from "../src/testing/index.js";
import { workerOf, appended, inputOf, outputOf } from "./helpers/internals.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

/** Fixed seed; override with FUZZ_SEED to explore. */
const SEED = Number(process.env.FUZZ_SEED ?? 424_242);

afterEach(closeAll);

const unexpected: unknown[] = [];
const record = (reason: unknown) => unexpected.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);
});
afterAll(() => {
  process.off("unhandledRejection", record);
  process.off("uncaughtException", record);
  expect(unexpected).toEqual([]);
});

const Veg = z.object({ veg: z.string().min(1), grams: z.number().int().positive().optional() });
const Pieces = z.object({ pieces: z.number().int().nonnegative() });
const Options = z.object({ size: z.enum(["fine", "coarse"]), count: z.number().int().min(1).max(10).default(1) });

const arbitraryValue = fc.oneof(fc.jsonValue(), fc.anything(), fc.constantFrom<unknown>(undefined, null, NaN, -0, Infinity, "", [], {}));

/** Ids a path, a shell or a log line would choke on; none is a valid id. */
const hostileIds = [
  "",
  "../x",
  "..",
  "a/../b",
  "a/b",
  "a\\b",
  "nul\0byte",
  "x".repeat(10_000),
  " leading",
  "trailing ",
  "tab\there",
  "line\nbreak",
  "ünïcödé",
  "emoji-🍲",
  "\u202Eevil",
  "-starts-with-dash",
  ".hidden",
];

/** Strings fast-check finds that `assertValidId` must refuse (or accept, if well-formed). */
const idLike = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom(...hostileIds));
const WELL_FORMED_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;
const isWellFormedId = (id: string) => id.length >= 1 && id.length <= 200 && WELL_FORMED_ID.test(id) && !id.includes("..");

/** Asserts `error` is a typed liveworker error (never a TypeError, a zod error or a crash). */
function expectTyped(error: unknown, type: new (...args: never[]) => LiveworkerError = LiveworkerError): void {
  expect(error).toBeInstanceOf(type);
  const json = (error as LiveworkerError).toJSON();
  expect(json.name).toBe((error as Error).name);
  expect(typeof json.message).toBe("string");
}

/** Runs `fn`; returns its error, whether it threw synchronously or rejected. */
async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    return error;
  }
}

let specCount = 0;
function chopSpec(env: LiveEnv, emitted: unknown[] = []) {
  const spec = JobSpec.define({ name: `fuzz-${++specCount}`, input: Veg, output: Pieces, jobOptions: Options });
  spec.defineWorker({
    liveEnv: env,
    processor: async ({ input, output }) => {
      for await (const { veg } of input) {
        emitted.push(veg);
        await output.emit({ pieces: veg.length });
      }
    },
  });
  return spec;
}

describe("bad input to feed", () => {
  it("arbitrary values: a ValidationError (nothing written) or, when valid, accepted; the job is unchanged by rejects", async () => {
    const { env } = createTestEnv();
    const seen: unknown[] = [];
    const spec = chopSpec(env, seen);
    const job = await spec.enqueueJob({ liveEnv: env, jobOptions: { size: "fine" } });
    await expect.poll(() => job.status).toBe("running"); // on a shared backend it starts after round trips
    const input = inputOf(job);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(arbitraryValue, async (value) => {
        const before = { status: job.status, fed: await appended(input) };
        const valid = Veg.safeParse(value).success;
        const error = await errorOf(() => job.input.feed(value as never));
        if (valid) {
          expect(error).toBeUndefined();
          accepted++;
          expect(await appended(input)).toBe(before.fed + 1);
        } else {
          expectTyped(error, ValidationError);
          expect((error as ValidationError).issues.length).toBeGreaterThan(0);
          expect(await appended(input)).toBe(before.fed);
        }
        expect(job.status).toBe(before.status);
      }),
      { seed: SEED, numRuns: 300 },
    );
    // Still alive: a valid message goes through and is processed.
    await job.input.feed({ veg: "leek" });
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
    expect(seen.at(-1)).toBe("leek");
    expect(seen).toHaveLength(accepted + 1);
    expect(seen.every((veg) => typeof veg === "string" && veg.length > 0)).toBe(true);
  });

  it("a terminated input refuses any value with StreamClosedError and keeps its length", async () => {
    const { env } = createTestEnv();
    const job = await chopSpec(env).enqueueJob({ liveEnv: env, jobOptions: { size: "coarse" } });
    await job.input.feed({ veg: "kale" });
    await job.input.terminate();
    const input = inputOf(job);
    const length = await appended(input);
    await fc.assert(
      fc.asyncProperty(arbitraryValue, async (value) => {
        const error = await errorOf(() => job.input.feed(value as never));
        // Invalid values may be refused for being invalid or for the stream being closed.
        expectTyped(error);
        expect([StreamClosedError, ValidationError].some((type) => error instanceof type)).toBe(true);
        expect(await appended(input)).toBe(length);
      }),
      { seed: SEED, numRuns: 100 },
    );
    await job.waitUntilFinish();
    expect(job.status).toBe("completed");
  });

  it("hostile tags: UnknownTagError, for input and output", async () => {
    const { env } = createTestEnv();
    const job = await chopSpec(env).enqueueJob({ liveEnv: env, jobOptions: { size: "fine" } });
    for (const tag of [...hostileIds, "default ", "Default", "__proto__", "constructor", "toString"]) {
      expectTyped(await errorOf(() => job.input(tag as never).feed({ veg: "x" } as never)), UnknownTagError);
      expectTyped(await errorOf(() => job.output(tag as never)), UnknownTagError);
    }
    await expect.poll(() => job.status).toBe("running"); // on a shared backend it starts after round trips
    await job.input.feed({ veg: "ok" });
    expect(await appended(inputOf(job))).toBe(1);
  });
});

describe("bad input to emit", () => {
  it("an invalid emit fails the job with a ValidationError cause and writes nothing; a valid one is delivered", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryValue, async (value) => {
        const { env } = createTestEnv();
        const spec = JobSpec.define({ name: `emit-fuzz-${++specCount}`, output: Pieces });
        const emitErrors: unknown[] = [];
        spec.defineWorker({
          liveEnv: env,
          retry: { maxRestarts: 2, backoff: { initialMs: 0, jitter: 0 } },
          processor: async ({ output }) => {
            await output.emit(value as never).catch((error: unknown) => {
              emitErrors.push(error);
              throw error;
            });
          },
        });
        const job = await spec.enqueueJob({ liveEnv: env });
        const outcome = await job.waitUntilFinish().then(
          () => undefined,
          (error: unknown) => error,
        );
        const output = outputOf(job);
        if (Pieces.safeParse(value).success) {
          expect(outcome).toBeUndefined();
          expect(await appended(output)).toBe(1);
        } else {
          // Failed at once (no restart spent) with the emit's own ValidationError as cause.
          expectTyped(outcome, JobFailedError);
          expect(emitErrors).toHaveLength(1);
          expectTyped(emitErrors[0], ValidationError);
          expectSameError((outcome as JobFailedError).cause, emitErrors[0]);
          expect((outcome as JobFailedError).restarts).toEqual([]);
          expect(await appended(output)).toBe(0);
          expect(job.status).toBe("failed");
        }
        await env.close();
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

describe("bad jobOptions and ids", () => {
  it("arbitrary jobOptions: ValidationError and no job, or a job with the schema's output", async () => {
    const { env } = createTestEnv();
    const spec = chopSpec(env);
    await fc.assert(
      fc.asyncProperty(arbitraryValue, async (jobOptions) => {
        const before = env.liveJobCount;
        const parsed = Options.safeParse(jobOptions);
        const result = await spec.enqueueJob({ liveEnv: env, jobOptions: jobOptions as never }).then(
          (job) => ({ job }),
          (error: unknown) => ({ error }),
        );
        if ("job" in result) {
          expect(parsed.success).toBe(true);
          expect(result.job.status).toBe("running");
          expect(env.liveJobCount).toBe(before + 1);
          await result.job.cancel();
        } else {
          expect(parsed.success).toBe(false);
          expectTyped(result.error, ValidationError);
          expect(env.liveJobCount).toBe(before);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("hostile and arbitrary job ids: ValidationError and no job; well-formed ones work", async () => {
    const { env } = createTestEnv();
    const spec = chopSpec(env);
    await fc.assert(
      fc.asyncProperty(idLike, async (jobId) => {
        const before = env.liveJobCount;
        const result = await spec.enqueueJob({ liveEnv: env, jobId, jobOptions: { size: "fine" } }).then(
          (job) => ({ job }),
          (error: unknown) => ({ error }),
        );
        if (isWellFormedId(jobId)) {
          expect(result).toHaveProperty("job");
          await (result as { job: { cancel(): Promise<void> } }).job.cancel();
        } else {
          expectTyped((result as { error: unknown }).error, ValidationError);
          expect(env.liveJobCount).toBe(before);
        }
      }),
      { seed: SEED, numRuns: 300, examples: hostileIds.map((id) => [id]) },
    );
    // Only `undefined` means "generate an id"; null and other non-strings are refused.
    for (const jobId of [null, 42, {}, ["a"], Symbol("id")]) {
      expectTyped(await errorOf(() => spec.enqueueJob({ liveEnv: env, jobId: jobId as never, jobOptions: { size: "fine" } })), ValidationError);
    }
    expect(env.liveJobCount).toBe(0);
  });

  it("hostile spec names: ValidationError from JobSpec.define", () => {
    fc.assert(
      fc.property(idLike, (name) => {
        const error = (() => {
          try {
            JobSpec.define({ name });
            return undefined;
          } catch (e) {
            return e;
          }
        })();
        if (isWellFormedId(name)) expect(error).toBeUndefined();
        else expectTyped(error, ValidationError);
      }),
      { seed: SEED, numRuns: 300, examples: hostileIds.map((id) => [id]) },
    );
  });

  it("a duplicate job id is refused with a typed error and leaves the first job running", async () => {
    const { env } = createTestEnv();
    const spec = chopSpec(env);
    const job = await spec.enqueueJob({ liveEnv: env, jobId: "same", jobOptions: { size: "fine" } });
    expectTyped(await errorOf(() => spec.enqueueJob({ liveEnv: env, jobId: "same", jobOptions: { size: "fine" } })));
    // The first job runs (on a shared backend it starts after round trips); the refused one is no job.
    await expect.poll(() => job.status).toBe("running");
    expect(env.liveJobCount).toBe(1);
  });
});

/** Names that are `Object.prototype` members, and `__proto__`: as keys they must stay plain data. */
const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "__defineGetter__", "prototype"];

/** Every own property of Object.prototype with its value: what "untouched" compares. */
function prototypeState(): Array<[string, unknown]> {
  return Object.getOwnPropertyNames(Object.prototype)
    .sort()
    .map((name) => {
      const descriptor = Object.getOwnPropertyDescriptor(Object.prototype, name)!;
      return [name, descriptor.value ?? descriptor.get];
    });
}

/** Asserts nothing reached Object.prototype (no new key, no replaced member). */
function expectPrototypeUntouched(before: Array<[string, unknown]>): void {
  const after = prototypeState();
  expect(after.map(([name]) => name)).toEqual(before.map(([name]) => name));
  for (const [i, [name, value]] of before.entries()) expect(after[i]![1], `Object.prototype.${name} was replaced`).toBe(value);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

/** A copy of `base` with `key` as an own, enumerable property (even `__proto__`), as JSON.parse would make it. */
function withOwnKey<T extends object>(base: T, key: string, value: unknown): T {
  return Object.defineProperty({ ...base }, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An object built from entries as own properties (`__proto__` included). */
function objectOf(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

describe("unknown option keys (fuzz)", () => {
  it("a random extra key on any options object is a ConfigurationError, and nothing changes", async () => {
    const { env } = createTestEnv();
    const ran: string[] = [];
    const spec = chopSpec(env, ran);
    const node = JobSpec.define({ name: `fuzz-node-${++specCount}`, input: Veg, output: Pieces });
    node.defineWorker({ liveEnv: env, processor: async () => {} });
    const flowDefinition = () => ({ name: `fuzz-flow-${specCount}`, connections: [], exposures: [expose(node.input.default, "in")] });
    const flow = Liveflow.define(flowDefinition());
    const freshSpec = () => JobSpec.define({ name: `fuzz-fresh-${++specCount}`, input: Veg });
    const processor = async () => {};
    type Target = { where: string; known: readonly string[]; attempt: (extend: <T extends object>(base: T) => T) => unknown; defines?: () => JobSpec<any, any, any> };
    const made: Array<JobSpec<any, any, any>> = [];
    const fresh = () => {
      const spec = freshSpec();
      made.push(spec);
      return spec;
    };
    const targets: Target[] = [
      { where: "LiveEnv.create", known: ["projectId", "clock", "logger", "inspect", "streams", "handleSignals", "shutdownGraceMs"], attempt: (x) => LiveEnv.create(x({ logger: silentLogger })) },
      { where: "LiveEnv.create streams", known: ["highWaterMark", "historyLimit"], attempt: (x) => LiveEnv.create({ logger: silentLogger, streams: x({}) }) },
      { where: "createTestEnv", known: ["projectId", "logger", "inspect", "streams", "handleSignals", "shutdownGraceMs"], attempt: (x) => createKitEnv(x({})) },
      { where: "defineWorker", known: ["liveEnv", "concurrency", "init", "processor", "retry", "timeouts"], attempt: (x) => fresh().defineWorker(x({ liveEnv: env, processor })) },
      { where: "retry", known: ["maxRestarts", "withinMs", "backoff", "resetAfterMs", "retryable"], attempt: (x) => fresh().defineWorker({ liveEnv: env, processor, retry: x({}) }) },
      { where: "retry.backoff", known: ["initialMs", "factor", "maxMs", "jitter"], attempt: (x) => fresh().defineWorker({ liveEnv: env, processor, retry: { backoff: x({}) } }) },
      { where: "timeouts", known: ["initMs", "jobMs", "heartbeatMs", "stopMs"], attempt: (x) => fresh().defineWorker({ liveEnv: env, processor, timeouts: x({}) }) },
      { where: "enqueueJob", known: ["liveEnv", "jobId", "jobOptions"], attempt: (x) => spec.enqueueJob(x({ liveEnv: env, jobOptions: { size: "fine" as const } })) },
      {
        where: "enqueueAndGetResult",
        known: ["liveEnv", "jobId", "jobOptions", "input", "outputTag"],
        attempt: (x) => spec.enqueueAndGetResult(x({ liveEnv: env, jobOptions: { size: "fine" as const }, input: { veg: "x" } })),
      },
      { where: "Liveflow.define", known: ["name", "connections", "exposures", "supervision", "timeouts"], attempt: (x) => Liveflow.define(x(flowDefinition())) },
      { where: "supervision", known: ["strategy", "maxRestarts", "withinMs", "backoff", "resetAfterMs", "retryable"], attempt: (x) => Liveflow.define({ ...flowDefinition(), supervision: x({}) }) },
      { where: "supervision.backoff", known: ["initialMs", "factor", "maxMs", "jitter"], attempt: (x) => Liveflow.define({ ...flowDefinition(), supervision: { backoff: x({}) } }) },
      { where: "Liveflow timeouts", known: ["jobMs"], attempt: (x) => Liveflow.define({ ...flowDefinition(), timeouts: x({}) }) },
      { where: "flow enqueueJob", known: ["liveEnv", "jobId", "jobOptions"], attempt: (x) => flow.enqueueJob(x({ liveEnv: env })) },
      { where: "conn", known: ["from", "to", "transform"], attempt: (x) => conn(x({ from: spec, to: node }) as never) },
      { where: "endpoint", known: ["spec", "label", "tag", "direction"], attempt: (x) => Liveflow.define({ ...flowDefinition(), exposures: [expose(x({ spec: node, label: "n", tag: "default", direction: "input" as const }), "in")] }) },
      { where: "close", known: ["graceMs"], attempt: (x) => env.close(x({})) },
    ];
    const extraKey = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, "graceMS", "retries", "jobID", "", " "), fc.string({ maxLength: 12 }));
    const before = prototypeState();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), extraKey, arbitraryValue, async (target, key, value) => {
        fc.pre(!target.known.includes(key));
        const jobs = env.liveJobCount;
        made.length = 0;
        const error = await errorOf(() => target.attempt((base) => withOwnKey(base, key, value)));
        expectTyped(error, ConfigurationError);
        expect((error as Error).message).toContain("Unknown option");
        expect(env.liveJobCount, `${target.where}: a job was created`).toBe(jobs);
        for (const defined of made) expect(workerOf(env, defined.name), `${target.where}: a def was registered`).toBeUndefined();
        expect(env.isClosed).toBe(false);
        expectPrototypeUntouched(before);
        refused++;
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(refused).toBeGreaterThan(300);
    // The env still works, and the processor never ran for a refused call.
    expect(ran).toEqual([]);
    const job = await spec.enqueueJob({ liveEnv: env, jobOptions: { size: "fine" } });
    await job.input.feed({ veg: "leek" });
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(ran).toEqual(["leek"]);
  });
});

describe("__proto__ / constructor / toString payloads (fuzz)", () => {
  /** Objects whose own keys include prototype member names, `__proto__` among them. */
  const hostileObject = fc
    .array(fc.tuple(fc.constantFrom(...PROTOTYPE_NAMES, "veg", "grams", "size", "count", "polluted"), fc.oneof(arbitraryValue, fc.constant({ polluted: true }))), { maxLength: 6 })
    .map((entries) => objectOf(entries));

  it("as keys of data, job options and per-node job options: plain data, accepted exactly when the schema accepts it; Object.prototype untouched", async () => {
    const { env } = createTestEnv();
    const seenOptions: unknown[] = [];
    const spec = JobSpec.define({ name: `proto-data-${++specCount}`, input: Veg, output: Pieces, jobOptions: Options });
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output, jobOptions }) => {
        seenOptions.push(jobOptions);
        for await (const { veg } of input) await output.emit({ pieces: veg.length });
      },
    });
    // No jobOptions schema: any object (or nothing) is accepted as it is.
    const loose = JobSpec.define({ name: `proto-loose-${++specCount}`, input: Veg });
    loose.defineWorker({ liveEnv: env, processor: async ({ jobOptions }) => void seenOptions.push(jobOptions) });
    const head = JobSpec.define({ name: `proto-head-${++specCount}`, input: Veg, output: Veg });
    head.defineWorker({ liveEnv: env, processor: async () => {} });
    const flow = Liveflow.define({
      name: `proto-flow-${specCount}`,
      connections: [conn({ from: head, to: { spec: loose, label: "constructor" } })],
      exposures: [expose(head.input.default, "in")],
    });
    const job = await spec.enqueueJob({ liveEnv: env, jobOptions: { size: "fine" } });
    const isOptionsObject = (value: unknown) => value === undefined || (typeof value === "object" && value !== null && !Array.isArray(value));
    /** Whether each use must accept the payload: what the schema (or the node keys) say, own keys only. */
    const accepts = (use: string, payload: Record<string, unknown>): boolean => {
      if (use === "feed" || use === "input") return Veg.safeParse(payload).success;
      if (use === "jobOptions") return Options.safeParse(payload).success;
      if (use === "looseJobOptions") return true;
      // Per-node options: only the node keys, each an object or nothing.
      return Object.keys(payload).every((key) => key === "constructor") && isOptionsObject(Object.hasOwn(payload, "constructor") ? payload.constructor : undefined);
    };
    const before = prototypeState();
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(hostileObject, fc.constantFrom("feed", "jobOptions", "looseJobOptions", "flowJobOptions", "input"), async (payload, use) => {
        const jobs = env.liveJobCount;
        let created: { cancel(): Promise<void> } | undefined;
        const error = await errorOf(async () => {
          if (use === "feed") await job.input.feed(payload as never);
          else if (use === "jobOptions") created = await spec.enqueueJob({ liveEnv: env, jobOptions: payload as never });
          else if (use === "looseJobOptions") created = await loose.enqueueJob({ liveEnv: env, jobOptions: payload });
          else if (use === "flowJobOptions") created = await flow.enqueueJob({ liveEnv: env, jobOptions: payload });
          else await spec.enqueueAndGetResult({ liveEnv: env, jobOptions: { size: "coarse" }, input: payload as never });
        });
        const expected = accepts(use, payload);
        outcomes.add(`${use}:${expected}`);
        if (expected) expect(error, `${use} refused ${String(error)}`).toBeUndefined();
        else {
          expectTyped(error, ValidationError);
          expect(env.liveJobCount).toBe(jobs);
        }
        await created?.cancel();
        expectPrototypeUntouched(before);
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(outcomes.size).toBeGreaterThanOrEqual(8);
    // What processors got as options is plain data: never an inherited member (a function), never a payload's prototype.
    expect(seenOptions.length).toBeGreaterThan(0);
    for (const options of seenOptions) {
      expect(typeof options).not.toBe("function");
      if (options !== undefined) expect(Object.getPrototypeOf(options)).toBe(Object.prototype);
    }
    expect(job.status).toBe("running");
  });

  it("as spec names, tags, labels, aliases, job ids and project ids: valid ids run a whole flow; __proto__ and other invalid ones are a ValidationError", async () => {
    const before = prototypeState();
    const shapes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROTOTYPE_NAMES), fc.constantFrom("spec", "tag", "label", "alias", "jobId", "projectId"), async (name, use) => {
        const valid = isWellFormedId(name);
        shapes.add(`${use}:${valid}`);
        const { env } = createTestEnv();
        const specName = use === "spec" ? name : `proto-${use}-${++specCount}`;
        const tag = use === "tag" ? name : "default";
        const error = await errorOf(async () => {
          const env2 = use === "projectId" ? createTestEnv({ projectId: name }).env : env;
          const source: JobSpec<any, any, any> = JobSpec.define({ name: specName, input: objectOf([[tag, z.number()]]) as Record<string, z.ZodNumber>, output: z.number() });
          const sink = JobSpec.define({ name: `${specName}-sink`, input: z.number(), output: z.string() });
          source.defineWorker({
            liveEnv: env2,
            processor: async ({ input, output }) => {
              for await (const n of input(tag) as AsyncIterable<number>) await output("default").emit(n + 1);
            },
          });
          sink.defineWorker({
            liveEnv: env2,
            processor: async ({ input, output }) => {
              for await (const n of input) await output.emit(`#${n}`);
            },
          });
          const label = use === "label" ? name : `${specName}-sink`;
          const alias = use === "alias" ? name : "out";
          const flow = Liveflow.define({
            name: `${specName}-flow`,
            connections: [conn({ from: source, to: { spec: sink, label } })],
            exposures: [
              expose({ spec: source, label: specName, tag, direction: "input" }, "in"),
              expose({ spec: sink, label, tag: "default", direction: "output" }, alias),
            ],
          });
          const job = await flow.enqueueJob({ liveEnv: env2, ...(use === "jobId" ? { jobId: name } : {}), jobOptions: objectOf([[label, undefined]]) });
          await job.input("in").feed(41);
          await job.input("in").terminate();
          const outputs: unknown[] = [];
          for await (const { data } of job.output(alias)) outputs.push(data);
          expect(outputs).toEqual(["#42"]);
          await job.waitUntilFinish();
          expect(job.status).toBe("completed");
          if (use === "jobId") expect(job.jobId).toBe(name);
        });
        if (valid) expect(error).toBeUndefined();
        else {
          expectTyped(error, ValidationError);
          expect(env.liveJobCount).toBe(0);
        }
        expectPrototypeUntouched(before);
      }),
      { seed: SEED, numRuns: 100 },
    );
    // Both outcomes were exercised for every use.
    for (const use of ["spec", "tag", "label", "alias", "jobId", "projectId"]) {
      expect(shapes).toContain(`${use}:true`);
      expect(shapes).toContain(`${use}:false`);
    }
  });
});
