import { sameNameError } from "../definitionSite.js";
import { ConfigurationError, UnknownTagError } from "../errors.js";
import { assertValidId } from "../ids.js";
import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { PlanConnection, PlanNode, PlanPort } from "../job/JobPlan.js";
import { resolveEndpoint, type Connection, type Exposure, type ResolvedEndpoint } from "./wiring.js";

/** The checked shape of a flow: nodes upstream first, wires, exposures. */
export interface CheckedFlow {
  nodes: PlanNode[];
  connections: PlanConnection[];
  exposedInputs: Map<string, PlanPort>;
  exposedOutputs: Map<string, PlanPort>;
}

/**
 * Checks a flow at define time and orders its nodes topologically. Throws
 * `ConfigurationError` / `UnknownTagError` naming the flow and the fix for:
 * unknown tags, wrong directions, a label used for two specs, two specs of one
 * name, exposing a node
 * that no connection uses, duplicate aliases, known-incompatible schemas, an
 * input fed by nothing and not exposed, an input both wired and exposed, and
 * cycles (not allowed: a flow is a DAG, so end-of-stream always cascades).
 */
export function checkFlow(flowName: string, connections: readonly Connection[], exposures: readonly Exposure[]): CheckedFlow {
  const fail = (message: string) => new ConfigurationError(`Liveflow "${flowName}": ${message}`);
  if (!Array.isArray(connections)) throw fail("connections must be an array of conn(...)");
  if (!Array.isArray(exposures)) throw fail("exposures must be an array of expose(...)");
  const specs = new Map<string, AnyJobSpec>();
  const addNode = (e: ResolvedEndpoint) => {
    const known = specs.get(e.node);
    if (known && known !== e.spec) {
      throw fail(`the node "${e.node}" names two different specs ("${known.name}" and "${e.spec.name}"); give one a label: { spec, label }`);
    }
    specs.set(e.node, e.spec);
  };

  const wires: PlanConnection[] = [];
  for (const [i, c] of connections.entries()) {
    if (c?.kind !== "connection") throw fail(`connections[${i}] is not a conn(...)`);
    const from = resolveEndpoint(c.from, `connections[${i}].from`);
    const to = resolveEndpoint(c.to, `connections[${i}].to`);
    checkDirection(fail, c.from, "output", `connections[${i}].from`);
    checkDirection(fail, c.to, "input", `connections[${i}].to`);
    checkTag(from, "output");
    checkTag(to, "input");
    addNode(from);
    addNode(to);
    const label = `${from.node}.${from.tag} → ${to.node}.${to.tag}`;
    if (!c.transform) checkCompatible(fail, label, from, to);
    wires.push({ from: { node: from.node, tag: from.tag }, to: { node: to.node, tag: to.tag }, label, ...(c.transform ? { transform: c.transform } : {}) });
  }

  const exposedInputs = new Map<string, PlanPort>();
  const exposedOutputs = new Map<string, PlanPort>();
  for (const [i, x] of exposures.entries()) {
    if (x?.kind !== "exposure") throw fail(`exposures[${i}] is not an expose(...)`);
    // An alias is a tag of the flow job (`job.input(alias)`): it follows the id rules.
    assertValidId(`alias of exposures[${i}] in Liveflow "${flowName}"`, x.alias);
    const direction = (x.endpoint as { direction?: string })?.direction;
    if (direction !== "input" && direction !== "output") {
      throw fail(`exposures[${i}] must name a tag: spec.input.<tag>, spec.output.<tag>, or { spec, label, tag, direction }`);
    }
    const at = resolveEndpoint(x.endpoint, `exposures[${i}]`);
    checkTag(at, direction);
    if (wires.length > 0 && !specs.has(at.node)) {
      throw fail(`exposes "${at.node}", which no connection of the flow uses; connect it or expose a node of the flow (${[...specs.keys()].join(", ")})`);
    }
    addNode(at);
    const target = direction === "input" ? exposedInputs : exposedOutputs;
    if (target.has(x.alias)) throw fail(`the ${direction} alias "${x.alias}" is exposed twice; aliases must be unique per direction`);
    target.set(x.alias, { node: at.node, tag: at.tag });
  }

  const byName = new Map<string, AnyJobSpec>();
  for (const spec of specs.values()) {
    const known = byName.get(spec.name);
    // An env runs a spec name with one worker def: two specs of one name cannot both run.
    if (known && known !== spec) throw sameNameError("JobSpec", known, spec, `Liveflow "${flowName}"`);
    byName.set(spec.name, spec);
  }

  for (const [node, spec] of specs) {
    for (const tag of Object.keys(spec.inputSchemas)) {
      const wired = wires.some((w) => w.to.node === node && w.to.tag === tag);
      const exposed = [...exposedInputs.values()].some((p) => p.node === node && p.tag === tag);
      if (!wired && !exposed) throw fail(`input "${tag}" of "${node}" is fed by nothing; connect an output to it or expose it`);
      if (wired && exposed) throw fail(`input "${tag}" of "${node}" is both wired and exposed; feed it one way only`);
    }
  }
  const nodes = topologicalOrder(fail, specs, wires);
  return { nodes, connections: wires, exposedInputs, exposedOutputs };
}

function checkDirection(fail: (m: string) => Error, endpoint: unknown, want: "input" | "output", role: string): void {
  const direction = (endpoint as { direction?: string })?.direction;
  if (direction !== undefined && direction !== want) {
    throw fail(`${role} is an ${direction} tag; a connection goes from an output to an input`);
  }
}

function checkTag(e: ResolvedEndpoint, direction: "input" | "output"): void {
  const tags = direction === "input" ? e.spec.inputSchemas : e.spec.outputSchemas;
  if (!Object.hasOwn(tags, e.tag)) throw new UnknownTagError(e.spec.name, direction, e.tag, Object.keys(tags));
}

/** Top-level JSON types of a schema, when its vendor can tell (Standard JSON Schema). */
function jsonTypes(spec: AnyJobSpec, direction: "input" | "output", tag: string): Set<string> | undefined {
  const schema = (direction === "input" ? spec.inputSchemas : spec.outputSchemas)[tag] as {
    "~standard": { jsonSchema?: { input?: (o: object) => unknown; output?: (o: object) => unknown } };
  };
  const convert = schema["~standard"].jsonSchema?.[direction === "input" ? "input" : "output"];
  if (typeof convert !== "function") return undefined;
  try {
    const json = convert({ target: "draft-2020-12" }) as { type?: string | string[] };
    if (json.type === undefined) return undefined;
    const types = new Set(Array.isArray(json.type) ? json.type : [json.type]);
    if (types.has("integer")) types.add("number");
    return types;
  } catch {
    return undefined;
  }
}

function checkCompatible(fail: (m: string) => Error, label: string, from: ResolvedEndpoint, to: ResolvedEndpoint): void {
  const sent = jsonTypes(from.spec, "output", from.tag);
  const accepted = jsonTypes(to.spec, "input", to.tag);
  if (!sent || !accepted) return;
  if ([...sent].some((t) => accepted.has(t) || (t === "integer" && accepted.has("number")))) return;
  throw fail(
    `connection ${label} sends ${[...sent].join("|")} but the input accepts ${[...accepted].join("|")}; add a transform to conn(...)`,
  );
}

function topologicalOrder(fail: (m: string) => Error, specs: Map<string, AnyJobSpec>, wires: PlanConnection[]): PlanNode[] {
  const incoming = new Map<string, number>([...specs.keys()].map((k) => [k, 0]));
  for (const w of wires) incoming.set(w.to.node, incoming.get(w.to.node)! + 1);
  const ready = [...specs.keys()].filter((k) => incoming.get(k) === 0);
  const order: PlanNode[] = [];
  while (ready.length > 0) {
    const key = ready.shift()!;
    order.push({ key, spec: specs.get(key)! });
    for (const w of wires) {
      if (w.from.node !== key) continue;
      const left = incoming.get(w.to.node)! - 1;
      incoming.set(w.to.node, left);
      if (left === 0) ready.push(w.to.node);
    }
  }
  if (order.length < specs.size) {
    const stuck = [...specs.keys()].filter((k) => !order.some((n) => n.key === k));
    throw fail(`connections form a cycle through ${stuck.join(", ")}; flows must be acyclic (feed results back through a new job instead)`);
  }
  return order;
}
