import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, DEFAULT_STREAM_LIMITS, DEFAULT_TIMEOUTS } from "../src/index.js";
import { DEFAULT_WORKER_TEST_TIMEOUT_MS } from "../src/testing/index.js";

/**
 * The README's code is taken from the examples, and its defaults from the code.
 *
 * Every ```ts block runs as shown: it imports what it uses from liveworker,
 * zod, vitest and @statelyai/inspect (or defines it). A block that goes on
 * from the one before it (uses its variables and imports) says so with the
 * line `<!-- continues the snippet above -->` right before its fence; it then
 * shares the imports and definitions of the blocks it continues. Other free
 * names (an `env` or a spec from the example a block is cut from) are context
 * the surrounding text names.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
// Snippets come from the runnable examples, or from the user-facing example test.
const exampleFiles = readdirSync(join(root, "examples"))
  .filter((name) => name.endsWith(".ts"))
  .map((name) => join(root, "examples", name))
  .concat(join(root, "test", "user_example.test.ts"));
const examples = exampleFiles.map((file) => ({ file, source: readFileSync(file, "utf8") }));

const CONTINUES = "<!-- continues the snippet above -->";

interface Block {
  code: string;
  continues: boolean;
}

/** The ```ts blocks of a markdown text, each with whether it continues the block before it. */
function tsBlocksOf(markdown: string): Block[] {
  return [...markdown.matchAll(/(<!-- continues the snippet above -->\n)?```ts\n([\s\S]*?)```/g)].map((match) => ({
    code: match[2]!,
    continues: match[1] !== undefined,
  }));
}

interface Scan {
  /** Imported name → module. */
  imports: Map<string, string>;
  /** Names the code declares (variables, parameters, functions, classes, types). */
  declared: Set<string>;
  /** Names the code refers to (not property names). */
  used: Set<string>;
  /** The code after its import lines. */
  body: string;
  /** Uses `require` or `import x = require(…)`: not an ES module. */
  commonJs: boolean;
}

/** What a piece of TypeScript imports, declares and uses, read from its syntax tree. */
function scan(code: string): Scan {
  const file = ts.createSourceFile("snippet.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports = new Map<string, string>();
  const declared = new Set<string>();
  const used = new Set<string>();
  let commonJs = false;
  let bodyStart = 0;
  const declare = (name: ts.BindingName | ts.Identifier | undefined) => {
    if (!name) return;
    if (ts.isIdentifier(name)) declared.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) declare(element.name);
  };
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      const from = (statement.moduleSpecifier as ts.StringLiteral).text;
      const clause = statement.importClause;
      if (clause?.name) imports.set(clause.name.text, from);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) imports.set(bindings.name.text, from);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) imports.set(element.name.text, from);
      bodyStart = statement.end;
    }
    if (ts.isImportEqualsDeclaration(statement)) commonJs = true;
  }
  /** An identifier in a name position: a property, a member, an import or export specifier. */
  const isPropertyName = (node: ts.Identifier): boolean => {
    const parent = node.parent;
    return (
      (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
      (ts.isQualifiedName(parent) && parent.right === node) ||
      (ts.isPropertyAssignment(parent) && parent.name === node) ||
      (ts.isBindingElement(parent) && parent.propertyName === node) ||
      ((ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent)) &&
        parent.name === node) ||
      ts.isImportSpecifier(parent) ||
      ts.isImportClause(parent) ||
      ts.isNamespaceImport(parent) ||
      ts.isExportSpecifier(parent)
    );
  };
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) || ts.isParameter(node)) declare(node.name);
    if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) ||
      ts.isTypeParameterDeclaration(node) || ts.isEnumDeclaration(node)) && node.name) {
      declared.add(node.name.text);
    }
    if (ts.isIdentifier(node) && !isPropertyName(node)) used.add(node.text);
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "require") commonJs = true;
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { imports, declared, used, body: code.slice(bodyStart).replace(/^\n+/, ""), commonJs };
}

/** The names a module exports, read from its syntax (following `export * from`), without a type checker. */
function exportsOf(file: string, names = new Set<string>()): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (clause && ts.isNamedExports(clause)) for (const element of clause.elements) names.add(element.name.text);
      else if (clause && ts.isNamespaceExport(clause)) names.add(clause.name.text);
      else if (statement.moduleSpecifier) {
        exportsOf(resolve(dirname(file), (statement.moduleSpecifier as ts.StringLiteral).text.replace(/\.js$/, ".ts")), names);
      }
      continue;
    }
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) if (ts.isIdentifier(declaration.name)) names.add(declaration.name.text);
    } else if ("name" in statement && statement.name && ts.isIdentifier(statement.name as ts.Node)) {
      names.add((statement.name as ts.Identifier).text);
    }
  }
  return names;
}

/** Name → the modules a reader could import it from. */
async function importableNames(): Promise<Map<string, string[]>> {
  const modules: Array<[string, Iterable<string>]> = [
    ["liveworker", exportsOf(join(root, "src/index.ts"))],
    ["liveworker/testing", exportsOf(join(root, "src/testing/index.ts"))],
    ["liveworker/machines", exportsOf(join(root, "machines/index.ts"))],
    ["zod", ["z"]],
    ["vitest", Object.keys(await import("vitest"))],
    ["@statelyai/inspect", Object.keys(await import("@statelyai/inspect"))],
  ];
  const importable = new Map<string, string[]>();
  for (const [module, names] of modules) for (const name of names) importable.set(name, [...(importable.get(name) ?? []), module]);
  return importable;
}

/**
 * For each block, the names it uses from `importable` without importing or
 * defining them (with the blocks it continues), and names it imports again.
 */
function missingImports(blocks: Block[], importable: Map<string, string[]>): string[] {
  const problems: string[] = [];
  let chain: Scan[] = [];
  blocks.forEach((block, index) => {
    const scanned = scan(block.code);
    const before = block.continues ? chain : [];
    chain = [...before, scanned];
    // Pasted one after the other, the blocks of a chain form one module: a name imported twice does not compile.
    for (const name of scanned.imports.keys()) {
      if (before.some((s) => s.imports.has(name))) problems.push(`README ts block #${index + 1} (${block.code.split("\n")[0]}) imports ${name} again; the block it continues already does`);
    }
    const known = new Set(chain.flatMap((s) => [...s.imports.keys(), ...s.declared]));
    for (const name of scanned.used) {
      const from = importable.get(name);
      if (from && !known.has(name)) {
        problems.push(
          `README ts block #${index + 1} (${block.code.split("\n")[0]}) uses ${name} without importing it: ` +
            `add import { ${name} } from "${from[0]}", or put "${CONTINUES}" before its fence if it goes on from the block above`,
        );
      }
    }
  });
  return problems;
}

/** The row of an options table whose first cell is `` `name` ``. */
function defaultOf(option: string): string {
  const row = readme.split("\n").find((line) => line.startsWith(`| \`${option}\` |`));
  if (!row) throw new Error(`README has no options row for "${option}"`);
  return row.split("|")[2]!.trim();
}

const blocks = tsBlocksOf(readme);

describe("README", () => {
  it("starts with the two-command quick start", () => {
    expect(readme.startsWith("# liveworker\n\n```sh\nnpm install && npm run demo\nnpm test\n```\n")).toBe(true);
  });

  it("shows only code that an example runs, with the imports that example has", () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const { body, imports } = scan(block.code);
      const example = examples.find(({ source }) => source.includes(body));
      expect(example, `not in any example:\n${block.code}`).toBeDefined();
      const exampleImports = scan(example!.source).imports;
      for (const [name, from] of imports) {
        expect(exampleImports.get(name), `${example!.file} does not import ${name} from "${from}" as the README block shows:\n${block.code}`).toBe(from);
      }
    }
  });

  it("imports in every snippet what it uses from liveworker, zod, vitest and @statelyai/inspect, or marks it as continuing the one above", async () => {
    expect(missingImports(blocks, await importableNames())).toEqual([]);
  });

  it("shows ES modules only: no require()", () => {
    for (const block of blocks) expect(scan(block.code).commonJs, `CommonJS in:\n${block.code}`).toBe(false);
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
    expect(defaultOf("timeoutMs")).toBe(`\`${DEFAULT_WORKER_TEST_TIMEOUT_MS}\``);
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

describe("the README snippet checks can fail", () => {
  const fence = (code: string, continues = false) => `${continues ? `${CONTINUES}\n` : ""}\`\`\`ts\n${code}\`\`\`\n`;

  it("a snippet that uses LiveEnv and z without importing them is reported, naming both", async () => {
    const markdown = fence('const env = LiveEnv.create({ projectId: "x" });\nconst schema = z.string();\n');
    const problems = missingImports(tsBlocksOf(markdown), await importableNames());
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/uses LiveEnv without importing it: add import \{ LiveEnv \} from "liveworker"/);
    expect(problems[1]).toMatch(/uses z without importing it: add import \{ z \} from "zod"/);
  });

  it("imports, definitions and a marked continuation count; an unmarked next block does not inherit", async () => {
    const importable = await importableNames();
    const first = fence('import { LiveEnv } from "liveworker";\n\nconst env = LiveEnv.create({ projectId: "x" });\n');
    const usesAgain = 'const other = LiveEnv.create({ projectId: "y" });\nconst { data } = { data: env };\n';
    expect(missingImports(tsBlocksOf(first + fence(usesAgain, true)), importable)).toEqual([]);
    expect(missingImports(tsBlocksOf(first + fence(usesAgain)), importable)).toEqual([expect.stringMatching(/block #2 .* uses LiveEnv/)]);
    expect(missingImports(tsBlocksOf(first + fence(`import { LiveEnv } from "liveworker";\n${usesAgain}`, true)), importable)).toEqual([
      expect.stringMatching(/block #2 .* imports LiveEnv again/),
    ]);
    // A property named like an export is not a use of it.
    expect(missingImports(tsBlocksOf(fence("const options = { expose: 1 };\noptions.expose;\n")), importable)).toEqual([]);
  });

  it("require() is reported as CommonJS", () => {
    expect(scan('const { LiveEnv } = require("liveworker");\n').commonJs).toBe(true);
  });
});
