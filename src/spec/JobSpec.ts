import { DefinitionSite } from "../definitionSite.js";
import { ConfigurationError, NoOutputError, UnknownTagError, describeError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys } from "../options.js";
import { isSchema, validate, type Schema } from "../schema.js";
import { enqueueTarget } from "../env/enqueueTarget.js";
import { resolveEnv } from "../env/resolveEnv.js";
import type { LiveEnv } from "../env/LiveEnv.js";
import { LiveJob } from "../job/LiveJob.js";
import { singleSpecPlan } from "../job/JobPlan.js";
import { LiveWorkerDef } from "../worker/LiveWorkerDef.js";
import type { LiveWorkerOptions } from "../worker/LiveWorkerOptions.js";
import type { JobOptionsIn, OutputMessage, TagOf, TagSchemas, Tags } from "./types.js";
import { validateJobOptions } from "./validateJobOptions.js";
import type { InferIn, InferOut } from "../schema.js";


/**
 * Names one input or output tag of a spec (`spec.input.sauce`); Liveflow wires these.
 * `S` is the tag's schema type (type-level only: the handle object holds no schema).
 */
export interface TagHandle<Direction extends "input" | "output" = "input" | "output", S extends Schema = Schema> {
  readonly spec: AnyJobSpec;
  readonly tag: string;
  readonly direction: Direction;
  /** Type-level only, never set: carries the tag's schema type `S`. */
  readonly "~schema"?: S;
}

/** The schema type of tag `K` in the tag map `M` (`Schema` when unknown). */
export type SchemaAt<M, K extends PropertyKey> = M extends unknown ? (K extends keyof M ? (M[K] extends Schema ? M[K] : Schema) : Schema) : never;

/** What `JobSpec.define` takes. */
export interface JobSpecDefinition<IDef, ODef, Opt, St = undefined> {
  /** Unique name: letters, digits and `. _ : @ -`. */
  name: string;
  /** One schema (tag `default`) or a record of tag → schema. Default: no input. */
  input?: IDef;
  /** One schema (tag `default`) or a record of tag → schema. Default: no output. */
  output?: ODef;
  /** Schema of the job options; its defaults apply. Default: options pass unvalidated. */
  jobOptions?: Opt;
  /**
   * Schema of the state a stateful worker of this spec keeps (its
   * `initialState` and `updateState`; README, "Stateful workers"): checked,
   * synchronously, each time the state is committed; a state it refuses
   * fails the attempt with a `ValidationError` (not retried by default).
   * Default: the state is not checked (it must still survive a structured
   * copy). A spec with one needs workers with `initialState`.
   */
  state?: St;
}

/**
 * True when a spec's job options may be left out: it has no `jobOptions`
 * schema, or its schema accepts nothing or `{}` (every field optional or
 * defaulted). Otherwise `jobOptions` is required, in the types as at run time.
 */
export type JobOptionsOptional<Opt> = undefined extends JobOptionsIn<Opt> ? true : {} extends JobOptionsIn<Opt> ? true : false;

/** The `jobOptions` field: optional, or required when the spec's schema has required fields. */
export type JobOptionsField<Opt> =
  JobOptionsOptional<Opt> extends true
    ? {
        /** Validated against the spec's `jobOptions` schema. */
        jobOptions?: JobOptionsIn<Opt>;
      }
    : {
        /** Validated against the spec's `jobOptions` schema (it has required fields). */
        jobOptions: JobOptionsIn<Opt>;
      };

/** Options of `spec.enqueueJob`. */
export type EnqueueOptions<Opt> = {
  /** Default `LiveEnv.global()`. */
  liveEnv?: LiveEnv;
  /** Default: a fresh nanoid. Validated like every id. */
  jobId?: string;
} & JobOptionsField<Opt>;

/** Options of `spec.enqueueAndGetResult`. */
export type EnqueueAndGetResultOptions<I, O, Opt, K extends TagOf<O> = TagOf<O>> = EnqueueOptions<Opt> & {
  /** One message for the `default` input tag. Every input tag is then terminated. */
  input?: "default" extends keyof I ? InferIn<I["default"]> : never;
  /** The output tag whose last message is the result. Default `"default"`. */
  outputTag?: K;
};

/** The options argument: optional unless the spec's job options are required. */
export type OptionsArgument<T, Opt> = JobOptionsOptional<Opt> extends true ? [options?: T] : [options: T];

/**
 * The recipe: a named job with typed input and output streams.
 *
 * @example
 * const chop = JobSpec.define({
 *   name: "chop",
 *   input: z.object({ veg: z.string() }),
 *   output: { default: z.object({ pieces: z.number() }), waste: z.object({ grams: z.number() }) },
 * });
 */
export class JobSpec<I = {}, O = {}, Opt = undefined, St = undefined> {
  readonly name: string;
  /** The `state` schema: a stateful worker's state is checked against it at each commit. */
  readonly stateSchema: Schema | undefined;
  readonly inputSchemas: Readonly<Record<string, Schema>>;
  readonly outputSchemas: Readonly<Record<string, Schema>>;
  readonly jobOptionsSchema: Schema | undefined;
  /** Input tag handles, e.g. `spec.input.default`. */
  readonly input: { readonly [K in TagOf<I>]: TagHandle<"input", SchemaAt<I, K>> };
  /** Output tag handles, e.g. `spec.output.waste`. */
  readonly output: { readonly [K in TagOf<O>]: TagHandle<"output", SchemaAt<O, K>> };
  /** @internal Where `JobSpec.define` was called: errors about two specs of one name show both places. */
  readonly definedAt: DefinitionSite;

  private constructor(definition: JobSpecDefinition<unknown, unknown, unknown, unknown>) {
    this.definedAt = new DefinitionSite(JobSpec.define);
    assertKnownKeys("JobSpec.define", definition, ["name", "input", "output", "jobOptions", "state"]);
    assertValidId("spec name", definition?.name);
    this.name = definition.name;
    this.inputSchemas = normalizeTags(this.name, "input", definition.input);
    this.outputSchemas = normalizeTags(this.name, "output", definition.output);
    if (definition.jobOptions !== undefined && !isSchema(definition.jobOptions)) {
      throw new ConfigurationError(`jobOptions of spec "${this.name}" must be a Standard Schema (zod, valibot, arktype, …)`);
    }
    this.jobOptionsSchema = definition.jobOptions as Schema | undefined;
    if (definition.state !== undefined && !isSchema(definition.state)) {
      throw new ConfigurationError(`state of spec "${this.name}" must be a Standard Schema (zod, valibot, arktype, …); got ${describeError(definition.state)}`);
    }
    this.stateSchema = definition.state as Schema | undefined;
    this.input = handles(this, "input", this.inputSchemas) as never;
    this.output = handles(this, "output", this.outputSchemas) as never;
  }

  /** Defines a spec. See `JobSpecDefinition`. */
  static define<
    const IDef extends Schema | TagSchemas | undefined = undefined,
    const ODef extends Schema | TagSchemas | undefined = undefined,
    Opt extends Schema | undefined = undefined,
    St extends Schema | undefined = undefined,
  >(definition: JobSpecDefinition<IDef, ODef, Opt, St>): JobSpec<Tags<IDef>, Tags<ODef>, Opt, St> {
    return new JobSpec(definition as JobSpecDefinition<unknown, unknown, unknown, unknown>) as never;
  }

  /**
   * Declares how this spec's jobs are processed in an env (one def per spec
   * per env). `S`, the state of a stateful worker, is the spec's `state`
   * schema's output type, or else what `initialState` returns.
   */
  defineWorker<R = undefined, S = undefined>(options: LiveWorkerOptions<I, O, Opt, R, StateOf<St, S>>): LiveWorkerDef<I, O, Opt, R> {
    return LiveWorkerDef.define<I, O, Opt, R, StateOf<St, S>>(this, options);
  }

  /**
   * Creates a job. It runs once the spec has a worker def in the env and a
   * concurrency slot is free; until then it is `queued` and keeps its input.
   * Rejects with `ValidationError` for bad job options or id.
   */
  enqueueJob(...args: OptionsArgument<EnqueueOptions<Opt>, Opt>): Promise<LiveJob<I, O, StateOf<St, unknown>>> {
    return this.enqueue(args[0] === undefined ? {} : args[0]) as Promise<LiveJob<I, O, StateOf<St, unknown>>>;
  }

  private async enqueue(options: { liveEnv?: LiveEnv; jobId?: string; jobOptions?: unknown }, input?: { value: unknown; valid?: unknown }): Promise<LiveJob<I, O>> {
    const { env, jobId } = enqueueTarget(`spec "${this.name}"`, options, ["liveEnv", "jobId", "jobOptions"]);
    // The job's place in its queue is taken at once, before (maybe async) validation: jobs start in call order.
    return env.enqueue(singleSpecPlan(this), jobId, async () => {
      if (input) {
        const schema = Object.hasOwn(this.inputSchemas, "default") ? this.inputSchemas.default : undefined;
        if (!schema) throw new UnknownTagError(this.name, "input", "default", Object.keys(this.inputSchemas));
        // Checked before the job exists: bad input must leave no job behind.
        input.valid = await validate(schema, input.value, `input "default" of spec "${this.name}"`);
      }
      return new Map([[this.name, await this.validateJobOptions(options.jobOptions)]]);
    }) as Promise<LiveJob<I, O>>;
  }

  /**
   * The handle of an existing job of this spec, by id: one added by any
   * process whose env shares this env's backend (on the memory backend, this
   * env). Resolves `undefined` when the backend knows no job of that id
   * (never added, or its data expired: the Redis backend's `retentionMs`).
   *
   * @param options.liveEnv default `LiveEnv.global()`.
   * @throws ValidationError (a rejection) for a job id that is not a valid id.
   * @throws ConfigurationError (a rejection) for an unknown option key, or when the job of that id belongs to another spec or flow.
   * @example
   * const job = await chop.getJob("order-17", { liveEnv: env });
   * for await (const { data } of job!.output) console.log(data);
   */
  async getJob(jobId: string, options: { liveEnv?: LiveEnv } = {}): Promise<LiveJob<I, O, StateOf<St, unknown>> | undefined> {
    assertKnownKeys(`getJob options of spec "${this.name}"`, options, ["liveEnv"]);
    assertValidId("job id", jobId);
    const env = resolveEnv(options.liveEnv, `getJob of spec "${this.name}"`);
    return (await env.findJob(singleSpecPlan(this), jobId)) as LiveJob<I, O, StateOf<St, unknown>> | undefined;
  }

  /**
   * Enqueues a job, feeds `input`, terminates input, waits for the job and
   * returns the last message on `outputTag`. Rejects with the job's error, or
   * `NoOutputError` when it emitted nothing there.
   */
  async enqueueAndGetResult<K extends TagOf<O> = "default" extends TagOf<O> ? "default" : TagOf<O>>(
    ...args: OptionsArgument<EnqueueAndGetResultOptions<I, O, Opt, K>, Opt>
  ): Promise<OutputMessage<InferOut<O[K]>>> {
    const options: Partial<EnqueueAndGetResultOptions<I, O, Opt, K>> & { jobOptions?: unknown } = args[0] === undefined ? {} : args[0];
    assertKnownKeys(`enqueueAndGetResult options of spec "${this.name}"`, options, ["liveEnv", "jobId", "jobOptions", "input", "outputTag"]);
    const { input, outputTag = "default", ...enqueueOptions } = options;
    if (!Object.hasOwn(this.outputSchemas, outputTag)) {
      throw new UnknownTagError(this.name, "output", outputTag, Object.keys(this.outputSchemas));
    }
    const given = input !== undefined ? { value: input as unknown, valid: undefined as unknown } : undefined;
    const job = await this.enqueue(enqueueOptions, given);
    // Validated once, before the job existed: the processor gets that result (a schema with effects runs once).
    if (given) {
      try {
        await job.writer("default").stream.append(given.valid);
      } catch (error) {
        await job.cancel(`its input was refused: ${describeError(error)}`);
        throw error;
      }
    }
    await Promise.all(Object.keys(this.inputSchemas).map((tag) => job.writer(tag).end(`input of job "${job.jobId}" was terminated`)));
    await job.waitUntilFinish();
    const last = await job.outputStream(outputTag)!.last();
    if (!last) {
      throw new NoOutputError(`Job "${job.jobId}" of spec "${this.name}" completed without emitting on output "${outputTag}"`);
    }
    return { data: last.data as InferOut<O[K]>, timestamp: last.timestamp };
  }

  /** @internal Validates job options against this spec's schema (see `validateJobOptions`). */
  validateJobOptions(value: unknown): Promise<unknown> {
    return validateJobOptions(this, value);
  }
}

/** A spec of any shape. */
export type AnyJobSpec = JobSpec<any, any, any, any>;

/**
 * A stateful worker's state type: what the spec's `state` schema accepts (its
 * input type: a state is checked at each commit and kept as given, not as the
 * schema's output), or else `S` (inferred from `initialState`).
 */
export type StateOf<St, S> = St extends Schema ? InferIn<St> : S;

/**
 * The processor type of a spec's worker, for a processor written apart from
 * `defineWorker` (shared, or passed to `workerTestCases`).
 *
 * @example
 * const shoutProcessor: ProcessorOf<typeof shout> = async ({ input, output }) => {
 *   for await (const { text } of input) await output.emit({ text: text.toUpperCase() });
 * };
 */
export type ProcessorOf<S, R = undefined, State = undefined> =
  S extends JobSpec<infer I, infer O, infer Opt, infer St> ? LiveWorkerOptions<I, O, Opt, R, StateOf<St, State>>["processor"] : never;

function normalizeTags(specName: string, direction: "input" | "output", value: unknown): Record<string, Schema> {
  if (value === undefined) return {};
  if (isSchema(value)) return { default: value };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${direction} of spec "${specName}" must be a schema or a record of tag → schema`);
  }
  const tags: Record<string, Schema> = {};
  for (const [tag, schema] of Object.entries(value)) {
    assertValidId(`${direction} tag of spec "${specName}"`, tag);
    if (!isSchema(schema)) {
      throw new ConfigurationError(`${direction} tag "${tag}" of spec "${specName}" is not a Standard Schema (zod, valibot, arktype, …)`);
    }
    tags[tag] = schema;
  }
  return tags;
}

function handles(spec: AnyJobSpec, direction: "input" | "output", schemas: Record<string, Schema>) {
  // No prototype: `spec.input.toString` is a tag or nothing, never an inherited function.
  const result: Record<string, TagHandle> = Object.create(null);
  for (const tag of Object.keys(schemas)) result[tag] = Object.freeze({ spec, tag, direction });
  return Object.freeze(result);
}
