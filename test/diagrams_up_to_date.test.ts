import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DIAGRAMS_PATH, README_PATH, diagramsMarkdown, withReadmeDiagrams } from "../scripts/diagrams.js";

describe("docs/diagrams.md", () => {
  it("matches the machines (run `npm run diagrams` after changing machines/)", () => {
    const onDisk = readFileSync(DIAGRAMS_PATH, "utf8");
    expect(onDisk, "docs/diagrams.md is out of date: run `npm run diagrams`").toBe(diagramsMarkdown());
  });

  it("are embedded in README.md, up to date (run `npm run diagrams`)", () => {
    const readme = readFileSync(README_PATH, "utf8");
    expect(readme, "README.md diagrams are out of date: run `npm run diagrams`").toBe(withReadmeDiagrams(readme));
  });

  it("draws every worker state the design names, with the failure path", () => {
    const text = diagramsMarkdown();
    for (const line of [
      "state starting <<choice>>",
      "[*] --> starting",
      "starting --> initializing : always if hasInit",
      "starting --> executing : always",
      "initializing --> executing : done(initialize)",
      "executing --> error : error(execute)",
      "error --> recovering : RESTART",
      "recovering --> starting : after backoff",
      "error --> crashed : GIVE_UP",
      "[*] --> queued",
      "queued --> running : START",
    ]) {
      expect(text).toContain(line);
    }
  });
});
