import { JobCancelledError } from "../errors.js";
import type { CancelAnswer, JobOutcome, JobTicket } from "../backend/Backend.js";
import { isFinalStatus, type FinalStatus, type JobStatus } from "../backend/events.js";
import type { RedisContext } from "./context.js";
import { decodeOutcome, encodeOutcome } from "./outcome.js";

/** What a ticket needs of the queue that made it. */
export interface TicketKeeper {
  /** The ticket is final: the queue lets it go. */
  forget(ticket: RedisTicket): void;
  /** Removes a job cancelled while queued from BullMQ's queue. */
  removeQueued(queueKey: string, jobId: string): void;
  /** The key of the job's BullMQ lock (held while a process runs it). */
  lockKey(queueKey: string, jobId: string): string;
}

/**
 * A job as a client sees it: its status follows the job's hash (told by a
 * notification on the job's channel, looked up again after a reconnect), and
 * its outcome settles when the hash holds one.
 */
export class RedisTicket implements JobTicket {
  readonly outcome: Promise<JobOutcome>;
  private settle!: (outcome: JobOutcome) => void;
  private readonly unwatch: () => void;
  private refreshing = false;
  private again = false;
  private settled = false;

  constructor(
    private readonly ctx: RedisContext,
    private readonly queue: TicketKeeper,
    readonly jobId: string,
    readonly queueKey: string,
    public status: JobStatus,
    private readonly retentionMs: number,
  ) {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    const watch = ctx.notifier.watch(ctx.keys.channel(jobId), (message) => {
      if (message === "s" || message === "reconnected") this.refresh();
      // A status that is not final comes in the message: nothing to read.
      else if (message.startsWith("s|")) this.note(message.slice(2) as JobStatus);
    });
    this.unwatch = watch.stop;
    // What changed before the subscription took hold.
    void watch.ready.then(() => this.refresh());
  }

  async cancel(reason: string): Promise<CancelAnswer> {
    await this.ctx.ready();
    const { client, keys } = this.ctx;
    const outcome: JobOutcome = { status: "cancelled", error: new JobCancelledError(this.jobId, reason) };
    const answer = String(
      // After this process's queued writes: a job it just finished is final by then.
      await this.ctx.answer(
        this.ctx.writes.afterWrites(() =>
          client.lwCancel(keys.job(this.jobId), keys.channel(this.jobId), keys.journal(this.jobId), this.queue.lockKey(this.queueKey, this.jobId), reason, encodeOutcome(outcome), this.retentionMs, keys.streamPrefix(this.jobId)),
        ),
      ),
    );
    if (answer === "queued") {
      this.queue.removeQueued(this.queueKey, this.jobId);
      this.final(outcome);
      return { was: "queued", outcome };
    }
    return { was: answer === "running" ? "running" : "final" };
  }

  /** @internal This process saw the job's status change (it runs the job). */
  note(status: JobStatus): void {
    if (!this.settled && !isFinalStatus(status)) this.live(status);
  }

  /**
   * @internal The job ended in this process, whose lease may be stale (its
   * lock was not renewed lately): `status` says so at once, `outcome`
   * settles once Redis took it (`final`); a refused one (`finishRefused`)
   * leaves the ticket following the job under its new holder.
   */
  finishing(status: FinalStatus): void {
    if (this.settled || this.beforeFinishing !== undefined) return;
    this.beforeFinishing = this.status;
    this.status = status;
  }

  /** @internal Redis refused this process's outcome (another process holds the job): back to following it. */
  finishRefused(): void {
    if (this.settled || this.beforeFinishing === undefined) return;
    this.status = this.beforeFinishing;
    this.beforeFinishing = undefined;
    this.refresh();
  }

  /** The status before `finishing`, while an outcome of this process is on its way (undefined otherwise). */
  private beforeFinishing: JobStatus | undefined;

  /** A status read or told that is not final: shown unless an outcome of this process is on its way. */
  private live(status: JobStatus): void {
    if (this.beforeFinishing !== undefined) this.beforeFinishing = status;
    else this.status = status;
  }

  /** Stops following the job (the backend closes). */
  stop(): void {
    this.unwatch();
  }

  /** Reads the job's status (and outcome, once final) from its hash. */
  private refresh(): void {
    if (this.settled) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    const { client, keys } = this.ctx;
    this.ctx.writes.afterWrites(() => client.hmgetBuffer(keys.job(this.jobId), "st", "out")).then(
      ([status, outcome]) => {
        this.refreshing = false;
        // Final meanwhile (the job ended in this process): a reply read before that is stale.
        if (this.settled) return;
        // No hash for a job this process knows is not final: Redis lost it (fails this ticket with a RedisDataLostError).
        if (!status) this.ctx.jobLost(this.jobId);
        else if (outcome && isFinalStatus(status.toString())) this.final(decodeOutcome(outcome));
        // A job's status only moves forward (queued, running, final): a read older than a notification does not undo it.
        else if (!(status.toString() === "queued" && this.status === "running")) this.live(status.toString() as JobStatus);
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      },
      (error: unknown) => {
        this.refreshing = false;
        this.ctx.report(`reading the status of job "${this.jobId}"`, error);
      },
    );
  }

  /** @internal The job is final: status, outcome, and no more following. */
  final(outcome: JobOutcome): void {
    if (this.settled) return; // the first outcome holds
    this.settled = true;
    this.status = outcome.status as FinalStatus;
    this.settle(outcome);
    this.unwatch();
    this.queue.forget(this);
  }
}

