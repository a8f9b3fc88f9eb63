import { assign, enqueueActions, fromPromise, setup, type AnyActorRef } from "xstate";
import { TimeoutError } from "../src/errors.js";

/** Timeouts the worker machine enforces itself (as XState delays). Left out, or `Infinity`: none, and no timer is armed. */
export interface WorkerMachineTimeouts {
  /** Longest `init` may take (ms). */
  initMs?: number;
  /** Grace for an abandoned attempt to settle when stopping (ms). */
  stopMs?: number;
}

/** True for a timeout that arms a timer: a finite number of ms. */
const isArmed = (ms: number | undefined): ms is number => typeof ms === "number" && Number.isFinite(ms);

/**
 * The delay of a timeout, or none. XState arms a timer only for a number: for
 * anything else it raises the `after` event at once, and the timeout's guard
 * (`hasInitTimeout`, `hasStopTimeout`) then drops it. So a disabled timeout
 * holds no timer (a long-lived one would keep the process alive, and one past
 * 2³¹−1 ms would fire after 1 ms).
 */
const delayOf = (ms: number | undefined): number => (isArmed(ms) ? ms : (undefined as unknown as number));

/** Input of the worker machine. */
export interface WorkerMachineInput {
  jobId: string;
  /** Name of the worker (the spec's name, or a flow node's label). */
  workerName: string;
  /** Receives `WORKER.FAILED` and answers `RESTART` or `GIVE_UP`. */
  supervisor?: AnyActorRef;
  timeouts?: WorkerMachineTimeouts;
  /**
   * False for a worker with no `init` step: each attempt goes straight to
   * `executing` (no `initializing` state, no init timeout). Default true.
   */
  hasInit?: boolean;
  /**
   * The attempt to begin with: a job resumed in another process goes on
   * from the attempt its workers were on there. A whole number >= 1.
   * Default 1.
   */
  attempt?: number;
  /**
   * Begins in `recovering`: the process that ran the job lost it mid-attempt
   * (`attempt` is the lost one), and its supervisor granted a restart:
   * `error` is the cause (a `worker.restart` event reports it), `delayMs`
   * the backoff before attempt `attempt + 1` begins. Default: none.
   */
  recover?: { delayMs: number; error: unknown };
}

/** How a worker actor ended: the machine's output. */
export interface WorkerOutput {
  workerName: string;
  outcome: "done" | "crashed" | "stopped";
  attempt: number;
  error?: unknown;
}

/** What the worker tells its supervisor when an attempt fails. */
export interface WorkerFailedEvent {
  type: "WORKER.FAILED";
  workerName: string;
  attempt: number;
  error: unknown;
}

/** Events the worker machine accepts. */
export type WorkerEvent =
  | { type: "RESTART"; delayMs: number }
  | { type: "GIVE_UP" }
  | { type: "STOP" };

/** The worker states that are reported (every state but the eventless `starting`). */
export type ReportedWorkerState = "initializing" | "executing" | "error" | "restarting" | "recovering" | "stopping" | "done" | "crashed" | "stopped";

const report = (state: ReportedWorkerState) => ({ type: "reportState" as const, params: { state } });

/** Input of each attempt's `initialize` / `execute` actor. */
export interface AttemptInput {
  jobId: string;
  workerName: string;
  attempt: number;
}

export interface WorkerContext {
  jobId: string;
  workerName: string;
  supervisor: AnyActorRef | undefined;
  timeouts: WorkerMachineTimeouts;
  hasInit: boolean;
  attempt: number;
  backoffMs: number;
  error: unknown;
  outcome: WorkerOutput["outcome"] | undefined;
  /** True until the first backoff of a worker begun in `recovering` (`WorkerMachineInput.recover`). */
  recoverFirst: boolean;
}

const attemptInput = ({ context }: { context: WorkerContext }): AttemptInput => ({
  jobId: context.jobId,
  workerName: context.workerName,
  attempt: context.attempt,
});

/**
 * One LiveWorker. Pure: `initialize`, `execute` and `abandon` are placeholders
 * the runtime provides; delays read the context.
 *
 * Happy path: `initializing → executing → done` (a worker with no init step,
 * `hasInit: false`, starts each attempt in `executing`). On failure:
 * `error` (tells the supervisor, waits for its decision) `→ recovering`
 * (backoff delay) `→ initializing` (or `executing`), or `→ crashed` when the supervisor gives up.
 * A healthy worker restarted with a failing sibling goes `restarting` (its
 * attempt stops first) `→ recovering`. `STOP` leads to `stopping → stopped`.
 * A worker whose job was lost with its process begins in `recovering`
 * (`WorkerMachineInput.recover`).
 *
 * @example
 * import { createActor } from "xstate";
 * import { workerMachine } from "liveworker/machines";
 * const actor = createActor(workerMachine, { input: { jobId: "j1", workerName: "chop" } }).start();
 */
export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    input: {} as WorkerMachineInput,
    events: {} as WorkerEvent,
    output: {} as WorkerOutput,
  },
  actors: {
    initialize: fromPromise<void, AttemptInput>(async () => {}),
    execute: fromPromise<void, AttemptInput>(async () => {}),
    abandon: fromPromise<void, AttemptInput>(async () => {}),
  },
  delays: {
    initTimeout: ({ context }) => delayOf(context.timeouts.initMs),
    stopTimeout: ({ context }) => delayOf(context.timeouts.stopMs),
    backoff: ({ context }) => context.backoffMs,
  },
  guards: {
    hasInitTimeout: ({ context }) => isArmed(context.timeouts.initMs),
    hasStopTimeout: ({ context }) => isArmed(context.timeouts.stopMs),
    hasInit: ({ context }) => context.hasInit,
    recoverFirst: ({ context }) => context.recoverFirst,
  },
  actions: {
    scheduleRestart: assign({
      backoffMs: ({ event }) => (event.type === "RESTART" ? event.delayMs : 0),
    }),
    recordError: assign({ error: (_, params: { error: unknown }) => params.error }),
    /**
     * Reports the state just entered, with the context (attempt, error,
     * backoff). Does nothing here; the runtime provides it to record the
     * worker's lifecycle events in the order they happen (and delivers them
     * to listeners between XState steps, never inside this action).
     */
    reportState: (_, _params: { state: ReportedWorkerState }) => {},
    notifySupervisor: enqueueActions(({ context, enqueue }) => {
      if (!context.supervisor) return;
      const failed: WorkerFailedEvent = {
        type: "WORKER.FAILED",
        workerName: context.workerName,
        attempt: context.attempt,
        error: context.error,
      };
      enqueue.sendTo(context.supervisor, failed);
    }),
  },
}).createMachine({
  id: "worker",
  context: ({ input }) => ({
    jobId: input.jobId,
    workerName: input.workerName,
    supervisor: input.supervisor,
    timeouts: input.timeouts ?? {},
    hasInit: input.hasInit ?? true,
    attempt: input.attempt ?? 1,
    backoffMs: input.recover?.delayMs ?? 0,
    error: input.recover?.error,
    outcome: undefined,
    recoverFirst: input.recover !== undefined,
  }),
  initial: "starting",
  states: {
    // Where each attempt begins. Eventless, so never a snapshot of its own: a
    // worker with nothing to initialize costs no init actor and no init timer.
    starting: {
      always: [{ guard: "recoverFirst", target: "recovering" }, { guard: "hasInit", target: "initializing" }, { target: "executing" }],
    },
    initializing: {
      entry: report("initializing"),
      invoke: {
        src: "initialize",
        input: attemptInput,
        onDone: "executing",
        onError: {
          target: "error",
          actions: { type: "recordError", params: ({ event }) => ({ error: event.error }) },
        },
      },
      after: {
        initTimeout: {
          guard: "hasInitTimeout",
          target: "error",
          actions: {
            type: "recordError",
            params: ({ context }) => ({ error: new TimeoutError("init", context.timeouts.initMs!) }),
          },
        },
      },
      on: { STOP: "stopping", RESTART: { target: "restarting", actions: "scheduleRestart" } },
    },
    executing: {
      entry: report("executing"),
      invoke: {
        src: "execute",
        input: attemptInput,
        onDone: "done",
        onError: {
          target: "error",
          actions: { type: "recordError", params: ({ event }) => ({ error: event.error }) },
        },
      },
      // A supervisor restarting siblings (one_for_all, rest_for_one) restarts a healthy worker too.
      on: { STOP: "stopping", RESTART: { target: "restarting", actions: "scheduleRestart" } },
    },
    error: {
      entry: [report("error"), "notifySupervisor"],
      on: {
        RESTART: { target: "recovering", actions: "scheduleRestart" },
        GIVE_UP: "crashed",
        STOP: "stopped",
      },
    },
    recovering: {
      entry: report("recovering"),
      after: {
        backoff: {
          target: "starting",
          actions: assign({ attempt: ({ context }) => context.attempt + 1, recoverFirst: false }),
        },
      },
      on: { STOP: "stopped" },
    },
    // A healthy worker restarted with a failing sibling: its attempt is stopped first
    // (its signal aborts; it gets up to stopMs to return, then its dispose runs), as an
    // Erlang supervisor terminates a child before it restarts it. Two attempts of one
    // worker never overlap.
    restarting: {
      entry: [assign({ error: undefined }), report("restarting")],
      invoke: { src: "abandon", input: attemptInput, onDone: "recovering", onError: "recovering" },
      after: {
        stopTimeout: {
          guard: "hasStopTimeout",
          target: "recovering",
          actions: {
            type: "recordError",
            params: ({ context }) => ({ error: new TimeoutError("stop", context.timeouts.stopMs!) }),
          },
        },
      },
      on: { STOP: "stopping" },
    },
    stopping: {
      entry: report("stopping"),
      invoke: { src: "abandon", input: attemptInput, onDone: "stopped", onError: "stopped" },
      after: {
        // The attempt ignored its signal past the grace: it is abandoned (and stays fenced).
        stopTimeout: {
          guard: "hasStopTimeout",
          target: "stopped",
          actions: {
            type: "recordError",
            params: ({ context }) => ({ error: new TimeoutError("stop", context.timeouts.stopMs!) }),
          },
        },
      },
    },
    done: { type: "final", entry: [assign({ outcome: "done" }), report("done")] },
    crashed: { type: "final", entry: [assign({ outcome: "crashed" }), report("crashed")] },
    stopped: { type: "final", entry: [assign({ outcome: "stopped" }), report("stopped")] },
  },
  output: ({ context }) => ({
    workerName: context.workerName,
    outcome: context.outcome ?? "stopped",
    attempt: context.attempt,
    ...(context.outcome === "crashed" ? { error: context.error } : {}),
  }),
});

/** The worker machine's type, for users who provide their own actors. */
export type WorkerMachine = typeof workerMachine;
