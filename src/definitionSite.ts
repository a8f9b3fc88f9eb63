import { ConfigurationError } from "./errors.js";

/**
 * Where user code defined a spec or a flow: `file:line` of the caller of
 * `JobSpec.define` / `Liveflow.define`, so an error about two definitions of
 * one name can point at both. The stack is captured at define time (cheap:
 * V8 formats it only when read) and read only when such an error is thrown.
 *
 * @example
 * const site = new DefinitionSite(JobSpec.define);
 * String(site); // "src/kitchen.ts:12"
 */
export class DefinitionSite {
  private readonly trace: { stack?: string } = {};
  private text: string | undefined;

  /** @param above the function user code called: its frame and those above it are skipped. */
  constructor(above: (...args: never[]) => unknown) {
    if (typeof Error.captureStackTrace === "function") Error.captureStackTrace(this.trace, above);
    else this.trace.stack = new Error().stack;
  }

  toString(): string {
    return (this.text ??= callerOf(this.trace.stack));
  }
}

/** `file:line` of the first frame of a V8 stack, relative to the working directory when inside it. */
function callerOf(stack: string | undefined): string {
  const frame = stack?.split("\n").find((line) => /^\s+at /.test(line));
  const match = frame?.match(/(\S+?):(\d+):\d+\)?$/);
  if (!match) return "an unknown place";
  let file = match[1]!.replace(/^\(/, "");
  if (file.startsWith("file://")) file = safeDecode(file.slice("file://".length));
  const cwd = typeof process === "object" && typeof process.cwd === "function" ? process.cwd() : undefined;
  if (cwd && (file.startsWith(`${cwd}/`) || file.startsWith(`${cwd}\\`))) file = file.slice(cwd.length + 1);
  return `${file}:${match[2]}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A spec or a flow: something defined under a name, at a site. */
export interface Defined {
  readonly name: string;
  /** @internal Where it was defined, for errors about two objects of one name. */
  readonly definedAt: DefinitionSite;
}

/**
 * The error for two different objects of one kind under one name, naming
 * where each was defined. `where` says where they met (`env "kitchen"`,
 * `Liveflow "pizza"`).
 */
export function sameNameError(kind: "JobSpec" | "Liveflow", first: Defined, second: Defined, where: string): ConfigurationError {
  return new ConfigurationError(
    `Two different ${kind} objects are named "${first.name}" in ${where}: one defined at ${String(first.definedAt)}, ` +
      `the other at ${String(second.definedAt)}. A name stands for one ${kind}: give each its own name, or share one ${kind} object.`,
  );
}
