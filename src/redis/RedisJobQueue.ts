import { Queue, WaitingError, Worker, type ConnectionOptions, type Job } from "bullmq";
import { nanoid } from "nanoid";
import { ConfigurationError, LeaseExpiredError, type RestartRecord } from "../errors.js";
import type { JobOutcome, JobQueue, JobRecord, JobRunner, JobTicket, QueueConsumer } from "../backend/Backend.js";
import { isFinalStatus, type FinalStatus, type JobStatus } from "../backend/events.js";
import { decode, encode } from "./codec.js";
import type { RedisContext } from "./context.js";
import { decodeOutcome, encodeOutcome } from "./outcome.js";
import { RedisLease } from "./RedisLease.js";
import { RedisTicket, type TicketKeeper } from "./RedisTicket.js";

/** BullMQ's concurrency for a queue without a limit (`Infinity`): jobs a process holds at once. */
const UNLIMITED = 10_000;

/** Settings of the Redis job queue. */
export interface RedisQueueSettings {
  /** BullMQ's connection options (it makes its own connections). */
  readonly bullConnection: ConnectionOptions;
  readonly leaseMs: number;
  readonly retentionMs: number;
  /** Caps a spec's jobs running at once across every process (BullMQ's global concurrency); undefined: no cap. */
  readonly globalConcurrency: ((queueKey: string) => number | undefined) | undefined;
}

/** BullMQ refuses `:` in queue names and job ids; liveworker's ids never hold `/`, so `:` → `/` is reversible. */
const bullName = (name: string) => name.replaceAll(":", "/");
/**
 * A job's id in BullMQ: `j/` and its id with `:` → `/`. BullMQ also refuses
 * an id that reads as an integer (`"42"`, `"-7"`, even `"NaN"`), which
 * liveworker allows; the prefix makes none of them read so.
 */
const bullJobId = (jobId: string) => `j/${bullName(jobId)}`;
const liveId = (bullId: string) => bullId.slice(2).replaceAll("/", ":");

/**
 * Jobs on BullMQ: one BullMQ queue per spec or flow, whose worker (one per
 * queue and process) hands jobs to the runner at the consumer's
 * concurrency; BullMQ's lock, renewed while the job runs, is the lease, and
 * its stalled-job check gives a dead process's jobs to another. The job
 * itself (record, status, fencing token, outcome) lives in the job's hash,
 * changed only by the backend's scripts; BullMQ's job carries nothing but
 * the id, and is removed once done.
 */
export class RedisJobQueue implements JobQueue, TicketKeeper {
  private readonly producers = new Map<string, Queue>();
  private readonly workers = new Set<Worker>();
  /** Leases this process holds, by job id. */
  private readonly leases = new Map<string, RedisLease>();
  /** Tickets of jobs this process handed out and that are not final yet: one per job. */
  private readonly tickets = new Map<string, RedisTicket>();
  private closed = false;

  constructor(
    private readonly ctx: RedisContext,
    private readonly settings: RedisQueueSettings,
  ) {}

  add(queueKey: string, record: JobRecord, announce: (ticket: JobTicket) => void): Promise<JobTicket> {
    const adding = this.addToQueue(queueKey, record, announce);
    const settled: Promise<unknown> = adding.then(
      () => this.adding.delete(settled),
      () => this.adding.delete(settled),
    );
    this.adding.add(settled);
    return adding;
  }

  /** Adds in flight: `close` waits for them (a job stored in its hash and not in BullMQ's queue would wait forever). */
  private readonly adding = new Set<Promise<unknown>>();

  private async addToQueue(queueKey: string, record: JobRecord, announce: (ticket: JobTicket) => void): Promise<JobTicket> {
    this.assertOpen(`add job "${record.jobId}" to queue "${queueKey}"`);
    const bytes = encode(record, `the job options of job "${record.jobId}"`);
    // Adds of one queue reach BullMQ in call order, each as soon as the one before it was sent (not answered).
    const previous = this.addOrder.get(queueKey);
    let sent!: () => void;
    const mine = new Promise<void>((resolve) => (sent = resolve));
    this.addOrder.set(queueKey, mine);
    try {
      await this.ctx.ready();
      const { client, keys } = this.ctx;
      // After this process's queued writes (a job of the id it just finished is final by then).
      const stored = await this.ctx.answer(this.ctx.writes.afterWrites(() => client.lwAdd(keys.job(record.jobId), keys.journal(record.jobId), queueKey, bytes, keys.streamPrefix(record.jobId), nanoid())));
      if (Number(stored) !== 1) throw new ConfigurationError(`Job id "${record.jobId}" is already in use; pass a unique jobId or omit it`);
      this.ctx.freshJob(record.jobId);
      const ticket = this.ticketFor(record.jobId, queueKey, "queued");
      announce(ticket);
      // What `announce` published lands before any process can take the job.
      this.ctx.writes.flush();
      const published = this.ctx.answer(client.ping());
      await previous;
      await published;
      const adding = this.producer(queueKey).add("job", {}, { jobId: bullJobId(record.jobId), removeOnComplete: true, removeOnFail: true });
      sent();
      await adding;
      return ticket;
    } finally {
      sent();
      if (this.addOrder.get(queueKey) === mine) this.addOrder.delete(queueKey);
    }
  }

  /** Per queue, when the last add called so far was sent to BullMQ (or gave up). */
  private readonly addOrder = new Map<string, Promise<void>>();

  async find(jobId: string): Promise<JobTicket | undefined> {
    const known = this.tickets.get(jobId);
    if (known) return known;
    await this.ctx.ready();
    const [queueKey, status] = await this.ctx.answer(this.ctx.writes.afterWrites(() => this.ctx.client.hmget(this.ctx.keys.job(jobId), "q", "st")));
    if (!queueKey || !status) return undefined;
    return this.ticketFor(jobId, queueKey, status as JobStatus);
  }

  consume(queueKey: string, concurrency: number, run: JobRunner): QueueConsumer {
    this.assertOpen(`consume queue "${queueKey}"`);
    let closing: Promise<void> | undefined;
    const stopped = () => closing !== undefined || this.closed;
    const worker = new Worker(bullName(queueKey), (job, token) => this.process(queueKey, job, token, run, stopped), {
      connection: this.settings.bullConnection,
      prefix: this.ctx.keys.bull,
      concurrency: Number.isFinite(concurrency) ? concurrency : UNLIMITED,
      lockDuration: this.settings.leaseMs,
      // BullMQ looks for jobs whose lock expired (their process died) every 30 s by default: every half lease instead,
      // so a dead process's jobs move within about 1.5 × leaseMs, not leaseMs + 30 s.
      stalledInterval: Math.max(500, Math.floor(this.settings.leaseMs / 2)),
      // Jobs found stalled (their process died) go back to their queue as often as that happens: liveworker counts restarts itself.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      // How long (s) an idle worker blocks before it looks again. A job moved back by the stalled check wakes one blocked
      // worker, which may be a paused (SIGSTOP) process's: the others find the job within this, not BullMQ's 5 s.
      drainDelay: Math.min(5, Math.max(0.5, this.settings.leaseMs / 2_000)),
    });
    worker.on("error", (error) => {
      // A lock that could not be renewed, or was gone when the job's call ended, is a lost lease (handled: the run here
      // stopped), not an error of the worker.
      if (!/^(could not renew lock for job |Missing lock for job |Lock mismatch for job )/.test(error.message)) this.ctx.report(`the BullMQ worker of queue "${queueKey}"`, error);
    });
    // Not `lockRenewalFailed`: BullMQ tracks locks by job id, and renewals of a run already ending (released,
    // finished, a reused id) fail too; acting on them hung test:redis's concurrent_jobs property test about one
    // run in two. A stale run finds out at its next read or write, which the fencing token refuses.
    worker.on("locksRenewed", ({ jobIds }: { jobIds: string[] }) => {
      const now = Date.now();
      for (const bullId of jobIds) if (this.renewedAt.has(liveId(bullId))) this.renewedAt.set(liveId(bullId), now);
    });
    this.workers.add(worker);
    const cap = this.settings.globalConcurrency?.(queueKey);
    if (cap !== undefined) this.producer(queueKey).setGlobalConcurrency(cap).catch((error: unknown) => this.ctx.report(`setting the global concurrency of "${queueKey}"`, error));
    return {
      close: () => {
        // Takes no more jobs; those running go on until their lease is finished or released.
        closing ??= worker.close().finally(() => this.workers.delete(worker));
      },
    };
  }

  /**
   * Stops taking jobs and closes BullMQ's connections (after the jobs running
   * here ended or were released), waiting at most `withinMs` for BullMQ to
   * close them cleanly (Redis may be down): then they are cut.
   */
  async close(withinMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), withinMs)));
    // Adds in flight go through first (an env closed from a listener of a job's `queued` event): the job is in
    // its hash already, and closing BullMQ's queue under its add would leave it queued in no queue, never run.
    await Promise.race([Promise.allSettled([...this.adding]), deadline]);
    for (const ticket of this.tickets.values()) ticket.stop();
    this.tickets.clear();
    // A job still held here (its runner neither finished nor released it) goes back to its queue for another
    // process: BullMQ's worker closes once its jobs' processors return, which they do when their lease ends.
    for (const lease of this.leases.values()) lease.release();
    const parts = [...this.workers, ...this.producers.values()];
    const clean = Promise.allSettled([...this.workers].map((worker) => worker.close())).then(() =>
      Promise.allSettled([...this.producers.values()].map((queue) => queue.close())),
    );
    const timedOut = await Promise.race([clean.then(() => false), deadline]);
    clearTimeout(timer);
    // BullMQ's own disconnect waits for a connection too: asked for, not waited on.
    if (timedOut) for (const part of parts) part.disconnect().catch(() => {});
  }

  /** The ticket of a job, one per job while it is not final. */
  ticketFor(jobId: string, queueKey: string, status: JobStatus): RedisTicket {
    let ticket = this.tickets.get(jobId);
    if (!ticket) {
      ticket = new RedisTicket(this.ctx, this, jobId, queueKey, status, this.settings.retentionMs);
      if (!isFinalStatus(status)) this.tickets.set(jobId, ticket);
    }
    return ticket;
  }

  /** @internal A ticket is final. */
  forget(ticket: RedisTicket): void {
    if (this.tickets.get(ticket.jobId) === ticket) this.tickets.delete(ticket.jobId);
  }

  /** @internal The job ended in this process: its ticket here settles with the outcome (as another process would get it). */
  finishedHere(jobId: string, outcome: JobOutcome): void {
    this.tickets.get(jobId)?.final(decodeOutcome(encodeOutcome(outcome)));
  }

  /** @internal The job ended in this process under a lease that may be stale: its ticket here shows the status, and waits for Redis. */
  finishingHere(jobId: string, status: FinalStatus): void {
    this.tickets.get(jobId)?.finishing(status);
  }

  /** @internal Redis refused the outcome of this process (a stale holder): its ticket here goes on following the job. */
  finishRefused(jobId: string): void {
    this.tickets.get(jobId)?.finishRefused();
  }

  /**
   * @internal True while the job's BullMQ lock, last taken or renewed here,
   * cannot have expired (within 0.8 × leaseMs of it, a margin for the round
   * trip): no other process can hold the job then, so an outcome recorded
   * now is the job's.
   */
  lockFresh(jobId: string): boolean {
    const at = this.renewedAt.get(jobId);
    return at !== undefined && Date.now() - at < 0.8 * this.settings.leaseMs;
  }

  /** When this process last took or renewed each running job's BullMQ lock (`Date.now()`). */
  private readonly renewedAt = new Map<string, number>();

  /** @internal A write of the job was refused for a stale fencing token: its lease here is lost. */
  fenced(jobId: string): void {
    this.leases.get(jobId)?.loseLease();
  }

  /**
   * @internal Redis lost the job's data: its ticket here fails with `error`
   * and its lease here ends (its attempt stops, writing nothing). Returns
   * how many of the two this process held.
   */
  lost(jobId: string, error: Error): number {
    const ticket = this.tickets.get(jobId);
    ticket?.final({ status: "failed", error });
    const lease = this.leases.get(jobId);
    lease?.loseLease(error);
    return (ticket ? 1 : 0) + (lease ? 1 : 0);
  }

  /** @internal A read of the job's input found its cancel request: the lease here delivers it now. */
  cancelRequested(jobId: string, reason: string): void {
    this.leases.get(jobId)?.cancelFound(reason);
  }

  /** @internal The key of a job's BullMQ lock (BullMQ's layout: `<prefix>:<queue>:<job id>:lock`). */
  lockKey(queueKey: string, jobId: string): string {
    return `${this.ctx.keys.bull}:${bullName(queueKey)}:${bullJobId(jobId)}:lock`;
  }

  /** @internal Removes a job cancelled while queued from BullMQ's queue (a process that takes it meanwhile finds it final). */
  removeQueued(queueKey: string, jobId: string): void {
    this.producer(queueKey)
      .remove(bullJobId(jobId))
      .catch(() => {});
  }

  private producer(queueKey: string): Queue {
    let queue = this.producers.get(queueKey);
    if (!queue) {
      queue = new Queue(bullName(queueKey), { connection: this.settings.bullConnection, prefix: this.ctx.keys.bull });
      queue.on("error", (error) => this.ctx.report(`the BullMQ queue "${queueKey}"`, error));
      this.producers.set(queueKey, queue);
    }
    return queue;
  }

  /**
   * BullMQ handed this process a job: take it (a new fencing token), run it,
   * and hold BullMQ's lock until its lease ends. BullMQ may hand out a job it
   * fetched just before the consumer was closed (`stopped`): that one goes
   * back to its queue, not to the runner, whose env is closing and has
   * already released what it ran (else the job would run on after
   * `env.close()`, its timers and actors left behind).
   */
  private async process(queueKey: string, job: Job, token: string | undefined, run: JobRunner, stopped: () => boolean): Promise<void> {
    const jobId = liveId(job.id!);
    const { client, keys, tokens } = this.ctx;
    if (stopped() && token) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const takenAt = job.processedOn ?? Date.now();
    const taking = this.ctx.writes.afterWrites(() => client.lwStartBuffer(keys.job(jobId), keys.channel(jobId), token ?? nanoid())) as Promise<Buffer[]>;
    const lease = await this.inTakeOrder(queueKey, taking, (started) => this.begin(jobId, started, takenAt, run, stopped));
    if (!lease) return; // final (cancelled while queued) or gone: nothing to run
    const end = await lease.ended;
    if (tokens.get(jobId) === lease.token) tokens.delete(jobId);
    if (this.leases.get(jobId) === lease) {
      this.leases.delete(jobId);
      this.renewedAt.delete(jobId);
    }
    // This process took the job back while this call was ending (it stalled here past the lease): BullMQ tracks locks
    // by job id, and this call's end would stop the renewal of the newer call's lock. It ends after that one instead.
    for (let newer = this.leases.get(jobId); newer && newer !== lease; newer = this.leases.get(jobId)) await newer.ended.then(() => {});
    if (end === "released" && token) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
  }

  /**
   * Runs `then` on a take's answer once the takes of `queueKey` this process
   * asked for before it have run theirs. BullMQ hands a queue's jobs out in
   * its order, and their answers come back in that order, but a take sent
   * while writes were queued resolves a few promise turns later than one sent
   * at once: without this, a job enqueued later could start first (seen in
   * test:redis's concurrent_jobs property).
   */
  private inTakeOrder<T, R>(queueKey: string, answer: Promise<T>, then: (value: T) => R): Promise<R> {
    const previous = this.takeOrder.get(queueKey);
    const turn = (previous ? previous.then(() => answer) : answer).then(then);
    const settled = turn.then(
      () => {},
      () => {},
    );
    this.takeOrder.set(queueKey, settled);
    void settled.then(() => {
      if (this.takeOrder.get(queueKey) === settled) this.takeOrder.delete(queueKey);
    });
    return turn;
  }

  /** Per queue, when the last take asked for so far has run its `then` (or failed). */
  private readonly takeOrder = new Map<string, Promise<void>>();

  /**
   * Starts a job Redis let this process take (`started`: lwStart's answer),
   * synchronously: its lease, and the runner unless the consumer stopped
   * meanwhile (then the lease is given back at once). Undefined for a job
   * final or gone, which is not run.
   */
  private begin(jobId: string, started: Buffer[], takenAt: number, run: JobRunner, stopped: () => boolean): RedisLease | undefined {
    if (started.length < 8) return undefined;
    const [before, fence, recordBytes, cancelled, history, attempts, heldBefore, stateFields] = started as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, unknown];
    let states: Record<string, unknown> | undefined;
    const fields = stateFields as Buffer[];
    for (let i = 0; i + 1 < fields.length; i += 2) (states ??= Object.create(null) as Record<string, unknown>)[fields[i]!.toString()] = decode(fields[i + 1]!);
    const record = decode(recordBytes) as JobRecord;
    const resumed = before.toString() === "running";
    const lease = new RedisLease(
      this.ctx,
      this,
      jobId,
      fence.toString(),
      {
        resumed,
        cancelledBefore: cancelled.toString(),
        restarts: history.length > 0 ? (decode(history) as RestartRecord[]) : [],
        attempts: attempts.length > 0 ? (decode(attempts) as Record<string, number>) : undefined,
        states,
        // Held, never given back: its process died or stalled past its lease (BullMQ found the job stalled). Not counted
        // as a restart when the job was cancelled meanwhile: it ends cancelled here, whatever its restart budget.
        expired: resumed && heldBefore.toString() === "1" && cancelled.length === 0 ? new LeaseExpiredError(jobId) : undefined,
      },
      this.settings.retentionMs,
    );
    // BullMQ handed this process a job it still runs (it stalled here past its lease): that run is stale.
    this.leases.get(jobId)?.loseLease();
    // BullMQ took the lock before it handed the job over (a bound from before it: the lock is at least this fresh).
    this.renewedAt.set(jobId, takenAt);
    this.ctx.tokens.set(jobId, lease.token);
    this.leases.set(jobId, lease);
    // Closed while the take was on its way: given back at once, never run here.
    if (stopped()) lease.release();
    else {
      this.tickets.get(jobId)?.note("running");
      run(record, lease);
    }
    return lease;
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new ConfigurationError(`Cannot ${what}: the backend is closed`);
  }
}
