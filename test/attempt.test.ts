import { describe, expect, it } from "vitest";
import { createActor, createMachine } from "xstate";
import { AttemptAbandonedError } from "../src/errors.js";
import { systemClock } from "../src/clock.js";
import { Attempt } from "../src/worker/Attempt.js";
import { fromAttempt, reportDone, reportFailed, type AttemptRun, type PhaseReport } from "../src/job/attemptActor.js";
import type { AttemptInput } from "../machines/worker.js";

const input: AttemptInput = { jobId: "j1", workerName: "chop", attempt: 1 };
/** These attempts have no node: they never log, and nothing abandons them but the test. */
const noOwner = { attemptLogger: () => ({ debug() {}, info() {}, warn() {}, error() {} }), abandonAttempt() {}, attemptProgress() {} };

/** A phase that settles like `done` (reported to its actor) and calls `abandon` when abandoned. */
function phase(done: Promise<unknown>, abandon: () => void): AttemptRun & { start(report: PhaseReport): AttemptRun } {
  return {
    abandonPhase: abandon,
    start(report) {
      done.then(
        () => reportDone(report),
        (error: unknown) => reportFailed(report, error),
      );
      return this;
    },
  };
}

describe("Attempt: its signal is made on first read", () => {
  it("a signal read before the attempt is abandoned aborts then, with AttemptAbandonedError", () => {
    const attempt = new Attempt("chop", 1, systemClock, undefined, noOwner);
    const signal = attempt.signal;
    expect(signal.aborted).toBe(false);
    attempt.abandon();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(AttemptAbandonedError);
    expect(() => attempt.assertLive()).toThrow(AttemptAbandonedError);
  });

  it("a signal first read after the attempt was abandoned is already aborted, with the same reason", () => {
    const attempt = new Attempt("chop", 2, systemClock, undefined, noOwner);
    attempt.abandon();
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.signal.reason).toBe(attempt.cancelReason);
    expect((attempt.cancelReason as AttemptAbandonedError).attempt).toBe(2);
  });

  it("stream waits registered with onCancel wake once, on abandon (or at once when already abandoned)", () => {
    const attempt = new Attempt("chop", 1, systemClock, undefined, noOwner);
    const woken: string[] = [];
    attempt.onCancel(() => woken.push("first"));
    attempt.abandon();
    attempt.abandon();
    attempt.onCancel(() => woken.push("late"));
    expect(woken).toEqual(["first", "late"]);
  });
});

describe("fromAttempt: an attempt phase as an XState actor", () => {
  const machineWith = (run: (input: AttemptInput, report: PhaseReport) => AttemptRun) =>
    createMachine({
      initial: "running",
      states: {
        running: {
          invoke: { src: fromAttempt(run), input, onDone: "done", onError: "failed" },
          on: { STOP: "stopped" },
        },
        done: { type: "final" },
        failed: { type: "final" },
        stopped: { type: "final" },
      },
    });

  it("settles like the run: done on resolve, error on reject (with the error)", async () => {
    const done = createActor(machineWith((_, report) => phase(Promise.resolve(), () => {}).start(report))).start();
    const failure = new Error("init broke");
    let seen: unknown;
    const failed = createActor(
      createMachine({
        initial: "running",
        states: {
          running: {
            invoke: {
              src: fromAttempt((_, report) => phase(Promise.reject(failure), () => {}).start(report)),
              input,
              onError: { target: "failed", actions: ({ event }) => (seen = event.error) },
            },
          },
          failed: { type: "final" },
        },
      }),
    ).start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(done.getSnapshot().value).toBe("done");
    expect(failed.getSnapshot().value).toBe("failed");
    expect(seen).toBe(failure);
  });

  it("leaving the state while the run is pending abandons it; a settled run is not abandoned", async () => {
    const abandoned: number[] = [];
    let attempt = 0;
    const pending = createActor(
      machineWith((_, report) => {
        const n = ++attempt;
        return phase(new Promise(() => {}), () => abandoned.push(n)).start(report);
      }),
    ).start();
    pending.send({ type: "STOP" });
    expect(pending.getSnapshot().value).toBe("stopped");
    expect(abandoned).toEqual([1]);

    const settled = createActor(machineWith((_, report) => phase(Promise.resolve(), () => abandoned.push(99)).start(report))).start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settled.getSnapshot().value).toBe("done");
    expect(abandoned).toEqual([1]);
  });

  it("a runner that throws at once fails the phase", () => {
    const actor = createActor(
      machineWith(() => {
        throw new Error("no runtime");
      }),
    ).start();
    expect(actor.getSnapshot().value).toBe("failed");
  });
});

describe("an init that fails", () => {
  it("has its signal aborted, so work it left behind stops; the next attempt gets a live one", async () => {
    const { LiveEnv, JobSpec } = await import("../src/index.js");
    const { z } = await import("zod");
    const env = LiveEnv.create({ projectId: "init-signal", logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const spec = JobSpec.define({ name: "oven", input: z.number(), output: z.number() });
    const signals: AbortSignal[] = [];
    spec.defineWorker({
      liveEnv: env,
      retry: { maxRestarts: 1, backoff: { initialMs: 1, jitter: 0 } },
      init: async ({ attempt, signal }) => {
        signals.push(signal);
        if (attempt === 1) throw new Error("cold oven");
        return { heat: 2 };
      },
      processor: async ({ input, output, resources }) => {
        for await (const n of input) await output.emit(n * resources.heat);
      },
    });
    const { data } = await spec.enqueueAndGetResult({ liveEnv: env, input: 21 });
    expect(data).toBe(42);
    expect(signals).toHaveLength(2);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(AttemptAbandonedError);
    expect(signals[1]!.aborted).toBe(false);
    await env.close();
  });
});
