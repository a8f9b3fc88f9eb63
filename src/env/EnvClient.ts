import type { Clock } from "../clock.js";
import { ConfigurationError, EnvClosedError } from "../errors.js";
import type { Backend, JobStates, JobStream, JobTicket, StreamKey } from "../backend/Backend.js";
import { isFinalStatus, type LifecycleListener } from "../backend/events.js";
import type { JobClient } from "../job/JobClient.js";
import { LiveJob } from "../job/LiveJob.js";
import type { JobPlan } from "../job/JobPlan.js";
import { finishUnstarted } from "../job/finishUnstarted.js";

/** What `EnvClient.enqueue` needs besides the plan and the id. */
export interface EnqueueRequest {
  plan: JobPlan;
  jobId: string;
  /** Validates the job's options (node key → options); may be async. */
  validate: () => Promise<ReadonlyMap<string, unknown>> | ReadonlyMap<string, unknown>;
  /** Checks run before the job takes its place and again before it is added (names, closing): they throw to refuse. */
  check: () => void;
  /** Runs once the job is added, before its `queued` event (names claimed, flows registered). */
  added: () => void;
}

/**
 * The env's client side: adds jobs to the backend's queue in `enqueueJob`
 * call order, hands out job handles, and cancels jobs (a queued one it
 * finishes itself: it never ran). Works the same whether the jobs run in
 * this process or another.
 */
export class EnvClient implements JobClient {
  /** Job ids of `enqueueJob` calls still validating: taken, so two calls cannot both get one. */
  private readonly reservedIds = new Set<string>();
  /** Per queue, when the last enqueue called so far is added (or gave up): the next one waits for it. */
  private readonly turns = new Map<string, Promise<void>>();
  /** Refusers of the enqueues still validating: `close()` rejects them (a validation may never end). */
  private readonly pending = new Set<(error: unknown) => void>();
  /**
   * Tickets of the jobs this env added, final ones included until the next
   * sweep: sweeping when the map doubled keeps it within twice the live jobs
   * without a callback per job.
   */
  private readonly live = new Map<string, { ticket: JobTicket; plan: JobPlan }>();
  private sweptSize = 0;
  private closed = false;

  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
    private readonly openStreamWithLimits: (key: StreamKey) => JobStream,
    private readonly guard: (listener: LifecycleListener, what: string) => LifecycleListener,
    private readonly envName: string,
  ) {
    this.detached = new Promise<never>((_, reject) => (this.detach = reject));
    this.detached.catch(() => {});
  }

  readonly detached: Promise<never>;
  private detach!: (error: unknown) => void;

  /** The env closed on a shared backend: waiters of its jobs' outcomes reject (`detached`). */
  stopFollowing(): void {
    this.detach(new EnvClosedError(`env "${this.envName}" closed: this process no longer follows its jobs (they run on in other processes; getJob from an open env follows one)`));
  }

  /** Jobs this env added that still wait in their queue (as far as this process knows): id and spec or flow name. */
  queuedJobs(): Array<{ jobId: string; name: string }> {
    const queued: Array<{ jobId: string; name: string }> = [];
    for (const [jobId, { ticket, plan }] of this.live) if (ticket.status === "queued") queued.push({ jobId, name: plan.name });
    return queued;
  }

  /** Jobs this env added that are not final yet. */
  get liveCount(): number {
    this.sweep();
    return this.live.size;
  }

  /**
   * Creates a job: its id and its place in its queue are taken at once, its
   * options validated (maybe async), then it is added after every job of its
   * queue called before it (a job still validating holds its place; one that
   * fails gives it back: the next is added once this one's `add` is called,
   * the backend keeping that order), and its `queued` event goes out.
   *
   * @throws EnvClosedError when the env closes first; ConfigurationError when the id is taken; what `validate` or `check` throw.
   */
  async enqueue(request: EnqueueRequest): Promise<LiveJob> {
    const { plan, jobId } = request;
    this.assertOpen(plan);
    if (this.reservedIds.has(jobId)) throw this.idInUse(jobId);
    request.check();
    this.reservedIds.add(jobId);
    const before = this.turns.get(plan.queueKey);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.turns.set(plan.queueKey, mine);
    let refuse!: (error: unknown) => void;
    const closed = new Promise<never>((_, reject) => (refuse = reject));
    closed.catch(() => {});
    this.pending.add(refuse);
    try {
      const [jobOptions, existing] = await Promise.race([
        Promise.all([Promise.resolve(request.validate()), this.backend.jobs.find(jobId)]),
        closed,
      ]);
      if (existing && !isFinalStatus(existing.status)) throw this.idInUse(jobId);
      if (before) await Promise.race([before, closed]);
      this.assertOpen(plan);
      request.check();
      const at = this.clock.now();
      const record = { jobId, kind: plan.kind, name: plan.name, jobOptions: Object.fromEntries(jobOptions), enqueuedAt: at };
      // Opened before the job can run: a job that ends before `add` resolves still has them.
      const ports = LiveJob.openPorts(this, plan, jobId);
      let job: LiveJob | undefined;
      // The backend keeps the order of adds as they are called: the next enqueue of this queue may add now, without waiting for this one's round trips.
      const adding = this.backend.jobs.add(plan.queueKey, record, (ticket) => {
        // Stored, not yet handed out: the handle, names and flows first, then `queued` (before `running`).
        job = LiveJob.open(this, plan, ticket, this.backend.events.journal(jobId), ports);
        this.trackLive(ticket, plan);
        this.forgetWhenFinal(ticket);
        request.added();
        this.backend.events.publish({ type: "job.status", jobId, specName: plan.name, at, status: "queued" });
      });
      done();
      // A backend that stored the job in this step (memory) announced it already: no tick to wait.
      if (job === undefined) await adding;
      else adding.catch(() => {});
      return job!;
    } finally {
      this.reservedIds.delete(jobId);
      this.pending.delete(refuse);
      done();
      if (this.turns.get(plan.queueKey) === mine) this.turns.delete(plan.queueKey);
    }
  }

  /**
   * The handle of a job of `plan` that exists in the backend (added by any
   * process), or undefined when there is none of that id.
   *
   * @throws ConfigurationError when the job of that id belongs to another spec or flow.
   */
  async find(plan: JobPlan, jobId: string): Promise<LiveJob | undefined> {
    const ticket = await this.backend.jobs.find(jobId);
    if (!ticket) return undefined;
    if (ticket.queueKey !== plan.queueKey) {
      throw new ConfigurationError(
        `Job "${jobId}" is a job of ${ticket.queueKey.replace("/", " ")}, not of ${plan.kind} "${plan.name}"; call getJob on that ${ticket.queueKey.split("/")[0]}`,
      );
    }
    const job = LiveJob.open(this, plan, ticket, this.backend.events.journal(jobId), LiveJob.openPorts(this, plan, jobId));
    this.forgetWhenFinal(ticket);
    return job;
  }

  /**
   * On a shared backend the job may end in another process, where this one
   * has no runtime to forget its streams: forget them once its outcome
   * arrived (the handles given out stay usable). Not in the outcome's own
   * step: a job cancelled while queued is ended here right after
   * (`finishUnstarted` fails the streams this process holds). In memory the
   * job's runtime does it when the job ends.
   */
  private forgetWhenFinal(ticket: JobTicket): void {
    if (!this.backend.shared) return;
    const forget = () => setImmediate(() => this.backend.streams.dispose(ticket.jobId));
    ticket.outcome.then(forget, forget);
  }

  private idInUse(jobId: string): ConfigurationError {
    return new ConfigurationError(`Job id "${jobId}" is already in use in env "${this.envName}"; pass a unique jobId or omit it`);
  }

  /** Keeps the job among the live ones until a sweep finds it final. */
  private trackLive(ticket: JobTicket, plan: JobPlan): void {
    this.live.set(ticket.jobId, { ticket, plan });
    if (this.live.size >= 2 * this.sweptSize + 64) this.sweep();
  }

  /** Forgets the jobs that are final. */
  private sweep(): void {
    for (const [jobId, { ticket }] of this.live) if (isFinalStatus(ticket.status)) this.live.delete(jobId);
    this.sweptSize = this.live.size;
  }

  openStream(key: StreamKey): JobStream {
    return this.openStreamWithLimits(key);
  }

  states(jobId: string): JobStates {
    return this.backend.streams.states(jobId);
  }

  guarded(listener: LifecycleListener, what: string): LifecycleListener {
    return this.guard(listener, what);
  }

  async cancel(ticket: JobTicket, plan: JobPlan, reason: string): Promise<void> {
    const answer = await ticket.cancel(reason);
    if (answer.was === "queued") finishUnstarted(this.backend, ticket.jobId, plan.name, answer.outcome, this.clock.now());
  }

  /** Refuses new jobs, and rejects the enqueues still validating. */
  close(): void {
    this.closed = true;
    for (const refuse of [...this.pending]) refuse(new EnvClosedError(`env "${this.envName}" closed while the job's options were validated`));
  }

  /** Cancels every job this env added that is not final yet, newest first. */
  async cancelAll(reason: string): Promise<void> {
    this.sweep();
    await Promise.allSettled([...this.live.values()].reverse().map(({ ticket, plan }) => this.cancel(ticket, plan, reason)));
  }

  /** Outcomes of the jobs this env added that are not final yet. */
  outcomes(): Promise<unknown>[] {
    this.sweep();
    return [...this.live.values()].map(({ ticket }) => ticket.outcome);
  }

  private assertOpen(plan: JobPlan): void {
    if (this.closed) throw new EnvClosedError(`Cannot enqueue a job of "${plan.name}": env "${this.envName}" is closed`);
  }
}
