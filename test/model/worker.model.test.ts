/**
 * Model-based test of the worker lifecycle: machines/worker against the real runtime.
 *
 * Why traverse the real machine instead of an abstract model: `createTestModel`
 * refuses machines with `invoke`/`after`, and the worker is made of both. So
 * `workerModel()` (src/testing/workerPaths.ts) walks the REAL `workerMachine`
 * with `getAdjacencyMap` / `getShortestPaths`, supplying the events its
 * environment sends: the attempt actors' `xstate.done.actor.<invokeId>` /
 * `xstate.error.actor.<invokeId>` (ids read from the machine, e.g.
 * `0.worker.initializing`), the `xstate.after.<delay>.<state>` events of its
 * delays, and the supervisor's RESTART / GIVE_UP / STOP. Paths: the shortest
 * path to every state, one path per transition (shortest path to its source
 * plus the transition), and recovery journeys (each way into `error`, then
 * restart and run to completion, or spend the budget).
 *
 * Each path is REPLAYED on a real LiveEnv with a SimulatedClock: its events
 * become a fault script (init rejects or hangs, processor throws, stalls past
 * its heartbeat or hangs, cancel, clock advances for timeouts and backoff, and
 * RESTART / GIVE_UP chosen through `retry.maxRestarts`), and the `worker.state`
 * lifecycle events must equal the path's states. The paths that restart a
 * HEALTHY worker (`ONLY_IN_A_FLOW`: `initializing` / `executing` --RESTART-->
 * `recovering`) cannot happen in a spec job: they are replayed through a
 * two-node flow (./workerFlowReplay.ts), under `one_for_all` and `rest_for_one`,
 * where a failing sibling gets the observed worker restarted. Deriving paths from the machine
 * alone would let a broken machine pass against itself (the runtime runs the
 * same machine), so each step is also checked against DESIGN.md's lifecycle
 * contract below: that is what catches `recovering → executing`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec } from "../../src/index.js";
import {
  ONLY_IN_A_FLOW,
  replay,
  UNREACHABLE_FROM_RUNTIME,
  UNREACHABLE_IN_SINGLE_WORKER_JOB,
  workerModel,
  transitionKey,
} from "../../src/testing/index.js";
import { replayInFlow, restartsHealthyWorker } from "./workerFlowReplay.js";

/** DESIGN.md "Machines": the worker transitions the contract allows. */
const CONTRACT = new Set([
  "initializing --init resolves--> executing",
  "initializing --init rejects--> error",
  "initializing --init timed out--> error",
  "initializing --cancel--> stopping",
  // A healthy worker restarted with a failing sibling stops its attempt first (restarting).
  "initializing --restart granted--> restarting",
  "executing --processor returns--> done",
  "executing --processor fails--> error",
  "executing --cancel--> stopping",
  "executing --restart granted--> restarting",
  "restarting --abandoned attempt settles--> recovering",
  "restarting --abandoned attempt rejects--> recovering",
  "restarting --stop grace elapsed--> recovering",
  "restarting --cancel--> stopping",
  "error --restart granted--> recovering",
  "error --restart budget spent--> crashed",
  "error --cancel--> stopped",
  "recovering --backoff elapsed--> initializing",
  // A worker without init: each attempt starts in executing.
  "recovering --backoff elapsed--> executing",
  "recovering --cancel--> stopped",
  "stopping --abandoned attempt settles--> stopped",
  "stopping --abandoned attempt rejects--> stopped",
  "stopping --stop grace elapsed--> stopped",
]);

const full = workerModel();
const model = workerModel(new Set(UNREACHABLE_IN_SINGLE_WORKER_JOB.keys()));
/** The same machine for a worker without init (`hasInit: false`): attempts start in executing. */
const fullWithoutInit = workerModel(new Set(), { hasInit: false });
const modelWithoutInit = workerModel(new Set(UNREACHABLE_IN_SINGLE_WORKER_JOB.keys()), { hasInit: false });
/** Every transition of both models. */
const allTransitions = [...new Set([...full.transitions, ...fullWithoutInit.transitions])];
const allStates = [...new Set([...full.states, ...fullWithoutInit.states])];
/** Paths that restart a healthy worker with its failing sibling: replayed through a two-node flow (./workerFlowReplay.ts). */
const flowPaths = workerModel(new Set(UNREACHABLE_FROM_RUNTIME.keys())).paths.filter(restartsHealthyWorker);
const FLOW_STRATEGIES = ["one_for_all", "rest_for_one"] as const;
const echo = JobSpec.define({ name: "echo", input: z.object({ n: z.number() }), output: z.object({ n: z.number() }) });
const sampleInput = [{ n: 1 }, { n: 2 }, { n: 3 }];
const worker = {
  processor: async ({ input, output }: any) => {
    for await (const message of input) await output.emit(message);
  },
};

const replayed = new Set<string>();
const visited = new Set<string>();
const variants = [...model.paths, ...modelWithoutInit.paths].flatMap((path) => [
  { path, stall: false },
  ...(path.steps.some((step) => step.kind === "processor fails") ? [{ path, stall: true }] : []),
]);

describe("worker model: machines/worker replayed on the real runtime", () => {
  it("every transition of the machine, with or without init, is in the design contract", () => {
    expect(modelWithoutInit.initial).toBe("executing");
    expect(fullWithoutInit.states).not.toContain("initializing");
    const outside = allTransitions.filter((key) => !CONTRACT.has(key));
    const explained = outside.map((key) => {
      const path = [...full.paths, ...fullWithoutInit.paths].find((p) => p.steps.some((step) => transitionKey(step) === key));
      return `${key} (not in DESIGN.md's lifecycle)\n    Path: ${path?.description ?? "(none)"}`;
    });
    expect(explained, explained.join("\n")).toEqual([]);
  });

  it("the transitions left out of replay, or replayed only in a flow, exist in the machine", () => {
    for (const key of [...UNREACHABLE_FROM_RUNTIME.keys(), ...ONLY_IN_A_FLOW.keys()]) expect(full.transitions).toContain(key);
    // Every flow-only transition has a path to replay through a flow.
    for (const key of ONLY_IN_A_FLOW.keys()) expect(flowPaths.flatMap((p) => p.steps.map(transitionKey))).toContain(key);
  });

  for (const { path, stall } of variants) {
    it(`${path.description}${stall ? " (failing by stall)" : ""}`, async () => {
      const outOfContract = path.steps.filter((step) => !CONTRACT.has(transitionKey(step)));
      expect(
        outOfContract.map(transitionKey),
        `Path: ${path.description}\n  leaves the design contract at: ${outOfContract.map(transitionKey).join(", ")}`,
      ).toEqual([]);
      await replay(echo, worker, { sampleInput }, path, stall);
      for (const state of path.states) visited.add(state);
      for (const step of path.steps) replayed.add(transitionKey(step));
    });
  }

  for (const path of flowPaths) {
    for (const strategy of FLOW_STRATEGIES) {
      it(`${path.description} (in a flow, ${strategy}, restarted with its failing sibling)`, async () => {
        const outOfContract = path.steps.filter((step) => !CONTRACT.has(transitionKey(step)));
        expect(outOfContract.map(transitionKey), `Path: ${path.description}\n  leaves the design contract`).toEqual([]);
        await replayInFlow(path, strategy);
        for (const state of path.states) visited.add(state);
        for (const step of path.steps) replayed.add(transitionKey(step));
      });
    }
  }

  it("the flow replay fails, naming the path, when the sibling's failure leaves the healthy worker alone (one_for_one)", async () => {
    for (const from of ["initializing", "executing"]) {
      const path = flowPaths.find((p) => p.steps.length === (from === "initializing" ? 1 : 2) && p.steps.at(-1)!.from === from)!;
      await expect(replayInFlow(path, "one_for_one")).rejects.toThrow(
        new RegExp(`Path: ${path.description.replace(/[[\]]/g, "\\$&")} \\(one_for_one\\)\n.*the runtime went to nothing: it stayed in ${from}`),
      );
    }
  });

  it("the replay fails, naming the path, when a processor swallows its failure", async () => {
    const swallower = {
      processor: async ({ input, output }: any) => {
        try {
          for await (const message of input) await output.emit(message);
        } catch {
          // a worker bug: the failure never reaches the supervisor
        }
      },
    };
    const path = model.paths.find((p) => p.states.join() === "initializing,executing,error")!;
    await expect(replay(echo, swallower, { sampleInput }, path, false)).rejects.toThrow(
      /Path: initializing →\[init resolves\]→ executing →\[processor fails\]→ error\n.*the runtime went to done/,
    );
  });

  afterAll(() => {
    const reachable = allTransitions.filter((key) => !UNREACHABLE_FROM_RUNTIME.has(key));
    const rows = [
      ["states reached by replay", visited.size, allStates.length],
      ["transitions of the machine", allTransitions.length, allTransitions.length],
      ["  unreachable in any job", UNREACHABLE_FROM_RUNTIME.size, allTransitions.length],
      ["  reachable, replayed", reachable.filter((key) => replayed.has(key)).length, reachable.length],
    ] as const;
    console.log(
      "worker model coverage\n" +
        rows.map(([name, n, of]) => `  ${name.padEnd(30)} ${String(n).padStart(3)} / ${String(of).padEnd(3)} ${((100 * n) / of).toFixed(0)}%`).join("\n") +
        "\n  left out: " + [...UNREACHABLE_FROM_RUNTIME].map(([key, why]) => `\n    ${key}: ${why}`).join(""),
    );
    const missing = reachable.filter((key) => !replayed.has(key));
    expect(missing, `reachable transitions never replayed: ${missing.join(", ")}`).toEqual([]);
    expect(visited.size).toBe(allStates.length);
  });
});
