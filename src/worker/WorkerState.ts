import { Immer, enableMapSet, freeze } from "immer";
import type { StreamConsumer, WriteGuard } from "../backend/Backend.js";
import { ConfigurationError, describeError } from "../errors.js";
import { validate, type Schema } from "../schema.js";
import { isThenable } from "../thenable.js";

/**
 * immer, with auto-freeze on whatever the process set globally
 * (`setAutoFreeze` is immer's global): a committed state must never change
 * under the backend that keeps it.
 */
const immer = new Immer({ autoFreeze: true });
// Maps and Sets survive a structured copy, so a state may hold them: immer drafts them only with its plugin (a
// process-wide switch of immer's, which only adds what it can draft).
enableMapSet();

/** Where a node's state is committed (the backend's `StreamStore.commit`). */
export type CommitState = (consumers: readonly StreamConsumer[], state: unknown, guard: WriteGuard) => void;

/**
 * The state of one stateful worker in one job (README, "Stateful workers"):
 * the last one committed, which each attempt starts from. Lives as long as
 * the job runs here.
 */
export class WorkerState {
  /** The last state committed (or restored from an earlier holder); undefined before either. */
  private committed: { value: unknown } | undefined;

  /**
   * @param label names the worker in errors, e.g. `worker "tally" of job "j1"`.
   * @param restored the state an earlier holder committed (a job resumed in this process), if any.
   */
  constructor(
    private readonly label: string,
    private readonly initialState: () => unknown,
    private readonly schema: Schema | undefined,
    private readonly store: CommitState,
    restored: { value: unknown } | undefined,
  ) {
    if (restored) this.committed = { value: freeze(restored.value, true) };
  }

  /**
   * The working state of a new attempt: the last committed state, or
   * `initialState()` (deep-frozen) when none was committed. What
   * `initialState` throws fails the attempt.
   */
  begin(attempt: WriteGuard): AttemptState {
    let start: unknown;
    if (this.committed) start = this.committed.value;
    else {
      start = this.initialState();
      if (isThenable(start)) {
        void Promise.resolve(start).catch(() => {});
        throw new ConfigurationError(`initialState of ${this.label} returned a promise; it must return the state itself, at once (load what it needs in init instead)`);
      }
      start = freeze(start, true);
    }
    return new AttemptState(this, attempt, start, this.committed === undefined, this.label);
  }

  /** @internal Checks and commits `value` with the input `consumers` took (an attempt's `commit`). */
  commit(consumers: readonly StreamConsumer[], value: unknown, attempt: WriteGuard): void {
    attempt.assertLive();
    if (this.schema) this.check(value);
    this.store(consumers, value, attempt);
    this.committed = { value };
  }

  private check(value: unknown): void {
    const where = `state of ${this.label}`;
    const checked = validate(this.schema!, value, where);
    if (isThenable(checked)) {
      // A rejection of the pending validation must not go unhandled.
      void Promise.resolve(checked).catch(() => {});
      throw new ConfigurationError(
        `The state schema of ${this.label} validated asynchronously: a state is checked at each commit, synchronously; use a schema without async refinements`,
      );
    }
  }
}

/** One attempt's view of its worker's state: `state()` and `updateState()` of its processor. */
export class AttemptState {
  /** True while the state changed since the last commit (or was never committed). */
  private dirty: boolean;
  /** True while a recipe runs: an `updateState` inside it would be lost when the outer one finishes. */
  private producing = false;
  /** Set once the processor returned: its state was committed then, and nothing changes it any more. */
  private closed = false;

  constructor(
    private readonly owner: WorkerState,
    private readonly attempt: WriteGuard,
    private value: unknown,
    neverCommitted: boolean,
    private readonly label: string,
  ) {
    this.dirty = neverCommitted;
  }

  /** The processor's `state()`. */
  readonly get = (): unknown => this.value;

  /** The processor's `updateState(recipe)`. */
  readonly update = (recipe: unknown): void => {
    this.attempt.assertLive();
    this.assertOpen("updateState");
    if (typeof recipe !== "function") {
      throw new ConfigurationError(`updateState of ${this.label} takes a recipe function (draft) => void, or one that returns the new state; got ${describeError(recipe)}`);
    }
    if (this.producing) throw new ConfigurationError(`updateState of ${this.label} was called inside a recipe; change the draft there instead (the inner change would be lost)`);
    this.producing = true;
    let returned = false;
    let next: unknown;
    try {
      next = immer.produce(this.value, (draft: unknown) => {
        const result = (recipe as (draft: unknown) => unknown)(draft);
        returned = true;
        if (isThenable(result)) {
          // A draft changed after an await would throw later, unhandled.
          void Promise.resolve(result).catch(() => {});
          throw new ConfigurationError(`updateState of ${this.label} got an async recipe; a recipe must change the draft (or return the new state) at once: await first, then call updateState`);
        }
        return result;
      });
    } catch (error) {
      // What the recipe threw passes as it is; what immer threw after it returned is a misuse, not worth a restart.
      if (!returned || error instanceof ConfigurationError) throw error;
      throw new ConfigurationError(
        `updateState of ${this.label}: immer refused the recipe (${describeError(error)}); change the draft or return a new state, not both (a concise arrow such as draft => draft.n++ returns a value)`,
      );
    } finally {
      this.producing = false;
    }
    if (next !== this.value) {
      this.value = next;
      this.dirty = true;
    }
  };

  /** The processor returned (its state just committed): later updates and commits throw. */
  close(): void {
    this.closed = true;
  }

  private assertOpen(what: string): void {
    if (this.closed) {
      throw new ConfigurationError(`${what} of ${this.label} after its processor returned: the state was committed then; work left running after the return must not change it`);
    }
  }

  /** True when a commit would store something new: the state changed, or was never committed. */
  get changed(): boolean {
    return this.dirty;
  }

  /**
   * Commits the state with what `consumers` took, atomically (the backend's
   * `commit`). Throws the schema's `ValidationError`, the backend's refusal
   * of a state it cannot carry, or the attempt's abandonment: nothing is
   * committed then.
   */
  commit(consumers: readonly StreamConsumer[]): void {
    this.assertOpen("A commit (a read)");
    this.owner.commit(consumers, this.value, this.attempt);
    this.dirty = false;
  }
}
