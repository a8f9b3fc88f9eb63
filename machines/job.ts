import { and, assign, enqueueActions, setup, type ActorSystem, type AnyActorRef } from "xstate";
import {
  JobFailedError,
  TimeoutError,
  serializeError,
  type RestartRecord,
} from "../src/errors.js";
import { DEFAULT_RETRY, decideRestart, type RetryPolicy } from "./restartPolicy.js";
import { keptRecords, lastAttempt, refusal, resumedAttempt } from "./supervisorDecisions.js";
import {
  workerMachine,
  type WorkerFailedEvent,
  type WorkerMachineTimeouts,
  type WorkerOutput,
} from "./worker.js";

/** Timeouts of a job: the whole job (`jobMs`) plus those of its workers. */
export interface JobMachineTimeouts extends WorkerMachineTimeouts {
  /** Longest the whole job may run, restarts included (schedule-to-close), in ms. Left out, or `Infinity`: none. */
  jobMs?: number;
}

/**
 * Which workers restart when one fails (Erlang/OTP): only the failed one, all
 * of them, or the failed one and those downstream of it.
 */
export type SupervisionStrategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** Input of the job machine. */
export interface JobMachineInput {
  jobId: string;
  specName: string;
  /** Names of the workers this job supervises, upstream first (one per spec, or per flow node). */
  workers: readonly string[];
  /** Default "one_for_one". */
  strategy?: SupervisionStrategy;
  /** For `rest_for_one`: worker → the workers downstream of it (transitively). */
  downstream?: Readonly<Record<string, readonly string[]>>;
  /**
   * Restarts granted before this run (newest last): a job resumed in another
   * process keeps its restart budget. Default none.
   */
  restarts?: readonly RestartRecord[];
  /**
   * For a job resumed in another process: the attempt each worker (by name)
   * was last on there (a worker left out: 1). Each begins with the next
   * attempt, or, after `expired`, recovers from this one. Default: a fresh
   * job (every worker begins at attempt 1).
   */
  attempts?: Readonly<Record<string, number>>;
  /**
   * The job's last holder lost it without giving it back (a
   * `LeaseExpiredError`): on `START` the supervisor treats it as a failure
   * of every worker (`resuming`): one restart against the budget, every
   * worker begun in `recovering` with its backoff, or the job fails when
   * the budget is spent. Default: none.
   */
  expired?: unknown;
}

/** Sent by the env when a concurrency slot is free and a worker def exists. */
export interface JobStartEvent {
  type: "START";
  retry: RetryPolicy;
  timeouts: JobMachineTimeouts;
  /** Per-worker init/stop timeouts; a worker not listed uses `timeouts`. */
  workerTimeouts?: Readonly<Record<string, WorkerMachineTimeouts>>;
  /** Workers with no init step: their attempts skip `initializing`. */
  withoutInit?: readonly string[];
}

export type JobEvent =
  | JobStartEvent
  | { type: "CANCEL"; reason?: string }
  | { type: "JOB.TIMEOUT" }
  | WorkerFailedEvent
  | { type: `xstate.done.actor.${string}`; output: WorkerOutput; actorId?: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId?: string };

export interface JobContext {
  jobId: string;
  specName: string;
  workers: readonly string[];
  strategy: SupervisionStrategy;
  downstream: Readonly<Record<string, readonly string[]>>;
  retry: RetryPolicy;
  timeouts: JobMachineTimeouts;
  workerTimeouts: Readonly<Record<string, WorkerMachineTimeouts>>;
  withoutInit: readonly string[];
  /** Restarts granted so far (the newest last; older than the window are dropped). */
  restarts: RestartRecord[];
  /** `JobMachineInput.attempts`: undefined for a fresh job. */
  attempts: Readonly<Record<string, number>> | undefined;
  /** `JobMachineInput.expired`. */
  expired: unknown;
  /** The backoff granted for `expired`, once `resuming` granted it: every worker begins in `recovering`. */
  resumeDelayMs: number | undefined;
  /** Workers that reached a final state, with how they ended. */
  finished: Record<string, WorkerOutput["outcome"]>;
  /** Why the job is failing, once known. */
  error: unknown;
  cancelReason: string | undefined;
}

/** Child id of a worker actor within its job, `worker:<workerName>` (its system id adds the job id: `workerSystemId`). */
export const workerActorId = (workerName: string): string => `worker:${workerName}`;

/**
 * System id of a worker actor, unique per job: what inspectors show. The child
 * id itself stays free of the job id, because XState memoizes transitions per
 * event type on the (shared) machine, and `xstate.done.actor.<child id>` with a
 * job id inside would add an entry for every job ever run.
 */
export const workerSystemId = (workerName: string, jobId: string): string => `worker:${workerName}/${jobId}`;

/** Id of the delayed JOB.TIMEOUT event (cancelled when the job stops running). */
const JOB_TIMER = "jobTimeout";

/** A job timeout arms a timer only for a finite `jobMs`: left out, or `Infinity`, is none. */
const hasJobTimer = (context: JobContext): boolean => typeof context.timeouts.jobMs === "number" && Number.isFinite(context.timeouts.jobMs);


function clockNow(system: ActorSystem<any>): number {
  const clock = system._clock as { now?: () => number };
  return typeof clock.now === "function" ? clock.now() : Date.now();
}

/** The workers a failure of `failed` restarts under the job's strategy (finished ones stay finished). */
export function restartSet(context: Pick<JobContext, "workers" | "strategy" | "downstream" | "finished">, failed: string): string[] {
  const alive = (name: string) => name === failed || !Object.hasOwn(context.finished, name);
  if (context.strategy === "one_for_all") return context.workers.filter(alive);
  if (context.strategy === "rest_for_one") {
    const rest = new Set([failed, ...(Object.hasOwn(context.downstream, failed) ? context.downstream[failed]! : [])]);
    return context.workers.filter((name) => rest.has(name) && alive(name));
  }
  return [failed];
}

/**
 * True while a worker's actor takes events. A worker can reach its final
 * state while the job still has an event of its own to process (a CANCEL
 * sent from a listener of that very change); its done event then follows,
 * and an event sent to it meanwhile would go to a stopped actor.
 */
function workerIsActive(self: AnyActorRef, workerName: string): boolean {
  const children = (self.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> } | undefined)?.children;
  // Walked without actors (xstate/graph): every worker not yet finished counts as active.
  if (!children) return true;
  return children[workerActorId(workerName)]?.getSnapshot().status === "active";
}

const allFinished = (context: JobContext) => context.workers.every((name) => Object.hasOwn(context.finished, name));

/**
 * The LiveJob: a supervisor. `queued → running → completed | failed | cancelled`.
 * While running it spawns one worker actor per worker name, answers each
 * `WORKER.FAILED` with `RESTART` (after a backoff) or `GIVE_UP` according to
 * the restart policy, and ends when all workers are done. `stopping` drains
 * workers on cancel, job timeout, or a crashed worker.
 *
 * @example
 * import { createActor } from "xstate";
 * import { jobMachine } from "liveworker/machines";
 * const job = createActor(jobMachine, { input: { jobId: "j1", specName: "chop", workers: ["chop"] } }).start();
 */
export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    input: {} as JobMachineInput,
    events: {} as JobEvent,
  },
  actors: { worker: workerMachine },
  guards: {
    hasJobTimeout: ({ context }) => hasJobTimer(context),
    /** A worker crashed or stopped on its own while the job runs. */
    workerEndedEarly: ({ event }) => "output" in event && (event.output as WorkerOutput).outcome !== "done",
    allFinished: ({ context }) => allFinished(context),
    leaseExpired: ({ context }) => context.expired !== undefined,
    failing: ({ context }) => context.error !== undefined,
    allDone: ({ context }) => context.workers.every((name) => Object.hasOwn(context.finished, name) && context.finished[name] === "done"),
  },
  actions: {
    /**
     * Reports that the whole-job timeout fired, before the workers are
     * stopped because of it. Does nothing here; the runtime provides it (to
     * record the event; listeners get it between XState steps).
     */
    reportJobTimeout: () => {},
    applyStart: assign(({ event }) => {
      const start = event as JobStartEvent;
      return { retry: start.retry, timeouts: start.timeouts, workerTimeouts: start.workerTimeouts ?? {}, withoutInit: start.withoutInit ?? [] };
    }),
    // The job timeout is a delayed JOB.TIMEOUT raised only when `jobMs` is set:
    // an `after` transition would arm (and then clear) a timer for every job.
    startJobTimer: enqueueActions(({ context, enqueue }) => {
      if (hasJobTimer(context)) enqueue.raise({ type: "JOB.TIMEOUT" }, { id: JOB_TIMER, delay: context.timeouts.jobMs });
    }),
    cancelJobTimer: enqueueActions(({ context, enqueue }) => {
      if (hasJobTimer(context)) enqueue.cancel(JOB_TIMER);
    }),
    spawnWorkers: enqueueActions(({ context, enqueue, self }) => {
      for (const workerName of context.workers) {
        enqueue.spawnChild("worker", {
          id: workerActorId(workerName),
          systemId: workerSystemId(workerName, context.jobId),
          input: {
            jobId: context.jobId,
            workerName,
            supervisor: self,
            // Own keys only: worker names are user strings (`toString` is a fine name).
            timeouts: Object.hasOwn(context.workerTimeouts, workerName)
              ? context.workerTimeouts[workerName]
              : { initMs: context.timeouts.initMs, stopMs: context.timeouts.stopMs },
            hasInit: !context.withoutInit.includes(workerName),
            ...resumedAttempt(context, workerName),
          },
        });
      }
    }),
    supervise: enqueueActions(({ context, event, enqueue, system, self }) => {
      if (event.type !== "WORKER.FAILED") return;
      const at = clockNow(system);
      const decision = decideRestart(
        context.restarts,
        context.retry,
        event.error,
        at,
        `${context.jobId}:${context.restarts.length}`,
      );
      const target = workerActorId(event.workerName);
      if (decision.restart) {
        const record: RestartRecord = {
          attempt: event.attempt,
          at,
          delayMs: decision.delayMs,
          error: serializeError(event.error),
        };
        enqueue.assign({ restarts: [...context.restarts, record].slice(-keptRecords(context.retry)) });
        for (const workerName of restartSet(context, event.workerName)) {
          if (workerIsActive(self, workerName)) enqueue.sendTo(workerActorId(workerName), { type: "RESTART", delayMs: decision.delayMs });
        }
        return;
      }
      enqueue.assign({
        error: new JobFailedError(context.jobId, event.error, context.restarts, refusal(context.retry, decision), context.specName),
      });
      enqueue.sendTo(target, { type: "GIVE_UP" });
    }),
    /** `resuming`: the lost lease is a failure of every worker; a granted restart sets `resumeDelayMs`, a refused one the job's error. */
    superviseExpired: enqueueActions(({ context, enqueue, system }) => {
      const at = clockNow(system);
      const decision = decideRestart(context.restarts, context.retry, context.expired, at, `${context.jobId}:${context.restarts.length}`);
      if (decision.restart) {
        const lost = Math.max(1, ...context.workers.map((name) => lastAttempt(context, name)));
        const record: RestartRecord = { attempt: lost, at, delayMs: decision.delayMs, error: serializeError(context.expired) };
        enqueue.assign({ restarts: [...context.restarts, record].slice(-keptRecords(context.retry)), resumeDelayMs: decision.delayMs });
        return;
      }
      enqueue.assign({
        error: new JobFailedError(context.jobId, context.expired, context.restarts, refusal(context.retry, decision), context.specName),
      });
    }),
    recordFinished: assign({
      finished: ({ context, event }) => {
        if (!("output" in event)) return context.finished;
        const output = event.output as WorkerOutput;
        return { ...context.finished, [output.workerName]: output.outcome };
      },
    }),
    recordCrash: assign({
      error: ({ context, event }) => {
        if (context.error !== undefined) return context.error;
        const cause = "error" in event ? event.error : undefined;
        return new JobFailedError(context.jobId, cause, context.restarts, "failed", context.specName);
      },
      finished: ({ context, event }) => {
        const id = (event as { actorId?: string }).actorId ?? "";
        const name = context.workers.find((w) => workerActorId(w) === id);
        return name ? { ...context.finished, [name]: "crashed" as const } : context.finished;
      },
    }),
    stopWorkers: enqueueActions(({ context, enqueue, self }) => {
      for (const workerName of [...context.workers].reverse()) {
        if (!Object.hasOwn(context.finished, workerName) && workerIsActive(self, workerName)) {
          enqueue.sendTo(workerActorId(workerName), { type: "STOP" });
        }
      }
    }),
  },
}).createMachine({
  id: "job",
  context: ({ input }) => ({
    jobId: input.jobId,
    specName: input.specName,
    workers: input.workers,
    strategy: input.strategy ?? "one_for_one",
    downstream: input.downstream ?? {},
    retry: DEFAULT_RETRY,
    timeouts: {},
    workerTimeouts: {},
    withoutInit: [],
    restarts: [...(input.restarts ?? [])],
    attempts: input.attempts,
    expired: input.expired,
    resumeDelayMs: undefined,
    finished: {},
    error: undefined,
    cancelReason: undefined,
  }),
  initial: "queued",
  states: {
    queued: {
      on: {
        START: [
          { guard: "leaseExpired", target: "resuming", actions: "applyStart" },
          { target: "running", actions: "applyStart" },
        ],
        CANCEL: {
          target: "cancelled",
          actions: assign({ cancelReason: ({ event }) => event.reason }),
        },
      },
    },
    // The process that ran the job lost it (a job resumed after its lease expired): one restart of every
    // worker, or the job fails when the restart budget is spent. Eventless: never a snapshot of its own.
    resuming: {
      entry: "superviseExpired",
      always: [{ guard: "failing", target: "failed" }, { target: "running" }],
    },
    running: {
      entry: ["spawnWorkers", "startJobTimer"],
      exit: "cancelJobTimer",
      on: {
        "WORKER.FAILED": { actions: "supervise" },
        "JOB.TIMEOUT": {
          guard: "hasJobTimeout",
          target: "stopping",
          actions: [
            assign({
              error: ({ context }) =>
                new JobFailedError(
                  context.jobId,
                  new TimeoutError("job", context.timeouts.jobMs!),
                  context.restarts,
                  "timed out",
                  context.specName,
                ),
            }),
            "reportJobTimeout",
          ],
        },
        "xstate.done.actor.*": [
          {
            guard: "workerEndedEarly",
            target: "stopping",
            actions: ["recordFinished", "recordCrash"],
          },
          { actions: "recordFinished" },
        ],
        "xstate.error.actor.*": { target: "stopping", actions: "recordCrash" },
        CANCEL: {
          target: "stopping",
          actions: assign({ cancelReason: ({ event }) => event.reason }),
        },
      },
      always: { guard: "allFinished", target: "completed" },
    },
    stopping: {
      entry: "stopWorkers",
      on: {
        "xstate.done.actor.*": { actions: "recordFinished" },
        "xstate.error.actor.*": { actions: "recordCrash" },
        // A restart decision is moot while stopping; the worker gets STOP instead.
        "WORKER.FAILED": {
          actions: enqueueActions(({ event, enqueue }) => {
            if (event.type === "WORKER.FAILED") enqueue.sendTo(workerActorId(event.workerName), { type: "STOP" });
          }),
        },
      },
      always: [
        { guard: and(["allFinished", "failing"]), target: "failed" },
        { guard: and(["allFinished", "allDone"]), target: "completed" },
        { guard: "allFinished", target: "cancelled" },
      ],
    },
    completed: { type: "final" },
    failed: { type: "final" },
    cancelled: { type: "final" },
  },
});

/** The job machine's type. */
export type JobMachine = typeof jobMachine;
