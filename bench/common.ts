import { measure } from "mitata";
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
  /** library / baseline, oriented so that higher is better for the library. */
  ratio: number | undefined;
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

/**
 * Mean time of one call of `fn`, in ns, via mitata. Each call does a whole
 * unit of work (a job of N messages, a batch of jobs), so batching is off.
 */
export async function timeOf(fn: () => Promise<unknown>, mode: BenchMode): Promise<number> {
  const stats = await measure(fn, {
    min_cpu_time: mode.minMs * 1e6,
    min_samples: mode.quick ? 1 : 5,
    max_samples: mode.quick ? 3 : 10_000,
    warmup_samples: mode.quick ? 1 : 2,
    batch_samples: 1,
    batch_unroll: 1,
    // a sample here is ≥ 100 µs: never batch several calls into one sample
    batch_threshold: 0,
  });
  return stats.p50;
}

/**
 * Measures library and baseline alternately (noisy shared machine): returns
 * the best median of each side in ns per call.
 */
export async function compare(
  library: () => Promise<unknown>,
  baseline: () => Promise<unknown>,
  mode: BenchMode,
): Promise<{ library: number; baseline: number }> {
  let bestLibrary = Infinity;
  let bestBaseline = Infinity;
  for (let round = 0; round < mode.rounds; round++) {
    bestBaseline = Math.min(bestBaseline, await timeOf(baseline, mode));
    bestLibrary = Math.min(bestLibrary, await timeOf(library, mode));
  }
  return { library: bestLibrary, baseline: bestBaseline };
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
