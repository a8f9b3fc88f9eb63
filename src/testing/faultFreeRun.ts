import type { AnyJobSpec } from "../spec/JobSpec.js";
import type { LiveJob } from "../job/LiveJob.js";
import { caseDeadline, closeWithin } from "./caseDeadline.js";
import type { CaseSettings, WorkerUnderTest } from "./caseSettings.js";
import { createTestEnv } from "./createTestEnv.js";
import { describeValue, feedSamples } from "./sampleInput.js";

/** Every output of a job, by tag, as `describeValue` shows it, in order. */
export type OutputsByTag = ReadonlyMap<string, readonly string[]>;

/** What the fault-free run ends with: its outputs, and a stateful worker's final committed state. */
export interface FaultFreeResult {
  readonly outputs: OutputsByTag;
  /** `job.state()` once the job completed (undefined for a worker without `initialState`). */
  readonly state: unknown;
}

/** What one output reader saw: the messages, and the error it ended with (undefined when it ended normally). */
export interface ReaderOutcome {
  tag: string;
  outputs: string[];
  error: unknown;
}

/** Reads every output tag of `job` from its start; each promise settles when its reader ends. */
export function readOutputs(spec: AnyJobSpec, job: LiveJob<any, any>): Array<Promise<ReaderOutcome>> {
  return Object.keys(spec.outputSchemas).map(async (tag) => {
    const outputs: string[] = [];
    try {
      for await (const { data } of (job.output as (tag: string) => AsyncIterable<{ data: unknown }>)(tag)) outputs.push(describeValue(data));
      return { tag, outputs, error: undefined };
    } catch (error) {
      return { tag, outputs, error };
    }
  });
}

const errorText = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (cause: ${error.cause.message})` : error.message;
};

/** Timeouts of the fault-free run: the harness's, so the worker runs as it does in the cases. */
export interface FaultFreeTimeouts {
  initMs: number;
  stopMs: number;
}

/**
 * Runs the worker once on the sample with no injected fault and no restart,
 * in its own test env, and returns its outputs (and a stateful worker's
 * final state). Rejects with a readable error
 * when that run does not complete (the worker fails or hangs on its own).
 */
export async function runFaultFree(
  spec: AnyJobSpec,
  worker: WorkerUnderTest<any, any, any, any>,
  settings: CaseSettings,
  timeouts: FaultFreeTimeouts,
): Promise<FaultFreeResult> {
  const header = () => "The fault-free run (no injected faults)";
  const t = createTestEnv();
  const deadline = caseDeadline(settings.timeoutMs, header);
  try {
    spec.defineWorker({
      liveEnv: t.env,
      concurrency: 1,
      ...(worker.init ? { init: worker.init } : {}),
      processor: worker.processor,
      ...(worker.dispose ? { dispose: worker.dispose } : {}),
      ...(worker.initialState ? { initialState: worker.initialState } : {}),
      retry: { maxRestarts: 0 },
      timeouts,
    });
    const job: LiveJob<any, any> = await deadline.wait(
      spec.enqueueJob({ liveEnv: t.env, ...(settings.jobOptions !== undefined ? { jobOptions: settings.jobOptions } : {}) }),
      () => "enqueueJob",
    );
    const readers = readOutputs(spec, job);
    const feeding = feedSamples(job, settings.samples);
    const failure = await deadline.wait(
      job.waitUntilFinish().then(
        () => undefined,
        (error: unknown) => error,
      ),
      () => `the job to finish (status ${job.status})`,
    );
    if (failure !== undefined) throw new Error(`${header()} did not complete: ${errorText(failure)}`);
    const fedError = await feeding;
    if (fedError !== undefined) throw new Error(`${header()} could not feed the sample: ${errorText(fedError)}`);
    const outcomes = await deadline.wait(Promise.all(readers), () => "its output readers to end");
    const state = worker.initialState ? await deadline.wait(job.state(), () => "job.state()") : undefined;
    return { outputs: new Map(outcomes.map((outcome) => [outcome.tag, outcome.outputs])), state };
  } finally {
    deadline.clear();
    await closeWithin(t, timeouts.stopMs);
  }
}

/**
 * The outputs of `expected` that `actual` lacks, per tag, counting copies:
 * each must appear at least as often as in `expected` (duplicates allowed).
 * One readable line per lost output.
 */
export function lostOutputs(expected: OutputsByTag, actual: OutputsByTag): string[] {
  const count = (values: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return counts;
  };
  const lost: string[] = [];
  for (const [tag, outputs] of expected) {
    const got = count(actual.get(tag) ?? []);
    for (const [value, times] of count(outputs)) {
      const seen = got.get(value) ?? 0;
      if (seen < times) lost.push(`lost output on "${tag}": ${value} (the fault-free run emitted it ${times}×, this path ${seen}×)`);
    }
  }
  return lost;
}
