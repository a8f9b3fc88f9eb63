/**
 * A flow job is rebuilt from its record alone: the record names the flow,
 * and an env that has the workers runs it even if it never enqueued that
 * flow, as a worker process would run jobs another process added. The job is
 * added here straight to the env's backend, the way another process's client
 * would add it, and fed and read through the backend's streams.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, JobSpec, LiveEnv, Liveflow, conn, expose, type Backend, type JobRecord, type JobTicket } from "../src/index.js";
import { suiteBackend } from "./helpers/backends.js";
import { readAll } from "./helpers/backendProbes.js";

const envs: LiveEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((env) => env.close()));
});

let counter = 0;
const uniq = (name: string) => `${name}-${++counter}`;

/** A worker-only env on a backend the test holds, with workers for `specs`. */
type NumberSpec = ReturnType<typeof twoStage>["first"];

function workerEnv(specs: NumberSpec[], transform: (n: number) => number = (n) => n + 1): { env: LiveEnv; backend: Backend } {
  const backend = suiteBackend().create();
  const env = LiveEnv.create({ projectId: uniq("workers"), backend });
  envs.push(env);
  for (const spec of specs) {
    spec.defineWorker({
      liveEnv: env,
      processor: async ({ input, output }) => {
        for await (const n of input as AsyncIterable<number>) await output.emit(transform(n));
      },
    });
  }
  return { env, backend };
}

function twoStage() {
  const first = JobSpec.define({ name: uniq("first"), input: z.number(), output: z.number() });
  const second = JobSpec.define({ name: uniq("second"), input: z.number(), output: z.number() });
  return { first, second };
}

function flowOf(name: string, first: NumberSpec, second: NumberSpec): Liveflow {
  return Liveflow.define({
    name,
    connections: [conn({ from: first, to: second })],
    exposures: [expose(first.input.default, "in"), expose(second.output.default, "out")],
  });
}

/** Adds a flow job straight to `backend` as another process's client would: announced with its `queued` event. */
function addFlowJob(backend: Backend, flowName: string, jobId: string): Promise<JobTicket> {
  const record: JobRecord = { jobId, kind: "flow", name: flowName, jobOptions: {}, enqueuedAt: 0 };
  return backend.jobs.add(`flow/${flowName}`, record, () => backend.events.publish({ type: "job.status", jobId, specName: flowName, at: 0, status: "queued" }));
}

/** Adds a flow job as another process's client would, feeds `inputs`, ends the input, and returns the outcome and the output. */
async function runAsAnotherProcess(backend: Backend, flowName: string, nodes: { in: string; out: string }, inputs: number[]) {
  const jobId = uniq("job");
  // Opened before the job is added, as a client opens its handle's streams: a job that ends at once still ends these.
  const input = backend.streams.open({ jobId, node: nodes.in, tag: "default", role: "input", specName: nodes.in }, { highWaterMark: 1024, historyLimit: 0 });
  const output = backend.streams.open({ jobId, node: nodes.out, tag: "default", role: "output", specName: nodes.out }, { highWaterMark: 1024, historyLimit: 1024 });
  const reader = output.reader();
  const ticket = await addFlowJob(backend, flowName, jobId);
  // A job that fails at once may have closed its input by now: its outcome says why, not the refused feed.
  const fed = (async () => {
    for (const n of inputs) await input.append(n);
    input.end("the client terminated its input");
  })().catch(() => {});
  const read = readAll(reader).catch((error: unknown) => error);
  const outcome = await ticket.outcome;
  await fed;
  return { outcome, output: await read };
}

describe("flows found by name", () => {
  it("an env that never enqueued a flow runs a job of it that another process added, with the workers it has", async () => {
    const { first, second } = twoStage();
    const flowName = uniq("pipeline");
    flowOf(flowName, first, second);
    const { backend } = workerEnv([first, second]);
    const { outcome, output } = await runAsAnotherProcess(backend, flowName, { in: first.name, out: second.name }, [1, 2, 3]);
    expect(outcome.status).toBe("completed");
    expect(output).toEqual([3, 4, 5]);
  });

  it("a flow defined after the workers is served from then on", async () => {
    const { first, second } = twoStage();
    const { backend } = workerEnv([first, second]);
    const flowName = uniq("late");
    flowOf(flowName, first, second);
    const { outcome, output } = await runAsAnotherProcess(backend, flowName, { in: first.name, out: second.name }, [10]);
    expect(outcome.status).toBe("completed");
    expect(output).toEqual([12]);
  });

  it("two different flows of one name, both runnable here, fail the job with a ConfigurationError that says so", async () => {
    const { first, second } = twoStage();
    const flowName = uniq("twin");
    flowOf(flowName, first, second);
    flowOf(flowName, second, first);
    const { backend } = workerEnv([first, second]);
    const { outcome } = await runAsAnotherProcess(backend, flowName, { in: first.name, out: second.name }, [1]);
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toBeInstanceOf(ConfigurationError);
    expect(String((outcome.error as Error).message)).toMatch(/2 different flows named ".*" are defined in this process.*give them different names/);
  });

  it("an env lacking a worker for one of the flow's specs never takes its jobs", async () => {
    const { first, second } = twoStage();
    const flowName = uniq("partial");
    flowOf(flowName, first, second);
    const { backend } = workerEnv([first]);
    const ticket = await addFlowJob(backend, flowName, uniq("job"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ticket.status).toBe("queued");
  });

  it("a job of a flow whose spec has another object's worker here (same name, other schemas) is not taken", async () => {
    const { first, second } = twoStage();
    const impostor = JobSpec.define({ name: second.name, input: z.string(), output: z.string() });
    const flowName = uniq("impostor");
    flowOf(flowName, first, second);
    const { backend } = workerEnv([first]);
    impostor.defineWorker({ liveEnv: envs.at(-1)!, processor: async () => {} });
    const ticket = await addFlowJob(backend, flowName, uniq("job"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ticket.status).toBe("queued");
  });
});
