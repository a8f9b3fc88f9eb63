import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigurationError,
  JobSpec,
  Liveflow,
  LiveEnv,
  UnknownTagError,
  ValidationError,
  conn,
  expose,
  type SupervisionStrategy,
  type TagHandle,
} from "../src/index.js";

let counter = 0;
const numbers = (name: string) => JobSpec.define({ name: `${name}-${++counter}`, input: z.number(), output: z.number() });

/** Runs `define` and returns what it threw (failing the test when it did not throw). */
function defineError(define: () => unknown): Error {
  try {
    define();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected Liveflow.define to throw, but it returned");
}

describe("Liveflow define-time errors", () => {
  it("an unknown tag named by { spec, label, tag } throws UnknownTagError naming the tag and the known ones", () => {
    const sauce = JobSpec.define({ name: `sauce-${++counter}`, input: z.string(), output: { default: z.string(), spill: z.string() } });
    const bake = numbers("bake");
    const error = defineError(() =>
      Liveflow.define({
        name: "unknown-tag",
        connections: [conn({ from: { spec: sauce, label: "sauce", tag: "sause" }, to: bake })],
        exposures: [expose(sauce.input.default, "in")],
      }),
    );
    expect(error).toBeInstanceOf(UnknownTagError);
    expect(error.message).toBe(`Unknown output tag "sause" on spec "${sauce.name}"; known: default, spill`);
    expect(error).toMatchObject({ tag: "sause", direction: "output", knownTags: ["default", "spill"] });
  });

  it("an unknown tag handle (spec.output.<typo> is undefined) is rejected with a hint", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const typo = (dough.output as Record<string, TagHandle<"output">>)["dougj"]!;
    const error = defineError(() =>
      Liveflow.define({ name: "unknown-handle", connections: [conn({ from: typo, to: bake })], exposures: [] }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain("connections[0].from must be a JobSpec, a tag handle like spec.output.default, or { spec, label }");
    expect(error.message).toContain("an unknown tag?");
  });

  it("exposing a spec that no connection of the flow uses names the nodes of the flow", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const stranger = numbers("stranger");
    const error = defineError(() =>
      Liveflow.define({
        name: "stranger-flow",
        connections: [conn({ from: dough, to: bake })],
        exposures: [expose(dough.input.default, "in"), expose(stranger.output.default, "out")],
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      `Liveflow "stranger-flow": exposes "${stranger.name}", which no connection of the flow uses; connect it or expose a node of the flow (${dough.name}, ${bake.name})`,
    );
  });

  it("a duplicate alias is rejected", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const error = defineError(() =>
      Liveflow.define({
        name: "dup-alias",
        connections: [conn({ from: dough, to: bake })],
        exposures: [expose(dough.input.default, "pizza"), expose(bake.output.default, "out"), expose(dough.output.default, "out")],
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Liveflow "dup-alias": the output alias "out" is exposed twice; aliases must be unique per direction`);
  });

  it("a connection whose schemas are known-incompatible needs a transform", () => {
    const words = JobSpec.define({ name: `words-${++counter}`, input: z.string(), output: z.string() });
    const boxes = JobSpec.define({ name: `boxes-${++counter}`, input: z.object({ word: z.string() }), output: z.number() });
    const error = defineError(() =>
      Liveflow.define({
        name: "incompatible",
        connections: [conn({ from: words, to: boxes })],
        exposures: [expose(words.input.default, "in")],
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      `Liveflow "incompatible": connection ${words.name}.default → ${boxes.name}.default sends string but the input accepts object; add a transform to conn(...)`,
    );
    // With a transform that builds the object, the same wiring is accepted.
    const flow = Liveflow.define({
      name: "compatible",
      connections: [conn({ from: words, to: boxes, transform: (word: string) => ({ word }) })],
      exposures: [expose(words.input.default, "in")],
    });
    expect(flow.nodes).toEqual([words.name, boxes.name]);
  });

  it("an input fed by nothing and not exposed is rejected", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const error = defineError(() =>
      Liveflow.define({ name: "unfed", connections: [conn({ from: dough, to: bake })], exposures: [expose(bake.output.default, "out")] }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      `Liveflow "unfed": input "default" of "${dough.name}" is fed by nothing; connect an output to it or expose it`,
    );
  });

  it("an input both wired and exposed is rejected", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const error = defineError(() =>
      Liveflow.define({
        name: "double-fed",
        connections: [conn({ from: dough, to: bake })],
        exposures: [expose(dough.input.default, "in"), expose(bake.input.default, "side-door")],
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Liveflow "double-fed": input "default" of "${bake.name}" is both wired and exposed; feed it one way only`);
  });

  it("a label naming two different specs is rejected", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const fry = numbers("fry");
    const error = defineError(() =>
      Liveflow.define({
        name: "label-clash",
        connections: [conn({ from: dough, to: { spec: bake, label: "oven" } }), conn({ from: dough, to: { spec: fry, label: "oven" } })],
        exposures: [expose(dough.input.default, "in")],
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      `Liveflow "label-clash": the node "oven" names two different specs ("${bake.name}" and "${fry.name}"); give one a label: { spec, label }`,
    );
  });

  it("a connection in the wrong direction (input → output) is rejected", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const error = defineError(() =>
      Liveflow.define({
        name: "backwards",
        connections: [conn({ from: bake.input.default, to: dough.output.default })],
        exposures: [],
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Liveflow "backwards": connections[0].from is an input tag; a connection goes from an output to an input`);
  });

  it("an unknown supervision strategy is rejected, naming the known ones", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const error = defineError(() =>
      Liveflow.define({
        name: "strategy-typo",
        connections: [conn({ from: dough, to: bake })],
        exposures: [expose(dough.input.default, "in")],
        supervision: { strategy: "one_for_some" as SupervisionStrategy },
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      `Unknown supervision strategy "one_for_some" in Liveflow "strategy-typo"; known: one_for_one, one_for_all, rest_for_one`,
    );
  });

  it("cycles are not allowed: a loop through two nodes, or a node feeding itself, is rejected", () => {
    const dough = numbers("dough");
    const bake = numbers("bake");
    const loop = defineError(() =>
      Liveflow.define({
        name: "loop",
        connections: [conn({ from: dough, to: bake }), conn({ from: bake, to: dough })],
        exposures: [expose(bake.output.default, "out")],
      }),
    );
    expect(loop).toBeInstanceOf(ConfigurationError);
    expect(loop.message).toBe(
      `Liveflow "loop": connections form a cycle through ${dough.name}, ${bake.name}; flows must be acyclic (feed results back through a new job instead)`,
    );
    const self = defineError(() =>
      Liveflow.define({ name: "self-loop", connections: [conn({ from: dough, to: dough })], exposures: [] }),
    );
    expect(self).toBeInstanceOf(ConfigurationError);
    expect(self.message).toContain("connections form a cycle through");
  });

  it("jobOptions naming an unknown node are rejected by enqueueJob, and no job is created", async () => {
    const env = LiveEnv.create({ projectId: "define-errors", logger: { debug() {}, info() {}, warn() {}, error() {} } });
    try {
      const dough = numbers("dough");
      const bake = numbers("bake");
      const flow = Liveflow.define({
        name: "options-typo",
        connections: [conn({ from: dough, to: bake })],
        exposures: [expose(dough.input.default, "in")],
      });
      const attempt = flow.enqueueJob({ liveEnv: env, jobId: "typo-job", jobOptions: { bakee: {} } });
      await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      await expect(attempt).rejects.toThrow(
        `jobOptions of Liveflow "options-typo" name an unknown node "bakee"; nodes: ${dough.name}, ${bake.name}`,
      );
      // The id was not taken: a correct enqueue with the same id works.
      const job = await flow.enqueueJob({ liveEnv: env, jobId: "typo-job" });
      expect(job.status).toBe("queued");
    } finally {
      await env.close();
    }
  });
});
