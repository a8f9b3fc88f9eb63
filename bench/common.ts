import type { StandardSchemaV1 } from "@standard-schema/spec";

/** Sizes and time budgets of one bench run. */
export interface BenchMode {
  quick: boolean;
  /** Minimum measuring time per side per round, in ms. */
  minMs: number;
  /** Alternating lib/baseline rounds; the best round of each side counts. */
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
  target: string;
  pass: boolean;
}

/**
 * A Standard Schema that accepts everything unchanged: "validation off"
 * for a spec that still needs tags.
 */
export const passThrough: StandardSchemaV1<any, any> = {
  "~standard": { version: 1, vendor: "bench", validate: (value: unknown) => ({ value }) },
};

/** Median cost of one call, in ns: CPU time of the process (steady on a shared machine) and wall time. */
export interface Timing {
  cpu: number;
  wall: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Median cost of one call of `fn`. Each call does a whole unit of work (a job
 * of N messages, a batch of jobs) and is timed alone, by `process.cpuUsage()`
 * (what the process spent, whatever else the machine runs) and by the wall
 * clock (what a caller waits).
 */
export async function timeOf(fn: () => Promise<unknown>, mode: BenchMode): Promise<Timing> {
  for (let i = 0; i < (mode.quick ? 1 : 2); i++) await fn();
  const minSamples = mode.quick ? 1 : 5;
  const maxSamples = mode.quick ? 3 : 10_000;
  const cpu: number[] = [];
  const wall: number[] = [];
  let spentNs = 0;
  while ((spentNs < mode.minMs * 1e6 || cpu.length < minSamples) && cpu.length < maxSamples) {
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await fn();
    const wallNs = Number(process.hrtime.bigint() - started);
    const used = process.cpuUsage(cpuBefore);
    cpu.push((used.user + used.system) * 1000);
    wall.push(wallNs);
    spentNs += wallNs;
  }
  return { cpu: median(cpu), wall: median(wall) };
}

/** What `compare` returns: best medians in ns per call, and the paired ratios. */
export interface Comparison {
  /** Best CPU-time median of the library side. */
  library: number;
  baseline: number;
  libraryWall: number;
  baselineWall: number;
  /**
   * Median over rounds of baseline / library (CPU time), each round measuring
   * both sides back to back: contention on a shared machine drifts, so pairs
   * taken close together compare like with like.
   */
  ratio: number;
  /** The same by wall time. */
  wallRatio: number;
}

/**
 * Measures library and baseline alternately (noisy shared machine), `rounds`
 * times: returns the best median of each side in ns per call, CPU time
 * (`library`, `baseline`) and wall time, and the median paired ratio.
 */
export async function compare(
  library: () => Promise<unknown>,
  baseline: () => Promise<unknown>,
  mode: BenchMode,
): Promise<Comparison> {
  const best = { library: Infinity, baseline: Infinity, libraryWall: Infinity, baselineWall: Infinity };
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  for (let round = 0; round < mode.rounds; round++) {
    const b = await timeOf(baseline, mode);
    const l = await timeOf(library, mode);
    best.baseline = Math.min(best.baseline, b.cpu);
    best.baselineWall = Math.min(best.baselineWall, b.wall);
    best.library = Math.min(best.library, l.cpu);
    best.libraryWall = Math.min(best.libraryWall, l.wall);
    ratios.push(b.cpu / l.cpu);
    wallRatios.push(b.wall / l.wall);
  }
  return { ...best, ratio: median(ratios), wallRatio: median(wallRatios) };
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
