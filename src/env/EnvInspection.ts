import type { AnyActorRef, InspectionEvent } from "xstate";
import type { Backend } from "../backend/Backend.js";
import type { LifecycleEvent } from "../backend/events.js";
import { toInspectable } from "../inspect/inspectable.js";
import type { CallbackGuard } from "./CallbackGuard.js";
import type { EnvRunner } from "./EnvRunner.js";

/**
 * Who watches an env's jobs: the user's `inspect` (given at creation) and
 * observers attached later (a viewer), fed the XState inspection events of
 * this process's jobs; a viewer also follows the lifecycle events of jobs
 * queued or run by other processes. Every callback is guarded:
 * one that throws never breaks a job.
 */
export class EnvInspection {
  /** Observers attached after creation (`observe`): new jobs get them too. */
  private readonly late = new Set<(event: InspectionEvent) => void>();

  constructor(
    private readonly user: ((event: InspectionEvent) => void) | undefined,
    private readonly guard: CallbackGuard,
    private readonly runner: EnvRunner,
    private readonly backend: Backend,
  ) {}

  /**
   * Sends the XState inspection events of every job, running or to come,
   * to `observer` until `stop()`. Returns the running jobs' root actors so
   * the observer can read their current state.
   */
  observe(observer: (event: InspectionEvent) => void): { roots: AnyActorRef[]; stop: () => void } {
    const guarded = (event: InspectionEvent) => this.guard.call(observer, toInspectable(event), "an inspection observer");
    const running = this.runner.inspectRunning(guarded);
    this.late.add(observer);
    return {
      roots: running.roots,
      stop: () => {
        this.late.delete(observer);
        running.stop();
      },
    };
  }

  /**
   * The lifecycle events of every job of the env: on a shared backend from the
   * oldest event the env keeps (a viewer opened late shows jobs already running
   * elsewhere), on a backend of this process alone from now on. A viewer needs
   * them for what no actor of this process shows: jobs other processes run, and
   * jobs still queued (their actor is made when they start).
   */
  observeLifecycle(listener: (event: LifecycleEvent) => void): () => void {
    return this.backend.events.subscribe((event) => this.guard.call(listener, event, "an inspection observer"), { replay: true });
  }

  /** The `inspect` a new job's actor gets: undefined when nobody inspects. Never throws. */
  forNewJob(): ((event: InspectionEvent) => void) | undefined {
    if (!this.user && this.late.size === 0) return undefined;
    const user = this.user;
    const attached = [...this.late];
    return (event: InspectionEvent) => {
      const inspectable = toInspectable(event);
      user?.(inspectable);
      // A viewer closed since this job started is skipped.
      for (const observer of attached) {
        if (this.late.has(observer)) this.guard.call(observer, inspectable, "an inspection observer");
      }
    };
  }
}
