import type { AnyActorRef, PromiseActorLogic, PromiseSnapshot } from "xstate";
import type { AttemptInput } from "../../machines/worker.js";

/** One running attempt phase (`init` or the processor): how it settles, and how to abandon it. */
export interface AttemptRun {
  done: Promise<void>;
  /** Called when the worker leaves the phase's state while it runs (stop, restart, timeout). */
  abandon(): void;
}

const RESOLVED = "liveworker.attempt.resolved";
const REJECTED = "liveworker.attempt.rejected";
/** XState's event to an actor being stopped. */
const STOP = "xstate.stop";

/**
 * XState actor logic for an attempt phase: like `fromPromise`, but the phase
 * is abandoned through the `abandon` its runner returns instead of an
 * `AbortSignal` made per actor (an `AbortController` and an event listener per
 * phase were a visible share of a short job's cost). Its snapshots are promise
 * snapshots, so it fits where the worker machine declares `fromPromise` actors.
 */
export function fromAttempt(run: (input: AttemptInput) => AttemptRun): PromiseActorLogic<void, AttemptInput> {
  const abandons = new WeakMap<AnyActorRef, () => void>();
  return {
    config: run,
    getInitialSnapshot: (_scope, input) => ({ status: "active", output: undefined, error: undefined, input }),
    start: (snapshot, { self }) => {
      if (snapshot.status !== "active") return;
      let started: AttemptRun;
      try {
        started = run(snapshot.input!);
      } catch (error) {
        self.send({ type: REJECTED, error });
        return;
      }
      abandons.set(self, started.abandon);
      started.done.then(
        () => {
          if (self.getSnapshot().status !== "active") return;
          abandons.delete(self);
          self.send({ type: RESOLVED });
        },
        (error: unknown) => {
          if (self.getSnapshot().status !== "active") return;
          abandons.delete(self);
          self.send({ type: REJECTED, error });
        },
      );
    },
    transition: (snapshot, event, { self }) => {
      if (snapshot.status !== "active") return snapshot;
      switch (event.type) {
        case RESOLVED:
          return { ...snapshot, status: "done", output: undefined, input: undefined };
        case REJECTED:
          return { ...snapshot, status: "error", error: (event as { error?: unknown }).error, input: undefined };
        case STOP: {
          const abandon = abandons.get(self);
          abandons.delete(self);
          abandon?.();
          return { ...snapshot, status: "stopped", input: undefined };
        }
        default:
          return snapshot;
      }
    },
    getPersistedSnapshot: (snapshot) => snapshot,
    restoreSnapshot: (snapshot) => snapshot as PromiseSnapshot<void, AttemptInput>,
  };
}
