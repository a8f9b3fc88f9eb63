import type { AnyJobSpec, TagHandle } from "../spec/JobSpec.js";
import { JobSpec } from "../spec/JobSpec.js";
import { ConfigurationError } from "../errors.js";

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

/** A node tag the flow's job handle exposes under `alias`. */
export interface Exposure {
  readonly kind: "exposure";
  readonly endpoint: TagHandle | { spec: AnyJobSpec; label: string; tag: string; direction: "input" | "output" };
  readonly alias: string;
}

/**
 * Connects an output to an input.
 *
 * @example
 * conn({ from: dough, to: sauce });                                   // default tags
 * conn({ from: sauce.output.default, to: toppings.input.base, transform: (s) => ({ base: s }) });
 * conn({ from: { spec: oven, label: "oven-1" }, to: plate });         // one spec used twice
 */
export function conn(options: { from: Endpoint; to: Endpoint; transform?: (data: any) => unknown }): Connection {
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
export function expose(endpoint: Exposure["endpoint"], alias: string): Exposure {
  return Object.freeze({ kind: "exposure", endpoint, alias });
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
