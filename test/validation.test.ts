import { afterEach, describe, expect, it } from "vitest";
import * as v from "valibot";
import { z } from "zod";
import {
  ConfigurationError,
  JobFailedError,
  JobSpec,
  LiveEnv,
  StreamClosedError,
  UnknownTagError,
  ValidationError,
  type Schema,
} from "../src/index.js";
import { collect } from "./helpers/collect.js";
import { closeAll, createTestEnv } from "./helpers/env.js";
import { expectSameError } from "./helpers/sameError.js";

afterEach(closeAll);

type Item = { n: number };
type Size = "fine" | "coarse";

interface Schemas {
  item: Schema<Item, Item>;
  options: Schema<{ size?: Size }, { size: Size }>;
}

const libraries: Array<[string, Schemas]> = [
  ["zod", { item: z.object({ n: z.number() }), options: z.object({ size: z.enum(["fine", "coarse"]).default("fine") }) }],
  [
    "valibot",
    {
      item: v.object({ n: v.number() }),
      options: v.object({ size: v.optional(v.picklist(["fine", "coarse"]), "fine") }),
    },
  ],
];

let specCounter = 0;

describe.each(libraries)("validation with %s", (library, schemas) => {
  const define = () =>
    JobSpec.define({
      name: `check-${library}-${++specCounter}`,
      input: schemas.item,
      output: schemas.item,
      jobOptions: schemas.options,
    });

  it("feed rejects invalid data with ValidationError and nothing invalid reaches the processor", async () => {
    const { env } = createTestEnv();
    const spec = define();
    const seen: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const item of input) {
          seen.push(item);
          await output.emit(item);
        }
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env, jobOptions: { size: "coarse" } });
    const read = collect(job.output);
    await job.input.feed({ n: 1 });
    const error = await job.input.feed({ n: "two" } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.length).toBeGreaterThan(0);
    expect((error as ValidationError).message).toMatch(/input "default"/);
    await expect(job.input.feed(undefined as never)).rejects.toBeInstanceOf(ValidationError);
    await job.input.feed({ n: 3 });
    await job.input.terminate();
    expect(await read).toEqual([{ n: 1 }, { n: 3 }]);
    expect(seen).toEqual([{ n: 1 }, { n: 3 }]);
    await job.waitUntilFinish();
  });

  it("an invalid emit fails the job at once with a JobFailedError caused by the ValidationError", async () => {
    const { env } = createTestEnv();
    const spec = define();
    let attempts = 0;
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 5 },
      processor: async ({ output }) => {
        attempts++;
        await output.emit({ n: 1 });
        await output.emit({ n: "bad" } as never);
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env, jobOptions: {} });
    const read = collect(job.output).catch((e: unknown) => e);
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).cause).toBeInstanceOf(ValidationError);
    expect((error as JobFailedError).restarts).toEqual([]);
    expect(attempts).toBe(1);
    expect(job.status).toBe("failed");
    expectSameError(await read, error);
  });

  it("enqueueJob rejects invalid jobOptions and applies schema defaults to valid ones", async () => {
    const { env } = createTestEnv();
    const spec = define();
    const seenOptions: unknown[] = [];
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ jobOptions }) => {
        seenOptions.push(jobOptions);
      },
    });
    const error = await spec.enqueueJob({ liveEnv: env, jobOptions: { size: "huge" as never } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain(`jobOptions of spec "${spec.name}"`);
    expect(env.liveJobCount).toBe(0);
    const job = await spec.enqueueJob({ liveEnv: env, jobOptions: {} });
    await job.input.terminate();
    await job.waitUntilFinish();
    expect(seenOptions).toEqual([{ size: "fine" }]);
  });
});

describe("tags and closed streams", () => {
  const spec = () =>
    JobSpec.define({
      name: `tags-${++specCounter}`,
      input: { sauce: z.string(), dough: z.string() },
      output: { pizza: z.string() },
    });

  it("an unknown tag throws UnknownTagError naming the tag and the known tags", async () => {
    const { env } = createTestEnv();
    const pizza = spec();
    let processorError: unknown;
    pizza.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        try {
          (input as unknown as (tag: string) => unknown)("cheese");
        } catch (error) {
          processorError = error;
        }
        for await (const s of input("sauce")) await output("pizza").emit(s);
      },
    });
    const job = await pizza.enqueueJob({ liveEnv: env });
    const unknownInput = (() => {
      try {
        job.input("sause" as never);
      } catch (error) {
        return error;
      }
    })();
    expect(unknownInput).toBeInstanceOf(UnknownTagError);
    expect((unknownInput as Error).message).toBe(`Unknown input tag "sause" on spec "${pizza.name}"; known: sauce, dough`);
    expect(() => job.output("calzone" as never)).toThrow(/Unknown output tag "calzone".*known: pizza/);
    // The default tag does not exist on this spec either.
    await expect((job.input as unknown as { feed(x: string): Promise<void> }).feed("x")).rejects.toBeInstanceOf(UnknownTagError);
    await job.input("sauce").terminate();
    await job.input("dough").terminate();
    await job.waitUntilFinish();
    expect(processorError).toBeInstanceOf(UnknownTagError);
    expect((processorError as Error).message).toMatch(/"cheese".*known: sauce, dough/);
  });

  it("feed after terminate, or after the job finished, throws StreamClosedError", async () => {
    const { env } = createTestEnv();
    const pizza = spec();
    const seen: string[] = [];
    pizza.defineWorker({
      liveEnv: env,
      processor: async ({ input }) => {
        for await (const { tag, data } of input.merge("sauce", "dough")) seen.push(`${tag}:${data}`);
      },
    });
    const job = await pizza.enqueueJob({ liveEnv: env });
    await job.input("sauce").feed("tomato");
    await job.input("sauce").terminate();
    await expect(job.input("sauce").feed("pesto")).rejects.toBeInstanceOf(StreamClosedError);
    await job.input("dough").terminate();
    await job.waitUntilFinish();
    await expect(job.input("dough").feed("rye")).rejects.toBeInstanceOf(StreamClosedError);
    expect(seen).toEqual(["sauce:tomato"]);
  });
});

describe("names, ids and options", () => {
  const badIds = ["../x", "a/b", "nul\0byte", "", "x".repeat(10_000), " lead", "tab\there"];

  it.each(badIds.map((id) => [JSON.stringify(id.slice(0, 12)), id]))("rejects the spec name %s with ValidationError", (_, name) => {
    expect(() => JobSpec.define({ name })).toThrow(ValidationError);
  });

  it.each(badIds.map((id) => [JSON.stringify(id.slice(0, 12)), id]))("rejects the job id %s with ValidationError", async (_, jobId) => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `ids-${++specCounter}` });
    await expect(spec.enqueueJob({ liveEnv: env, jobId })).rejects.toBeInstanceOf(ValidationError);
    expect(env.liveJobCount).toBe(0);
  });

  it("generated job ids are always valid ids", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `generated-${++specCounter}` });
    // nanoid's default alphabet starts 1 id in 32 with "-" or "_": 300 draws would hit one.
    for (let i = 0; i < 300; i++) {
      const job = await spec.enqueueJob({ liveEnv: env });
      expect(job.jobId).toMatch(/^[A-Za-z0-9]{21}$/);
    }
  });

  it("accepts ordinary ids", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: `ok.name_1:v2@x-${++specCounter}` });
    const job = await spec.enqueueJob({ liveEnv: env, jobId: "order-42" });
    expect(job.jobId).toBe("order-42");
    expect(job.status).toBe("queued");
  });

  it("rejects unknown option keys with ConfigurationError naming the key", async () => {
    const { env } = createTestEnv();
    expect(() => JobSpec.define({ name: "typo", inputs: z.string() } as never)).toThrow(ConfigurationError);
    expect(() => LiveEnv.create({ clocks: 1 } as never)).toThrow(/Unknown option "clocks"/);
    expect(() => LiveEnv.create({ streams: { highWatermark: 2 } } as never)).toThrow(ConfigurationError);
    const spec = JobSpec.define({ name: `options-${++specCounter}`, input: z.string() });
    expect(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, retries: 3 } as never)).toThrow(
      /Unknown option "retries".*known: .*retry/,
    );
    expect(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, retry: { maxRestart: 1 } } as never)).toThrow(
      ConfigurationError,
    );
    expect(() => spec.defineWorker({ liveEnv: env, processor: async () => {}, timeouts: { init: 5 } } as never)).toThrow(
      ConfigurationError,
    );
    await expect(spec.enqueueJob({ liveEnv: env, jobOption: {} } as never)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(spec.enqueueAndGetResult({ liveEnv: env, inputs: "x" } as never)).rejects.toBeInstanceOf(ConfigurationError);
    expect(env.liveJobCount).toBe(0);
  });
});
