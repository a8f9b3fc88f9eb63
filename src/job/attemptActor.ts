import type { AnyActorRef, PromiseActorLogic, PromiseSnapshot } from "xstate";
import type { AttemptInput } from "../../machines/worker.js";

/** One running attempt phase (`init` or the processor), as its actor holds it. */
export interface AttemptRun {
  /** Called when the worker leaves the phase's state while it runs (stop, restart, timeout). */
  abandonPhase(): void;
}

/**
 * Where a phase reports how it settled (`reportDone`, `reportFailed`): its
 * actor. A runner keeps it instead of handing back a promise to wait on (a
 * promise and its two reactions per phase were a visible share of a short
 * job's cost, and of an idle job's heap).
 */
export type PhaseReport = AnyActorRef;

const RESOLVED = "liveworker.attempt.resolved";
const REJECTED = "liveworker.attempt.rejected";
/** XState's event to an actor being stopped. */
const STOP = "xstate.stop";
const RESOLVED_EVENT = { type: RESOLVED } as const;

/** The running phase of each attempt actor, until it settles or is stopped. */
const running = new WeakMap<AnyActorRef, AttemptRun>();

/** The phase `report` stands for succeeded (nothing happens once its actor left the phase's state). */
export function reportDone(report: PhaseReport): void {
  if (report.getSnapshot().status !== "active") return;
  running.delete(report);
  report.send(RESOLVED_EVENT);
}

/** The phase `report` stands for failed with `error` (nothing happens once its actor left the phase's state). */
export function reportFailed(report: PhaseReport, error: unknown): void {
  if (report.getSnapshot().status !== "active") return;
  running.delete(report);
  report.send({ type: REJECTED, error });
}

/**
 * XState actor logic for an attempt phase: like `fromPromise`, but the phase
 * reports how it settled (`reportDone`, `reportFailed`, always after the
 * runner returned) and is abandoned through the `AttemptRun` its runner
 * returns instead of an `AbortSignal` made per actor (an `AbortController` and
 * an event listener per phase were a visible share of a short job's cost).
 * Its snapshots are promise snapshots, so it fits where the worker machine
 * declares `fromPromise` actors.
 */
export function fromAttempt(run: (input: AttemptInput, report: PhaseReport) => AttemptRun): PromiseActorLogic<void, AttemptInput> {
  return {
    config: run,
    getInitialSnapshot: (_scope, input) => ({ status: "active", output: undefined, error: undefined, input }),
    start: (snapshot, { self }) => {
      if (snapshot.status !== "active") return;
      let started: AttemptRun;
      try {
        started = run(snapshot.input!, self);
      } catch (error) {
        self.send({ type: REJECTED, error });
        return;
      }
      running.set(self, started);
    },
    transition: (snapshot, event, { self }) => {
      if (snapshot.status !== "active") return snapshot;
      switch (event.type) {
        case RESOLVED:
          return { status: "done", output: undefined, error: undefined, input: undefined };
        case REJECTED:
          return { status: "error", output: undefined, error: (event as { error?: unknown }).error, input: undefined };
        case STOP: {
          const phase = running.get(self);
          running.delete(self);
          phase?.abandonPhase();
          return { status: "stopped", output: undefined, error: undefined, input: undefined };
        }
        default:
          return snapshot;
      }
    },
    getPersistedSnapshot: (snapshot) => snapshot,
    restoreSnapshot: (snapshot) => snapshot as PromiseSnapshot<void, AttemptInput>,
  };
}
