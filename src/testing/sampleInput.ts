import { ConfigurationError } from "../errors.js";
import type { InferIn } from "../schema.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { TagOf } from "../spec/types.js";
import type { LiveJob } from "../job/LiveJob.js";

/**
 * What `workerTestCases` feeds: an array of messages for the `default` input
 * tag, or a record of input tag → messages (for a spec with other tags).
 * Tags left out get no message; every input tag is terminated after its sample.
 */
export type SampleInput<I = any> =
  | (I extends { default: unknown } ? readonly InferIn<I["default"]>[] : never)
  | { readonly [K in TagOf<I>]?: readonly InferIn<I[K]>[] };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The sample of every input tag of `spec`, in the spec's tag order (tags the
 * sample leaves out get none). Throws `ConfigurationError` naming the spec's
 * tags and the fix when the sample does not fit the spec.
 */
export function samplesByTag(spec: AnyJobSpec, sampleInput: unknown, where: string): ReadonlyMap<string, readonly unknown[]> {
  const tags = Object.keys(spec.inputSchemas);
  const known = tags.length > 0 ? tags.join(", ") : "(none: the spec declares no input)";
  const recordExample = `{ ${tags.map((tag) => `${tag}: […]`).join(", ")} }`;
  let given: ReadonlyMap<string, readonly unknown[]>;
  if (Array.isArray(sampleInput)) {
    if (!Object.hasOwn(spec.inputSchemas, "default") && (sampleInput.length > 0 || tags.length > 0)) {
      throw new ConfigurationError(
        `sampleInput of ${where}: spec "${spec.name}" has no "default" input tag (its input tags: ${known}); ` +
          (tags.length > 0 ? `give sampleInput as a record of tag → messages, e.g. ${recordExample}` : "give sampleInput: []"),
      );
    }
    given = new Map(tags.length > 0 ? [["default", sampleInput]] : []);
  } else if (isRecord(sampleInput)) {
    const entries = Object.keys(sampleInput).map((tag): [string, readonly unknown[]] => {
      if (!Object.hasOwn(spec.inputSchemas, tag)) {
        throw new ConfigurationError(`sampleInput of ${where} names the input tag "${tag}", which spec "${spec.name}" does not have; its input tags: ${known}`);
      }
      const messages = sampleInput[tag];
      if (!Array.isArray(messages)) {
        throw new ConfigurationError(`sampleInput.${tag} of ${where} must be an array of messages; got ${messages === null ? "null" : typeof messages}`);
      }
      return [tag, messages];
    });
    given = new Map(entries);
  } else {
    throw new ConfigurationError(
      `sampleInput of ${where} must be an array of messages for the "default" input tag, or a record of input tag → messages` +
        `${tags.length > 0 ? ` (spec "${spec.name}": ${recordExample})` : ""}; got ${sampleInput === null ? "null" : typeof sampleInput}`,
    );
  }
  return new Map(tags.map((tag) => [tag, given.get(tag) ?? []]));
}

/**
 * Feeds each tag's sample, tag by tag in the spec's order, terminating each
 * tag after its sample. Resolves with the error a feed or terminate rejected
 * with (a failed or cancelled job refuses them), or undefined.
 */
export async function feedSamples(job: LiveJob<any, any>, samples: ReadonlyMap<string, readonly unknown[]>): Promise<unknown> {
  try {
    for (const [tag, messages] of samples) {
      const writer = (job.input as (tag: string) => { feed(data: unknown): Promise<void>; terminate(): Promise<void> })(tag);
      for (const message of messages) await writer.feed(message);
      await writer.terminate();
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A message as the kit's reports show and compare it: JSON, or its string form when JSON cannot hold it. */
export function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
