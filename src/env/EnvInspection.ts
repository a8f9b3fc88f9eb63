import type { AnyActorRef, InspectionEvent } from "xstate";
import type { Backend } from "../backend/Backend.js";
import type { LifecycleEvent } from "../backend/events.js";
import { toInspectable } from "../inspect/inspectable.js";
import type { CallbackGuard } from "./CallbackGuard.js";
import type { EnvRunner } from "./EnvRunner.js";

/**
 * Who watches an env's jobs: the user's `inspect` (given at creation), fed
 * the XState inspection events of this process's jobs; and viewers, which
 * read the running jobs' actors when they open and then follow the jobs'
 * lifecycle events (every job of the env, this process's or another's).
 * Every callback is guarded: one that throws never breaks a job.
 */
export class EnvInspection {
  private readonly inspect: ((event: InspectionEvent) => void) | undefined;

  constructor(
    user: ((event: InspectionEvent) => void) | undefined,
    private readonly guard: CallbackGuard,
    private readonly runner: EnvRunner,
    private readonly backend: Backend,
  ) {
    this.inspect = user ? (event: InspectionEvent) => user(toInspectable(event)) : undefined;
  }

  /** The root actors of the jobs running in this process: a viewer reads their state when it opens. */
  runningRoots(): AnyActorRef[] {
    return this.runner.jobs().map((job) => job.actor);
  }

  /**
   * The lifecycle events of every job of the env: on a shared backend from the
   * oldest event the env keeps (a viewer opened late shows jobs already running
   * elsewhere), on a backend of this process alone from now on. A viewer follows
   * every job through them, this process's too: they are made for every job
   * anyway, while XState inspection would cost each job a quarter of its CPU.
   */
  observeLifecycle(listener: (event: LifecycleEvent) => void): () => void {
    return this.backend.events.subscribe((event) => this.guard.call(listener, event, "an inspection observer"), { replay: true });
  }

  /** The `inspect` a new job's actor gets: the user's (its events made inspectable), or undefined. Never throws. */
  forNewJob(): ((event: InspectionEvent) => void) | undefined {
    return this.inspect;
  }
}
