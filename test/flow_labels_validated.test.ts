import { describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec, Liveflow, ValidationError, conn, expose } from "../src/index.js";
let counter = 0;

/** Labels a path, a shell, a log line or a plain object would choke on; none is a valid id. */
const BAD_LABELS = ["", "../x", "a/b", "nul\0byte", "x".repeat(100_000), "__proto__", " padded", "-dash", "line\nbreak"];

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

function specs() {
  const n = ++counter;
  return {
    source: JobSpec.define({ name: `source-${n}`, input: z.number(), output: z.number() }),
    sink: JobSpec.define({ name: `sink-${n}`, input: z.number(), output: z.number() }),
  };
}

describe("flow node labels follow the id rules", () => {
  it.each(BAD_LABELS.map((label) => [JSON.stringify(label.slice(0, 12)), label]))(
    "label %s in a connection is a ValidationError naming the label, from Liveflow.define",
    (_, label) => {
      const before = prototypeKeys();
      const { source, sink } = specs();
      const error = errorOf(() =>
        Liveflow.define({
          name: `bad-label-${counter}`,
          connections: [conn({ from: source, to: { spec: sink, label } })],
          exposures: [expose(source.input.default, "in")],
        }),
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/label/);
      expect((error as Error).message.length).toBeLessThan(500);
      expect(prototypeKeys()).toEqual(before);
    },
  );

  it.each(BAD_LABELS.map((label) => [JSON.stringify(label.slice(0, 12)), label]))(
    "label %s in an exposure is a ValidationError",
    (_, label) => {
      const { source } = specs();
      const error = errorOf(() =>
        Liveflow.define({
          name: `bad-exposed-label-${counter}`,
          connections: [],
          exposures: [expose({ spec: source, label, tag: "default", direction: "input" }, "in")],
        }),
      );
      expect(error).toBeInstanceOf(ValidationError);
    },
  );

  it.each(BAD_LABELS.map((alias) => [JSON.stringify(alias.slice(0, 12)), alias]))(
    "alias %s is a ValidationError (aliases are the flow job's tags)",
    (_, alias) => {
      const { source } = specs();
      const error = errorOf(() =>
        Liveflow.define({ name: `bad-alias-${counter}`, connections: [], exposures: [expose(source.input.default, alias)] }),
      );
      expect(error).toBeInstanceOf(ValidationError);
    },
  );
});
