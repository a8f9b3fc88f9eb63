/**
 * What a chaos run of numbers workers (test/fixtures/numbers-worker.ts)
 * shows, worked out from what every process printed, each job's output and
 * the final statuses recorded: the counts to report, and the breaches of
 * each invariant (empty lists when they hold). Pure: no I/O.
 */
import type { ChildLine } from "./childProcesses.js";
import type { Disruption } from "./workerPool.js";

/** One output message of a numbers job. */
export interface NumbersMessage {
  readonly n: number;
  readonly by: string;
  readonly attempt: number;
  readonly run: number;
}

export interface ChaosRun {
  readonly jobIds: readonly string[];
  /** The inputs every job was fed: 1 to `inputs`. */
  readonly inputs: number;
  /** Each job's output, in order. */
  readonly outputs: ReadonlyMap<string, readonly NumbersMessage[]>;
  /** Every line of every worker process. */
  readonly lines: readonly ChildLine[];
  /** Per job, the final statuses its `job.status` events carried (in the env's event stream). */
  readonly finalEvents: ReadonlyMap<string, readonly string[]>;
  readonly disruptions: readonly Disruption[];
}

export interface ChaosTally {
  /** Processor calls that took over a job another call had run. */
  readonly takeovers: number;
  /** Processor calls whose signal aborted (their lease was lost: no cancel in a chaos run). */
  readonly fencedCalls: number;
  /** Output messages beyond the first of each (job, n). */
  readonly duplicates: number;
  /** Per disruption that held jobs, from the signal to the last of its jobs taken over by another process (ms). */
  readonly recoveriesMs: readonly number[];
  /** Jobs whose final status events are not exactly one `completed`, with those they got. */
  readonly notOneFinal: ReadonlyArray<{ jobId: string; finals: readonly string[] }>;
  /** Inputs of a job missing from its output. */
  readonly missing: ReadonlyArray<{ jobId: string; n: readonly number[] }>;
  /** Messages of a processor call after another call's message (a stale call's write landed), or of a lower attempt than one before. */
  readonly staleLanded: ReadonlyArray<{ jobId: string; index: number; message: NumbersMessage; after: NumbersMessage }>;
  /** Emits a process made after its call's signal aborted, found in the output. */
  readonly abortedDelivered: ReadonlyArray<{ jobId: string; message: NumbersMessage }>;
}

const callOf = (by: string, run: number) => `${by}#${run}`;

export function tallyChaos(run: ChaosRun): ChaosTally {
  // In time order (the processes' lines come one process after another); stable: a process's own order stays.
  const lines = [...run.lines].sort((a, b) => (a.at as number) - (b.at as number));
  const linesOf = (event: string) => lines.filter((line) => line.event === event);
  const started = linesOf("started");
  let duplicates = 0;
  const missing: Array<{ jobId: string; n: number[] }> = [];
  const staleLanded: Array<{ jobId: string; index: number; message: NumbersMessage; after: NumbersMessage }> = [];
  for (const jobId of run.jobIds) {
    const output = run.outputs.get(jobId) ?? [];
    const seen = new Set(output.map(({ n }) => n));
    duplicates += output.length - seen.size;
    const lost = Array.from({ length: run.inputs }, (_, i) => i + 1).filter((n) => !seen.has(n));
    if (lost.length > 0) missing.push({ jobId, n: lost });
    // Each call's messages form one block: a call whose block ended never writes again, and attempts never go back.
    const ended = new Set<string>();
    for (const [index, message] of output.entries()) {
      const before = output[index - 1];
      if (!before) continue;
      const call = callOf(message.by, message.run);
      const previous = callOf(before.by, before.run);
      if (call === previous) continue;
      ended.add(previous);
      if (ended.has(call) || message.attempt < before.attempt) staleLanded.push({ jobId, index, message, after: before });
    }
  }
  const abortedDelivered: Array<{ jobId: string; message: NumbersMessage }> = [];
  for (const emit of linesOf("emit").filter((line) => line.aborted === true)) {
    const jobId = emit.jobId as string;
    const found = (run.outputs.get(jobId) ?? []).find((m) => m.n === emit.n && m.by === emit.name && m.run === emit.run);
    if (found) abortedDelivered.push({ jobId, message: found });
  }
  const notOneFinal = run.jobIds
    .map((jobId) => ({ jobId, finals: run.finalEvents.get(jobId) ?? [] }))
    .filter(({ finals }) => finals.length !== 1 || finals[0] !== "completed");
  return {
    takeovers: started.length - new Set(started.map((line) => line.jobId)).size,
    fencedCalls: linesOf("aborted").length,
    duplicates,
    recoveriesMs: recoveries(run.jobIds, run.disruptions, lines),
    notOneFinal,
    missing,
    staleLanded,
    abortedDelivered,
  };
}

/**
 * For each disruption: the jobs its victim was running then (its latest
 * call of the job had started, and had neither returned nor aborted), and
 * how long until another process started each; the slowest counts. `lines`
 * in time order.
 */
function recoveries(jobIds: readonly string[], disruptions: readonly Disruption[], lines: readonly ChildLine[]): number[] {
  const started = lines.filter((line) => line.event === "started");
  const ends = lines.filter((line) => line.event === "returned" || line.event === "aborted");
  const result: number[] = [];
  for (const { victim, at } of disruptions) {
    let slowest: number | undefined;
    for (const jobId of jobIds) {
      const calls = started.filter((line) => line.jobId === jobId);
      const current = calls.filter((line) => (line.at as number) <= at).at(-1);
      if (!current || current.name !== victim) continue;
      if (ends.some((end) => end.name === victim && end.run === current.run && (end.at as number) <= at)) continue;
      const next = calls.find((line) => line.name !== victim && (line.at as number) > at);
      if (next) slowest = Math.max(slowest ?? 0, (next.at as number) - at);
    }
    if (slowest !== undefined) result.push(slowest);
  }
  return result;
}
