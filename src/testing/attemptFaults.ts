import type { InitContext, ProcessorContext } from "../worker/options.js";
import { describeValue } from "./sampleInput.js";
import type { WorkerUnderTest } from "./caseSettings.js";

/** The error injected into `init` and the processor by generated cases. */
export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
}

/** What one stage of an attempt does: run as written, throw, or hang. */
export type Fault = "pass" | "throw" | "hang";

/** The fault script of one attempt. */
export interface AttemptPlan {
  init: Fault;
  processor: Fault;
  /** What a hung attempt does when its signal aborts: settle (reject) or ignore it. */
  onAbort: "settle" | "ignore";
}

/** What the injected code reports back to the case that runs it. */
export interface FaultHarness {
  planFor(attempt: number): AttemptPlan;
  /** Fail the processor by a stall (hang until the heartbeat timeout) instead of a throw. */
  readonly stall: boolean;
  /** Messages in the whole sample, every tag together: a failing attempt's fault point is capped by it. */
  readonly sampleSize: number;
  /** A promise that rejects when `signal` aborts (or when the harness releases it), never resolves. */
  hang(signal: AbortSignal, onAbort: AttemptPlan["onAbort"]): Promise<never>;
  /** The attempt's init or processor is now hung where the path wants it. */
  reached(attempt: number, stage: "init" | "processor"): void;
  /** Every message the processor took, by tag, as `describeValue` shows it. */
  readonly processed: Map<string, string[]>;
  readonly problems: string[];
}

/**
 * Where a failing attempt fails. After it has taken its k-th message (k grows
 * by one with each failing attempt, capped by the sample), the fault strikes at
 * its first emit; a worker that asks for more input first is let through once
 * (acknowledging message k, as the runtime does) and struck at its next read or
 * emit; one that returns first is struck at its return. Striking at the emit
 * that writes message k's output is what exposes a worker that acknowledged
 * message k too early (read ahead, or marked it handled): its output is lost.
 */
class AttemptFaults {
  private taken = 0;
  private readThrough = false;
  private struck = false;

  constructor(
    private readonly attempt: number,
    private readonly fault: Fault,
    private readonly faultAt: number,
    private readonly signal: AbortSignal,
    private readonly harness: FaultHarness,
  ) {}

  async beforeRead(): Promise<void> {
    if (this.struck || this.taken < this.faultAt) return;
    if (!this.readThrough) {
      this.readThrough = true;
      return;
    }
    await this.strike("a read");
  }

  took(tag: string, data: unknown): void {
    this.taken++;
    let seen = this.harness.processed.get(tag);
    if (!seen) this.harness.processed.set(tag, (seen = []));
    seen.push(describeValue(data));
  }

  async beforeEmit(): Promise<void> {
    if (!this.struck && this.taken >= this.faultAt) await this.strike("an emit");
  }

  async atReturn(): Promise<void> {
    if (this.fault !== "pass" && !this.struck) await this.strike("its return");
  }

  private async strike(where: string): Promise<never> {
    this.struck = true;
    if (this.fault === "throw" && !this.harness.stall) {
      throw new InjectedFault(`injected: processor of attempt ${this.attempt} fails at ${where}, after taking ${this.taken} message(s)`);
    }
    const plan = this.harness.planFor(this.attempt);
    this.harness.reached(this.attempt, "processor");
    return this.harness.hang(this.signal, plan.onAbort);
  }

  /** Wraps an input iterator: faults before each read, taken messages recorded by tag. */
  reading<T>(iterator: AsyncIterator<T>, tagOf: (value: T) => string, dataOf: (value: T) => unknown): AsyncIterator<T> {
    return {
      next: async () => {
        await this.beforeRead();
        const result = await iterator.next();
        if (!result.done) this.took(tagOf(result.value), dataOf(result.value));
        return result;
      },
      return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
    };
  }
}

type RawInput = ((tag: string) => { tag: string } & AsyncIterable<unknown>) & {
  merge(...tags: string[]): AsyncIterable<{ tag: string; data: unknown }>;
} & AsyncIterable<unknown>;
type RawOutput = ((tag: string) => { tag: string; emit(data: unknown): Promise<void> }) & { emit?(data: unknown): Promise<void> };

/** The processor's `input` with faults on every way of reading it: the default tag, `input(tag)` and `merge`. */
function faultyInput(inner: RawInput, faults: AttemptFaults): unknown {
  const tagInput = (tag: string) => {
    const handle = inner(tag);
    return { tag: handle.tag, [Symbol.asyncIterator]: () => faults.reading(handle[Symbol.asyncIterator](), () => tag, (data) => data) };
  };
  return Object.assign(tagInput, {
    merge: (...tags: string[]) => {
      const merged = inner.merge(...tags);
      return { [Symbol.asyncIterator]: () => faults.reading(merged[Symbol.asyncIterator](), (message) => message.tag, (message) => message.data) };
    },
    [Symbol.asyncIterator]: () => faults.reading(inner[Symbol.asyncIterator](), () => "default", (data) => data),
  });
}

/** The processor's `output` with faults on every emit, and a check that no emit is accepted after fencing. */
function faultyOutput(raw: RawOutput, faults: AttemptFaults, attempt: number, signal: AbortSignal, problems: string[]): unknown {
  const wrapEmit = (tag: string, emit: (data: unknown) => Promise<void>) => async (data: unknown) => {
    await faults.beforeEmit();
    const fencedBefore = signal.aborted;
    await emit(data);
    if (fencedBefore) problems.push(`an emit on "${tag}" by attempt ${attempt} was accepted after the attempt was fenced`);
  };
  return Object.assign(
    (tag: string) => {
      const emitter = raw(tag);
      return { tag: emitter.tag, emit: wrapEmit(tag, (data) => emitter.emit(data)) };
    },
    typeof raw.emit === "function" ? { emit: wrapEmit("default", (data) => raw.emit!(data)) } : {},
  );
}

/** The harness's `init` and processor around the worker's own, injecting the faults of each attempt's plan. */
export function injectFaults<R>(
  worker: WorkerUnderTest<any, any, any, R>,
  harness: FaultHarness,
): { init(context: InitContext<any>): Promise<R>; processor(context: ProcessorContext<any, any, any, R>): Promise<void> } {
  let faultsSoFar = 0;
  return {
    async init(context) {
      const plan = harness.planFor(context.attempt);
      if (plan.init === "throw") throw new InjectedFault(`injected: init of attempt ${context.attempt} rejects`);
      if (plan.init === "hang") {
        harness.reached(context.attempt, "init");
        await harness.hang(context.signal, plan.onAbort);
      }
      return (worker.init ? await worker.init(context) : undefined) as R;
    },
    async processor(context) {
      const plan = harness.planFor(context.attempt);
      // Each failing attempt fails one message further on, so a run of restarts still makes progress. A stateful
      // worker's first fails at message 2: one message is committed (acknowledged) before the failure, one redelivered
      // after it, and its final state shows whether each changed it once.
      const first = worker.initialState ? 2 : 1;
      const faultAt = plan.processor === "pass" ? Infinity : Math.min(++faultsSoFar + first - 1, harness.sampleSize);
      const faults = new AttemptFaults(context.attempt, plan.processor, faultAt, context.signal, harness);
      const input = faultyInput(context.input as unknown as RawInput, faults);
      const output = faultyOutput(context.output as unknown as RawOutput, faults, context.attempt, context.signal, harness.problems);
      await worker.processor({ ...context, input: input as never, output: output as never });
      await faults.atReturn();
    },
  };
}
