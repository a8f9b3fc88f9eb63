import type { StandardSchemaV1 } from "@standard-schema/spec";

/** Sizes and time budgets of one bench run. */
export interface BenchMode {
  quick: boolean;
  /** Library/baseline pairs measured per comparison (each pair back to back, in alternating order). */
  pairs: number;
  /** Rounds of the scenarios that repeat a whole measurement (many jobs). */
  rounds: number;
}

/** One row of the results table. */
export interface ResultRow {
  scenario: string;
  metric: string;
  unit: string;
  library: number;
  baseline: number | undefined;
  /** library / baseline by CPU time, oriented so that higher is better for the library. */
  ratio: number | undefined;
  /** The same ratio by wall time (noisier on a shared machine). */
  wallRatio?: number;
  /** The target, or what the row is when it has none: "(reference)" for a baseline shown for context. */
  target: string;
  /** Whether the target is met; absent on a row without a target. */
  pass?: boolean;
}

/**
 * A Standard Schema that accepts everything unchanged: "validation off"
 * for a spec that still needs tags.
 */
export const passThrough: StandardSchemaV1<any, any> = {
  "~standard": { version: 1, vendor: "bench", validate: (value: unknown) => ({ value }) },
};

/**
 * What a baseline's validation does: `schema`'s Standard Schema check of
 * `value`, its (possibly transformed) value, an error on issues. Without a
 * schema ("validation off") the value as is.
 */
export function validate<T>(schema: StandardSchemaV1<unknown, T> | undefined, value: unknown): T {
  if (!schema) return value as T;
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) throw new Error("the baselines validate synchronously; this schema is async");
  if (result.issues) throw new Error(`invalid: ${result.issues[0]?.message}`);
  return result.value;
}

/** Cost of one call, in ns: CPU time of the process (steady on a shared machine) and wall time. */
export interface Timing {
  cpu: number;
  wall: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Cost of one call of `fn`, a whole unit of work (a job of N messages, a
 * batch of jobs): by `process.cpuUsage()` (what the process spent, whatever
 * else the machine runs) and by the wall clock (what a caller waits).
 */
export async function timeOnce(fn: () => Promise<unknown>): Promise<Timing> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - started);
  const used = process.cpuUsage(cpuBefore);
  return { cpu: (used.user + used.system) * 1000, wall };
}

/** What `compare` returns: medians in ns per call, and the paired ratios. */
export interface Comparison {
  /** Median CPU time of one library call. */
  library: number;
  baseline: number;
  libraryWall: number;
  baselineWall: number;
  /**
   * Median over pairs of baseline / library (CPU time). Each pair runs both
   * sides back to back, so both see the same machine: on this shared machine
   * one core's speed can halve for seconds (a busy neighbour), and sides
   * measured seconds apart would compare two machines.
   */
  ratio: number;
  /** The same by wall time. */
  wallRatio: number;
}

/**
 * Measures library and baseline in `mode.pairs` back-to-back pairs,
 * alternating which side goes first (so neither always runs on the heap
 * the other left): returns each side's median cost and the median of the
 * pairs' ratios.
 */
export async function compare(
  library: () => Promise<unknown>,
  baseline: () => Promise<unknown>,
  mode: BenchMode,
): Promise<Comparison> {
  for (let i = 0; i < (mode.quick ? 1 : 2); i++) {
    await baseline();
    await library();
  }
  const lib: Timing[] = [];
  const base: Timing[] = [];
  for (let pair = 0; pair < mode.pairs; pair++) {
    if (pair % 2 === 0) {
      base.push(await timeOnce(baseline));
      lib.push(await timeOnce(library));
    } else {
      lib.push(await timeOnce(library));
      base.push(await timeOnce(baseline));
    }
  }
  return {
    library: median(lib.map((t) => t.cpu)),
    baseline: median(base.map((t) => t.cpu)),
    libraryWall: median(lib.map((t) => t.wall)),
    baselineWall: median(base.map((t) => t.wall)),
    ratio: median(base.map((b, i) => b.cpu / lib[i]!.cpu)),
    wallRatio: median(base.map((b, i) => b.wall / lib[i]!.wall)),
  };
}

/** Runs the garbage collector if the process allows it (`--expose-gc`). */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/** Yields to the event loop `times` times, so started work settles. */
export async function settle(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Percentile of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

let jobCounter = 0;
/**
 * A fresh job id. The bench names its jobs because a default nanoid id may
 * start with "-" or "_", which `assertValidId` rejects (about 3 % of jobs).
 */
export function nextJobId(): string {
  return `j${++jobCounter}`;
}
