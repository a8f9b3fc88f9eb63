import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  JobFailedError,
  JobSpec,
  LiveworkerError,
  StreamClosedError,
  UnknownTagError,
  ValidationError,
  type LiveEnv,
} from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { flushMicrotasks } from "./helpers/drive.js";

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
    const input = job.runtime.inputs.get("default")!.stream;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(arbitraryValue, async (value) => {
        const before = { status: job.status, fed: input.length };
        const valid = Veg.safeParse(value).success;
        const error = await errorOf(() => job.input.feed(value as never));
        if (valid) {
          expect(error).toBeUndefined();
          accepted++;
          expect(input.length).toBe(before.fed + 1);
        } else {
          expectTyped(error, ValidationError);
          expect((error as ValidationError).issues.length).toBeGreaterThan(0);
          expect(input.length).toBe(before.fed);
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
    const input = job.runtime.inputs.get("default")!.stream;
    const length = input.length;
    await fc.assert(
      fc.asyncProperty(arbitraryValue, async (value) => {
        const error = await errorOf(() => job.input.feed(value as never));
        // Invalid values may be refused for being invalid or for the stream being closed.
        expectTyped(error);
        expect([StreamClosedError, ValidationError].some((type) => error instanceof type)).toBe(true);
        expect(input.length).toBe(length);
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
    expect(job.status).toBe("running");
    await job.input.feed({ veg: "ok" });
    expect(job.runtime.inputs.get("default")!.stream.length).toBe(1);
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
        const output = job.runtime.outputs.get("default")!;
        if (Pieces.safeParse(value).success) {
          expect(outcome).toBeUndefined();
          expect(output.length).toBe(1);
        } else {
          // Failed at once (no restart spent) with the emit's own ValidationError as cause.
          expectTyped(outcome, JobFailedError);
          expect(emitErrors).toHaveLength(1);
          expectTyped(emitErrors[0], ValidationError);
          expect((outcome as JobFailedError).cause).toBe(emitErrors[0]);
          expect((outcome as JobFailedError).restarts).toEqual([]);
          expect(output.length).toBe(0);
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
    await flushMicrotasks();
    expect(job.status).toBe("running");
    expect(env.liveJobCount).toBe(1);
  });
});
