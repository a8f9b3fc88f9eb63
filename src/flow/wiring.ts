import type { AnyJobSpec, TagHandle } from "../spec/JobSpec.js";
import { JobSpec } from "../spec/JobSpec.js";
import { ConfigurationError } from "../errors.js";
import { assertValidId } from "../ids.js";
import { assertKnownKeys } from "../options.js";
import type { InferIn, InferOut, Schema } from "../schema.js";

/** Which side of a spec a tag is on. */
export type Direction = "input" | "output";

/** A spec used a second time in one flow, under its own label. */
export interface LabelledSpec {
  spec: AnyJobSpec;
  label: string;
}

/** Where a connection starts or ends: a spec (its default tag), a tag handle, or a labelled spec. */
export type Endpoint = AnyJobSpec | TagHandle | LabelledSpec | { spec: AnyJobSpec; label: string; tag: string };

/** A wire from an output to an input, as declared. */
export interface Connection {
  readonly kind: "connection";
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly transform?: (data: any) => unknown;
}

/** A tag of a labelled node, named for `expose`. */
export interface LabelledTag<D extends Direction = Direction> {
  spec: AnyJobSpec;
  label: string;
  tag: string;
  direction: D;
}

/**
 * A node tag the flow's job handle exposes under `alias`. The type
 * parameters (alias literal, direction, the tag's schema) are what
 * `Liveflow.define` reads to type the flow job's handle.
 */
export interface Exposure<Alias extends string = string, D extends Direction = Direction, S extends Schema = Schema> {
  readonly kind: "exposure";
  readonly endpoint: TagHandle<D, S> | LabelledTag<D>;
  readonly alias: Alias;
}

/** The schema type of a tag of a spec-like value (`Schema` when unknown). */
type SpecTagSchema<Sp, D extends Direction, T> = Sp extends { readonly [P in D]: infer Handles }
  ? T extends keyof Handles
    ? Handles[T] extends TagHandle<Direction, infer S> | undefined
      ? S
      : Schema
    : Schema
  : Schema;

/** The schema type an endpoint names on side `D` (its default tag when it names none). */
export type EndpointSchema<E, D extends Direction> =
  E extends { label: string; spec: infer Sp; tag: infer T }
    ? SpecTagSchema<Sp, D, T>
    : E extends { label: string; spec: infer Sp }
      ? SpecTagSchema<Sp, D, "default">
      : E extends TagHandle<Direction, infer S>
        ? S
        : SpecTagSchema<E, D, "default">;

/** `any` for the untyped `Schema` (an endpoint whose tag type is unknown), else `T`. */
type Loose<S, T> = Schema extends S ? any : T;

/** The data an endpoint's output tag sends (schema output); `any` when unknown. */
export type EndpointOutput<E> = Loose<EndpointSchema<E, "output">, InferOut<EndpointSchema<E, "output">>>;
/** The data an endpoint's input tag accepts (schema input); `unknown` when unknown. */
export type EndpointInput<E> = InferIn<EndpointSchema<E, "input">>;

/** Rejects a transform whose (non-`unknown`) result does not fit the receiving input. */
type TransformCheck<R, In> = unknown extends R ? unknown : [R] extends [In] ? unknown : { transform: (data: never) => In };

/**
 * Connects an output to an input.
 *
 * @example
 * conn({ from: dough, to: sauce });                                   // default tags
 * conn({ from: sauce.output.default, to: toppings.input.base, transform: (s) => ({ base: s }) });
 * conn({ from: { spec: oven, label: "oven-1" }, to: plate });         // one spec used twice
 */
export function conn<const F extends Endpoint, const T extends Endpoint, R = unknown>(
  options: { from: F; to: T; transform?: (data: EndpointOutput<F>) => R } & NoInfer<TransformCheck<R, EndpointInput<T>>>,
): Connection {
  assertKnownKeys("conn options", options, ["from", "to", "transform"]);
  if (options.transform !== undefined && typeof options.transform !== "function") {
    throw new ConfigurationError(`conn transform must be a function; got ${typeof options.transform}`);
  }
  return Object.freeze({ kind: "connection", ...options }) as Connection;
}

/**
 * Exposes a node's tag on the flow job's handle as `alias`:
 * `job.input(alias).feed(...)` or `job.output(alias)`.
 *
 * @example
 * expose(dough.input.default, "flour");
 * expose({ spec: oven, label: "oven-2", tag: "default", direction: "output" }, "pizza");
 */
export function expose<const E extends Exposure["endpoint"], const Alias extends string>(
  endpoint: E,
  alias: Alias,
): Exposure<Alias, E["direction"], EndpointSchema<E, E["direction"]>> {
  // The schema and direction are type-level only.
  return Object.freeze({ kind: "exposure", endpoint, alias }) as never;
}

/** A resolved endpoint: node key, spec, and tag. */
export interface ResolvedEndpoint {
  node: string;
  spec: AnyJobSpec;
  tag: string;
  explicitTag: boolean;
}

/** Resolves an endpoint to its node key (label or spec name) and tag. */
export function resolveEndpoint(endpoint: Endpoint | Exposure["endpoint"], role: string): ResolvedEndpoint {
  if (endpoint instanceof JobSpec) return { node: endpoint.name, spec: endpoint, tag: "default", explicitTag: false };
  const value = endpoint as Partial<LabelledSpec & TagHandle & { tag: string }>;
  if (value && value.spec instanceof JobSpec) {
    // A typo (`lable`) would silently name the spec's default node.
    assertKnownKeys(role, value, ["spec", "label", "tag", "direction"]);
    // The label keys per-node options, streams and workers: it follows the id rules.
    if (value.label !== undefined) assertValidId(`node label in ${role}`, value.label);
    const node = value.label ?? value.spec.name;
    if (typeof value.tag === "string") return { node, spec: value.spec, tag: value.tag, explicitTag: true };
    return { node, spec: value.spec, tag: "default", explicitTag: false };
  }
  throw new ConfigurationError(
    `${role} must be a JobSpec, a tag handle like spec.output.default, or { spec, label }; got ${describe(endpoint)}`,
  );
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined (an unknown tag? spec.input.<tag> is undefined for tags the spec does not declare)";
  if (value === null) return "null";
  return typeof value === "object" ? `an object with keys ${Object.keys(value).join(", ") || "(none)"}` : typeof value;
}
