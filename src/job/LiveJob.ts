import { ConfigurationError, UnknownTagError, ValidationError, describeError } from "../errors.js";
import { rejectOnThrow } from "../thenable.js";
import type { JobJournal, JobStates, JobStream, JobTicket } from "../backend/Backend.js";
import type { JobStatus, LifecycleListener } from "../backend/events.js";
import type { InputWriter, JobInput, JobOutput, OutputReader } from "../spec/types.js";
import { StreamWriter } from "../stream/StreamWriter.js";
import type { JobClient } from "./JobClient.js";
import { planShape, type JobPlan, type PlanPort } from "./JobPlan.js";
import { OutputIterator } from "./OutputIterator.js";
import { PortMap, tagsOf } from "./PortMap.js";

/**
 * The handle of one job: feed its input, read its output, wait for it,
 * cancel it. A client of the backend: it works wherever the job runs.
 *
 * @example
 * const job = await chop.enqueueJob({ jobOptions: { size: "fine" } });
 * await job.input.feed({ veg: "leek" });
 * await job.input.terminate();
 * for await (const { data } of job.output) console.log(data);
 */
export class LiveJob<I = any, O = any, S = unknown> {
  /** Exposed inputs and outputs: alias (a plain job's tag) → stream, opened with the handle. */
  private readonly inputs: PortMap<JobStream>;
  private readonly outputs: PortMap<JobStream>;
  // Built on first use: a job driven by enqueueAndGetResult, or never read, needs none of these.
  private inputHandle: JobInput<I> | undefined;
  private outputHandle: JobOutput<O> | undefined;
  private writers: Map<string, StreamWriter> | undefined;
  private settled: Promise<void> | undefined;

  // Private: users get handles from enqueueJob, never build one (the declarations keep it private).
  private constructor(
    private readonly client: JobClient,
    /** @internal */
    readonly plan: JobPlan,
    private readonly ticket: JobTicket,
    private readonly journal: JobJournal,
    ports: JobPorts,
  ) {
    this.inputs = ports.inputs;
    this.outputs = ports.outputs;
    this.states = ports.states;
  }

  /** Where the states its stateful workers committed are read. */
  private readonly states: JobStates;

  /** @internal Opens the streams a job's handle exposes: before the job is added, so a job that ends first still has them. */
  static openPorts(client: JobClient, plan: JobPlan, jobId: string): JobPorts {
    return { inputs: openPorts(client, plan, jobId, "input"), outputs: openPorts(client, plan, jobId, "output"), states: client.states(jobId) };
  }

  /** @internal The handle of a job, over the ports `openPorts` opened. */
  static open<I, O, S = unknown>(client: JobClient, plan: JobPlan, ticket: JobTicket, journal: JobJournal, ports: JobPorts): LiveJob<I, O, S> {
    return new LiveJob<I, O, S>(client, plan, ticket, journal, ports);
  }

  /** Write side of the inputs: `job.input.feed(x)`, `job.input("tag").feed(x)`. */
  get input(): JobInput<I> {
    return (this.inputHandle ??= this.createInput() as JobInput<I>);
  }

  /** Read side of the outputs: `for await (… of job.output)`, `job.output("tag")`. */
  get output(): JobOutput<O> {
    return (this.outputHandle ??= this.createOutput() as JobOutput<O>);
  }

  get jobId(): string {
    return this.ticket.jobId;
  }

  /** `queued` → `running` → `completed` | `failed` | `cancelled`. */
  get status(): JobStatus {
    return this.ticket.status;
  }

  /**
   * The state a stateful worker of this job last committed (README,
   * "Stateful workers"), read from the backend: from any process on a
   * shared one, seeing this process's commits made before the call. Each
   * acknowledged input message has changed it exactly once. Resolves
   * `undefined` before the worker's first commit, or for a worker that
   * keeps no state.
   *
   * @param node the worker: a flow's node label; left out, the job's one worker (a job of a spec).
   * @throws ConfigurationError (a rejection) for a node the job does not have, or none named in a flow's job.
   * @example
   * const { counts } = (await job.state())!;
   */
  state(node?: string): Promise<S | undefined> {
    return rejectOnThrow(() => {
      const nodes = this.plan.nodes;
      const key = node ?? (nodes.length === 1 ? nodes[0]!.key : undefined);
      const known = () => nodes.map((n) => `"${n.key}"`).join(", ");
      if (key === undefined) throw new ConfigurationError(`job "${this.jobId}" of "${this.plan.name}" has several workers: name one, job.state(label), one of ${known()}`);
      if (!nodes.some((n) => n.key === key)) throw new ConfigurationError(`job "${this.jobId}" of "${this.plan.name}" has no worker "${key}"; its workers are ${known()}`);
      return this.states.read(key) as Promise<S | undefined>;
    });
  }

  /**
   * Resolves when the job completes; rejects with `JobFailedError` or
   * `JobCancelledError`, or with `EnvClosedError` when its env closes on a
   * shared backend first (the job runs on in other processes).
   */
  waitUntilFinish(): Promise<void> {
    if (!this.settled) {
      const outcome = this.ticket.outcome.then((outcome) => {
        if (outcome.status !== "completed") throw outcome.error;
      });
      this.settled = Promise.race([outcome, this.client.detached]);
      // Callers may never await it; a failed job must not become an unhandled rejection.
      this.settled.catch(() => {});
    }
    return this.settled;
  }

  /**
   * Cancels the job in any state. The processor's `signal` aborts; readers
   * throw `JobCancelledError` with `reason`. Resolves once the job is final
   * (a job that already finished stays as it was).
   *
   * @param reason a string, at most 1,000 characters. Default `"cancelled by the user"`.
   * @throws ValidationError (a rejection) for a reason that is not such a string; nothing is cancelled.
   */
  async cancel(reason: string = "cancelled by the user"): Promise<void> {
    if (typeof reason !== "string" || reason.length > 1_000) {
      throw new ValidationError(
        `The reason of job.cancel must be a string of at most 1000 characters; got ${typeof reason === "string" ? `${reason.length} characters` : describeError(reason)}`,
        [],
        "reason",
      );
    }
    await this.client.cancel(this.ticket, this.plan, reason);
    await this.waitUntilFinish().catch(() => {});
  }

  /**
   * Listens to this job's lifecycle events: first the events so far (the
   * newest 256), then live ones until the job is final. Returns an
   * unsubscribe function. What the listener throws is logged once and ignored.
   *
   * @throws ConfigurationError when `listener` is not a function.
   */
  subscribe(listener: LifecycleListener): () => void {
    if (typeof listener !== "function") {
      throw new ConfigurationError(`job.subscribe takes a function (event) => void; got ${listener === null ? "null" : typeof listener}`);
    }
    return this.journal.subscribe(this.client.guarded(listener, "a job lifecycle listener"));
  }

  /** @internal The writer of an exposed input (made on first use; refused once the job is final). */
  writer(alias: string): StreamWriter {
    let writer = this.writers?.get(alias);
    if (writer) return writer;
    const stream = this.inputs.get(alias);
    if (!stream) throw new UnknownTagError(this.plan.name, "input", alias, [...this.inputs.keys()]);
    if (!this.writers) {
      this.writers = new Map();
      // A write still validating when the job ends is refused, not left waiting.
      const writers = this.writers;
      void this.ticket.outcome.then(() => {
        for (const each of writers.values()) each.refuse(`job "${this.jobId}" is ${this.ticket.status}`);
      });
    }
    writer = new StreamWriter(stream, schemaOf(this.plan, this.plan.exposedInputs.get(alias)!, "input"));
    this.writers.set(alias, writer);
    return writer;
  }

  /** @internal The stream of an exposed output. */
  outputStream(alias: string): JobStream | undefined {
    return this.outputs.get(alias);
  }

  /** @internal The stream of an exposed input. */
  inputStream(alias: string): JobStream | undefined {
    return this.inputs.get(alias);
  }

  private createInput(): unknown {
    // One handle per tag, made on first use: `feed` is a per-message path.
    const handles = new Map<string, InputWriter<unknown>>();
    const writerFor = (tag: string): InputWriter<unknown> => {
      let handle = handles.get(tag);
      if (handle) return handle;
      const writer = this.writer(tag);
      // A closed stream or a synchronous schema throws inside write(): reject, never throw.
      const write = (data: unknown) => writer.write(data);
      handle = {
        tag,
        feed: (data) => rejectOnThrow(write, data),
        terminate: () => writer.end(`input "${tag}" of job "${this.jobId}" was terminated`),
      };
      handles.set(tag, handle);
      return handle;
    };
    // The per-message path: one call from `feed` to the default writer (found once: no lookup per message).
    let defaultWriter: StreamWriter | undefined;
    const writeDefault = (data: unknown) => (defaultWriter ??= this.writer("default")).write(data);
    return Object.assign(writerFor, {
      tag: "default",
      feed: (data: unknown) => rejectOnThrow(writeDefault, data),
      terminate: () => rejectOnThrow(() => writerFor("default").terminate()),
    });
  }

  private createOutput(): unknown {
    const readerFor = (tag: string): OutputReader<unknown> => {
      const stream = this.outputs.get(tag);
      if (!stream) throw new UnknownTagError(this.plan.name, "output", tag, [...this.outputs.keys()]);
      return outputReader(tag, stream);
    };
    const output = (tag: string) => readerFor(tag);
    return Object.assign(output, {
      tag: "default",
      [Symbol.asyncIterator]: () => readerFor("default")[Symbol.asyncIterator](),
      first: () => rejectOnThrow(() => readerFor("default").first()),
    });
  }
}

/** @internal The streams of a job's handle: exposed inputs and outputs, by alias. */
export interface JobPorts {
  readonly inputs: PortMap<JobStream>;
  readonly outputs: PortMap<JobStream>;
  /** Where the job's committed worker states are read. */
  readonly states: JobStates;
}

/** A reader handle: each iteration opens its own cursor at the oldest kept message. */
function outputReader(tag: string, stream: JobStream): OutputReader<unknown> {
  return {
    tag,
    [Symbol.asyncIterator]: () => new OutputIterator(stream),
    first: async () => {
      const iterator = new OutputIterator(stream);
      const result = await iterator.next();
      await iterator.return();
      return result.done ? undefined : result.value;
    },
  };
}

/** The schema of an exposed port: the tag's schema on its node's spec. */
function schemaOf(plan: JobPlan, port: PlanPort, role: "input" | "output") {
  const spec = plan.nodes.find((node) => node.key === port.node)!.spec;
  return (role === "input" ? spec.inputSchemas : spec.outputSchemas)[port.tag];
}

/** Opens the streams a job exposes in one direction, under their aliases. */
function openPorts(client: JobClient, plan: JobPlan, jobId: string, role: "input" | "output"): PortMap<JobStream> {
  const exposed = role === "input" ? plan.exposedInputs : plan.exposedOutputs;
  const shape = planShape(plan);
  if (shape.identity) {
    // A plain job: its ports are its one node's tags.
    const { key, spec } = plan.nodes[0]!;
    const tags = tagsOf(role === "input" ? spec.inputSchemas : spec.outputSchemas);
    return new PortMap(tags, tags.map((tag) => client.openStream({ jobId, node: key, tag, role, specName: spec.name })));
  }
  const aliases = [...exposed.keys()];
  return new PortMap(
    aliases,
    aliases.map((alias) => {
      const port = exposed.get(alias)!;
      const spec = plan.nodes.find((node) => node.key === port.node)!.spec;
      return client.openStream({ jobId, node: port.node, tag: port.tag, role, specName: spec.name });
    }),
  );
}
