/**
 * Model-based test of the job supervisor: machines/job against the real runtime.
 *
 * Why traverse the real machine instead of an abstract model: `createTestModel`
 * refuses machines with `invoke`/`after`, and the job machine has a delay
 * (`JOB.TIMEOUT`) and spawns workers. So `jobModel()` (./jobModel.ts) walks the
 * REAL `jobMachine` with `xstate/graph` (`getAdjacencyMap`, `getShortestPaths`),
 * supplying the events its environment sends: START / CANCEL, the workers'
 * `WORKER.FAILED`, the `xstate.done.actor.<id>` / `xstate.error.actor.<id>` of
 * its spawned children (ids from `workerActorId`), and the
 * delayed `JOB.TIMEOUT` event. It does so for a spec job (one
 * worker) and a flow job (two workers): some transitions exist only with
 * several workers (a worker done while its sibling runs, a crash that must
 * drain a sibling). States are told apart by value plus what decides the next
 * steps (finished workers, restarts, why it fails); steps are macrosteps, so
 * `stopping` left at once by an eventless transition is not a state of the path.
 *
 * Each path is REPLAYED on a real LiveEnv (SimulatedClock, `inspect` option):
 * scripted processors return or throw on command, a concurrency-1 blocker job
 * (spec jobs) or a missing worker def (flows) holds the job queued, the clock is
 * advanced past `timeouts.jobMs`, and a cancel is sent from the inspector right
 * after the previous step (or as a worker's report is dispatched, for the
 * transitions only that race reaches). The job root's `@xstate.snapshot` events
 * (`job.status` maps `stopping` to `running`, so it cannot tell) must equal the
 * path step by step. Flow paths run under each supervision strategy. The runtime
 * runs the same machine, so a broken machine would pass against itself: each
 * transition is also checked against DESIGN.md's contract below, and every final
 * state must come with every worker finished ("stopping drains workers").
 */
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { InspectionEvent } from "xstate";
import type { JobContext, SupervisionStrategy } from "../../machines/job.js";
import { JobSpec, Liveflow, conn, expose, type LifecycleEvent, type LiveJob } from "../../src/index.js";
import { createTestEnv, flush } from "../../src/testing/index.js";
import { classify, jobModel, transitionKey, UNREACHABLE_FROM_RUNTIME, type JobPath, type JobPathStep, type JobState } from "./jobModel.js";

/** DESIGN.md "Machines": `queued → running → completed | failed | cancelled`; `stopping` drains workers. */
const CONTRACT = new Set([
  "queued --start--> running",
  "queued --cancel--> cancelled",
  "running --worker fails, restart granted--> running",
  "running --worker fails, budget spent--> running",
  "running --worker fails, stopped instead--> running",
  "running --worker done--> running",
  "running --worker done--> completed",
  ...["crashed", "stopped", "actor errors"].flatMap((how) => [`running --worker ${how}--> stopping`, `running --worker ${how}--> failed`]),
  "running --cancel--> stopping",
  "running --job timeout--> stopping",
  "stopping --worker fails, stopped instead--> stopping",
  ...["done", "crashed", "stopped", "actor errors"].flatMap((how) => [`stopping --worker ${how}--> stopping`, `stopping --worker ${how}--> failed`]),
  "stopping --worker done--> completed",
  ...["done", "crashed", "stopped"].map((how) => `stopping --worker ${how}--> cancelled`),
]);
const FINAL: readonly JobState[] = ["completed", "failed", "cancelled"];
const FINAL_WORKER = new Set(["done", "crashed", "stopped"]);
const JOB_MS = 60_000;
const WAIT_MS = 5_000;

const model = jobModel(new Set(UNREACHABLE_FROM_RUNTIME.keys()));
const reachable = new Set(model.transitions);
const replayed = new Set<string>();
const visited = new Set<JobState>();

type Command = "return" | "throw";
/** Hands commands to a worker's attempts: the current attempt takes the next one; an aborted attempt takes none. */
class Controller {
  private queue: Command[] = [];
  private waiter: ((command: Command) => void) | undefined;
  give(command: Command): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(command);
    } else this.queue.push(command);
  }
  take(signal: AbortSignal): Promise<Command> {
    const next = this.queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiter = undefined;
        reject(signal.reason ?? new Error("aborted"));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiter = (command) => {
        signal.removeEventListener("abort", onAbort);
        resolve(command);
      };
    });
  }
}

function within<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), WAIT_MS)));
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

let counter = 0;
const label = (path: JobPath, step: JobPathStep) => (step.worker && path.workers.length > 1 ? `${step.worker}: ${step.kind}` : step.kind);

/** Replays `path` on a real env; throws a readable error when the runtime leaves it. */
async function replay(path: JobPath, strategy: SupervisionStrategy): Promise<void> {
  const n = ++counter;
  const flow = path.workers.length > 1;
  const maxRestarts = path.steps.filter((s) => s.kind === "worker fails, restart granted").length;
  const hasTimeout = path.steps.some((s) => s.kind === "job timeout");
  const controllers = new Map<string, Controller>();
  const controller = (jobId: string, worker: string) => {
    const key = `${jobId}/${worker}`;
    if (!controllers.has(key)) controllers.set(key, new Controller());
    return controllers.get(key)!;
  };
  const jobId = `path-${n}`;
  const rootId = flow ? `job:flow-${n}/${jobId}` : `job:solo-${n}/${jobId}`;
  const observed: Array<{ kind: string; state: JobState }> = [];
  const problems: string[] = [];
  let previous: JobContext | undefined;
  let onStep: (() => void) | undefined;
  let raceCancel: ((event: { type: string; output?: { outcome?: string } }) => boolean) | undefined;
  let job: LiveJob<any, any> | undefined;

  const inspect = (event: InspectionEvent) => {
    if ((event.actorRef as { id?: string }).id !== rootId) return;
    if (event.type === "@xstate.event" && raceCancel?.(event.event as never)) {
      raceCancel = undefined;
      job!.cancel("cancel racing a worker's report");
    }
    if (event.type !== "@xstate.snapshot") return;
    const snapshot = event.snapshot as unknown as { value: JobState; context: JobContext };
    if (previous === undefined) {
      observed.push({ kind: "init", state: snapshot.value });
    } else {
      observed.push({ kind: classify(event.event.type, event.event, previous, snapshot.context), state: snapshot.value });
    }
    previous = snapshot.context;
    onStep?.();
  };
  const t = createTestEnv({ inspect });
  const workerStates = new Map<string, string>();
  t.env.subscribe((event: LifecycleEvent) => {
    if (event.jobId !== jobId) return;
    if (event.type === "worker.state") workerStates.set(event.workerName, event.state);
    // Backoffs elapse as soon as they are scheduled (after the transition that set the timer).
    if (event.type === "worker.restart") setImmediate(() => t.clock.increment(event.delayMs));
  });
  const processorFor = (worker: string) => async ({ jobId: id, signal }: { jobId: string; signal: AbortSignal }) => {
    if ((await controller(id, worker).take(signal)) === "throw") throw new Error(`scripted failure of ${worker}`);
  };
  const retry = { maxRestarts, withinMs: 2 ** 31 - 1, backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 0 } };
  let start: () => void;
  let names: string[];
  if (flow) {
    const up = JobSpec.define({ name: `up-${n}`, input: z.number(), output: z.number() });
    const down = JobSpec.define({ name: `down-${n}`, input: z.number(), output: z.number() });
    names = [up.name, down.name];
    up.defineWorker({ liveEnv: t.env, processor: processorFor(up.name) as never });
    const definition = Liveflow.define({
      name: `flow-${n}`,
      connections: [conn({ from: up, to: down })],
      exposures: [expose(up.input.default, "in"), expose(down.output.default, "out")],
      supervision: { strategy, ...retry },
      ...(hasTimeout ? { timeouts: { jobMs: JOB_MS } } : {}),
    });
    job = await definition.enqueueJob({ liveEnv: t.env, jobId });
    // The flow waits for its last worker def: defining it starts the job.
    start = () => down.defineWorker({ liveEnv: t.env, processor: processorFor(down.name) as never });
  } else {
    const solo = JobSpec.define({ name: `solo-${n}`, input: z.number(), output: z.number() });
    names = [solo.name];
    solo.defineWorker({
      liveEnv: t.env,
      concurrency: 1,
      processor: processorFor(solo.name) as never,
      retry,
      ...(hasTimeout ? { timeouts: { jobMs: JOB_MS } } : {}),
    });
    // A concurrency-1 blocker holds the job queued; its end starts the job.
    const blocker = await solo.enqueueJob({ liveEnv: t.env, jobId: `blocker-${n}` });
    job = await solo.enqueueJob({ liveEnv: t.env, jobId });
    start = () => controller(blocker.jobId, solo.name).give("return");
  }
  // Model worker names (`solo`, `up`, `down`) → this run's.
  const realName = (model?: string) => names[model === "down" ? 1 : 0]!;
  const running = job;
  const finished = running.waitUntilFinish().then(
    () => undefined,
    (error: unknown) => error,
  );

  /** Performs path step `i`: at once for a cancel (so it lands before any consequence), else after the current step. */
  const perform = (i: number) => {
    const step = path.steps[i];
    if (!step) return;
    const next = path.steps[i + 1];
    switch (step.kind) {
      case "start":
        break; // done up front: the supervisor exists only once the queue hands the job out, and starts at once
      case "cancel":
        if (next?.from === "stopping" && (next.kind === "worker fails, stopped instead" || next.kind === "worker done")) {
          // Only a cancel that races the worker's report gets the report to a stopping job.
          const type = next.kind === "worker done" ? "xstate.done.actor." : "WORKER.FAILED";
          raceCancel = (event) => event.type.startsWith(type) && (type === "WORKER.FAILED" || event.output?.outcome === "done");
          controller(jobId, realName(next.worker)).give(next.kind === "worker done" ? "return" : "throw");
        } else running.cancel("cancelled by the model path");
        break;
      case "job timeout":
        setImmediate(() => t.clock.increment(JOB_MS));
        break;
      case "worker fails, restart granted":
      case "worker fails, budget spent":
        controller(jobId, realName(step.worker)).give("throw");
        break;
      case "worker done":
        if (step.from !== "stopping") controller(jobId, realName(step.worker)).give("return");
        break;
      default:
        break; // crashed, stopped: consequences of an earlier step
    }
  };
  const describeObserved = () => observed.map((o, i) => (i === 0 ? o.state : `→[${o.kind}]→ ${o.state}`)).join(" ");
  const mismatchAt = (): string | undefined => {
    for (let i = 1; i < Math.min(observed.length, path.steps.length + 1); i++) {
      const step = path.steps[i - 1]!;
      if (observed[i]!.kind !== step.kind || observed[i]!.state !== step.state) {
        return `after ${observed[i - 1]!.state} the model takes [${label(path, step)}]→ ${step.state}, the runtime took [${observed[i]!.kind}]→ ${observed[i]!.state}`;
      }
    }
    return undefined;
  };
  const pathDone = new Promise<void>((resolve) => {
    const check = () => {
      if (mismatchAt() !== undefined || observed.length > path.steps.length) resolve();
    };
    onStep = () => {
      // The step just observed is step `observed.length - 1`; perform the next one.
      if (mismatchAt() === undefined) perform(observed.length - 1);
      check();
      if (observed.length === path.steps.length + 1) resolve();
    };
    if (observed.length > 0) onStep();
  });

  try {
    // The job's supervisor is made when the queue hands the job out (its first snapshot, `queued`, then START at once).
    setImmediate(start);
    await within(pathDone, () => `Path: ${path.description}\n  the runtime stopped at: ${describeObserved()}`);
    const mismatch = mismatchAt();
    if (mismatch) throw new Error(`Path: ${path.description} (${strategy})\n  ${mismatch}\n  observed: ${describeObserved()}`);
    const last = path.states.at(-1)!;
    if (!FINAL.includes(last)) running.cancel("end of the model path");
    await within(finished, () => `Path: ${path.description}\n  the job never finished (observed: ${describeObserved()})`);
    await flush();
    if (FINAL.includes(last)) {
      if (observed.length !== path.states.length) problems.push(`the job went on after the path's final state: ${describeObserved()}`);
      if (running.status !== last) problems.push(`the job's status is ${running.status}; the path ends ${last}`);
    }
    // A job cancelled while queued never started its workers.
    const started = observed.some((o) => o.kind === "start");
    const unfinished = started ? names.filter((name) => !FINAL_WORKER.has(workerStates.get(name) ?? "")) : [];
    if (unfinished.length > 0) {
      problems.push(`the job ended ${running.status} while workers were not finished: ${unfinished.map((w) => `${w} (${workerStates.get(w)})`).join(", ")}`);
    }
    if (problems.length > 0) throw new Error(`Path: ${path.description} (${strategy})\n  ${problems.join("\n  ")}\n  observed: ${describeObserved()}`);
  } finally {
    for (const c of controllers.values()) c.give("return");
    await t.close();
  }
}

describe("job model: machines/job replayed on the real runtime", () => {
  it("every transition of the machine is in the design contract", () => {
    const outside = model.machine.filter((key) => !CONTRACT.has(key));
    expect(outside, `transitions outside DESIGN.md's job lifecycle:\n  ${outside.join("\n  ")}`).toEqual([]);
  });

  it("a job is final only when every worker finished (stopping drains workers)", () => {
    const early = model.endsWithWorkersRunning.map((path) => `Path: ${path.description}\n    ends ${path.states.at(-1)} with a worker still running`);
    expect(early, early.join("\n")).toEqual([]);
  });

  it("every transition left out of replay is a transition of the machine, with its reason", () => {
    for (const key of UNREACHABLE_FROM_RUNTIME.keys()) expect(model.machine).toContain(key);
    const unexplained = model.machine.filter((key) => !reachable.has(key) && !UNREACHABLE_FROM_RUNTIME.has(key));
    expect(unexplained, `machine transitions neither replayed nor explained: ${unexplained.join(", ")}`).toEqual([]);
  });

  const variants = model.paths.flatMap((path) =>
    path.workers.length > 1
      ? (["one_for_one", "one_for_all", "rest_for_one"] as const).map((strategy) => ({ path, strategy }))
      : [{ path, strategy: "one_for_one" as const }],
  );
  for (const { path, strategy } of variants) {
    it(`${path.description}${path.workers.length > 1 ? ` (${strategy})` : ""}`, async () => {
      await replay(path, strategy);
      for (const state of path.states) visited.add(state);
      for (const step of path.steps) replayed.add(transitionKey(step));
    });
  }

  it("the replay fails, naming the path, when the runtime leaves it", async () => {
    const path = model.paths.find((p) => p.states.join() === "queued,running,completed")!;
    const wrong: JobPath = { ...path, steps: path.steps.map((s) => (s.kind === "worker done" ? { ...s, state: "failed" } : s)) };
    await expect(replay(wrong, "one_for_one")).rejects.toThrow(
      /Path: .*\n {2}after running the model takes \[worker done\]→ failed, the runtime took \[worker done\]→ completed/,
    );
  });

  afterAll(() => {
    const rows = [
      ["states reached by replay", visited.size, 6],
      ["transitions of the machine", model.machine.length, model.machine.length],
      ["  unreachable from the runtime", UNREACHABLE_FROM_RUNTIME.size, model.machine.length],
      ["  reachable, replayed", [...reachable].filter((key) => replayed.has(key)).length, reachable.size],
    ] as const;
    console.log(
      "job model coverage\n" +
        rows.map(([name, count, of]) => `  ${name.padEnd(32)} ${String(count).padStart(3)} / ${String(of).padEnd(3)} ${((100 * count) / of).toFixed(0)}%`).join("\n") +
        "\n  left out: " + [...UNREACHABLE_FROM_RUNTIME].map(([key, why]) => `\n    ${key}: ${why}`).join(""),
    );
    const missing = [...reachable].filter((key) => !replayed.has(key));
    expect(missing, `reachable transitions never replayed: ${missing.join(", ")}`).toEqual([]);
    expect(visited.size).toBe(6);
  });
});
