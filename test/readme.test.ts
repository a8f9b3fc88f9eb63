import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, DEFAULT_STREAM_LIMITS, DEFAULT_TIMEOUTS } from "../src/index.js";

/** The README's code is taken from the examples, and its defaults from the code. */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
// Snippets come from the runnable examples, or from the user-facing example test.
const examples = readdirSync(join(root, "examples"))
  .filter((name) => name.endsWith(".ts"))
  .map((name) => readFileSync(join(root, "examples", name), "utf8"))
  .concat(readFileSync(join(root, "test", "user_example.test.ts"), "utf8"));

const tsBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);

/** The row of an options table whose first cell is `` `name` ``. */
function defaultOf(option: string): string {
  const row = readme.split("\n").find((line) => line.startsWith(`| \`${option}\` |`));
  if (!row) throw new Error(`README has no options row for "${option}"`);
  return row.split("|")[2]!.trim();
}

describe("README", () => {
  it("starts with the two-command quick start", () => {
    expect(readme.startsWith("# liveworker\n\n```sh\nnpm install && npm run demo\nnpm test\n```\n")).toBe(true);
  });

  it("shows only code that an example runs", () => {
    expect(tsBlocks.length).toBeGreaterThan(0);
    for (const block of tsBlocks) {
      expect(examples.some((source) => source.includes(block)), `not in any example:\n${block}`).toBe(true);
    }
  });

  it("documents the defaults the code uses", () => {
    expect(defaultOf("concurrency")).toBe(`\`${DEFAULT_CONCURRENCY}\``);
    expect(defaultOf("retry.maxRestarts")).toBe(`\`${DEFAULT_RETRY.maxRestarts}\``);
    expect(defaultOf("retry.withinMs")).toBe(`\`${DEFAULT_RETRY.withinMs}\``);
    expect(defaultOf("retry.resetAfterMs")).toBe(`\`${DEFAULT_RETRY.resetAfterMs}\``);
    expect(defaultOf("retry.backoff.initialMs")).toBe(`\`${DEFAULT_RETRY.backoff.initialMs}\``);
    expect(defaultOf("retry.backoff.factor")).toBe(`\`${DEFAULT_RETRY.backoff.factor}\``);
    expect(defaultOf("retry.backoff.maxMs")).toBe(`\`${DEFAULT_RETRY.backoff.maxMs}\``);
    expect(defaultOf("retry.backoff.jitter")).toBe(`\`${DEFAULT_RETRY.backoff.jitter}\``);
    expect(defaultOf("timeouts.initMs")).toBe(`\`${DEFAULT_TIMEOUTS.initMs}\``);
    expect(defaultOf("timeouts.stopMs")).toBe(`\`${DEFAULT_TIMEOUTS.stopMs}\``);
    expect(defaultOf("timeouts.heartbeatMs")).toBe("none");
    expect(defaultOf("timeouts.jobMs")).toBe("none");
    expect(defaultOf("streams.highWaterMark")).toBe(`\`${DEFAULT_STREAM_LIMITS.highWaterMark}\``);
    expect(defaultOf("streams.historyLimit")).toBe(`\`${DEFAULT_STREAM_LIMITS.historyLimit}\``);
  });

  it("names every exported error class", async () => {
    const exported = Object.entries(await import("../src/index.js"))
      .filter(([name, value]) => typeof value === "function" && /^[A-Z]\w*Error$/.test(name) && name !== "LiveworkerError")
      .map(([name]) => name);
    expect(exported.length).toBeGreaterThan(5);
    for (const name of exported) expect(readme, `README does not document ${name}`).toContain(`| \`${name}\` |`);
  });

  it("holds no placeholders", () => {
    expect(readme).not.toMatch(/\bTODO\b|\bTBD\b|FIXME/);
  });
});
