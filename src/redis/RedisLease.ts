import type { JobLease, JobOutcome } from "../backend/Backend.js";
import type { LeaseExpiredError, RestartRecord } from "../errors.js";
import type { FinalStatus } from "../backend/events.js";
import { encode } from "./codec.js";
import type { RedisContext } from "./context.js";
import { encodeOutcome } from "./outcome.js";

/** How a lease ended: the job is final, given back, or taken over by another process. */
export type LeaseEnd = "finished" | "released" | "lost";

/** What a process that takes a job learns from the job's hash (`lwStart`), besides its fencing token. */
export interface TakenJob {
  readonly resumed: boolean;
  /** The cancel request already made ('' none). */
  readonly cancelledBefore: string;
  readonly restarts: readonly RestartRecord[];
  readonly attempts: Readonly<Record<string, number>> | undefined;
  /** Node key → the state its worker last committed; undefined when none did. */
  readonly states: Readonly<Record<string, unknown>> | undefined;
  /** Set when the last holder never gave the job back (its lease expired). */
  readonly expired: LeaseExpiredError | undefined;
}

/** What the process that took a job holds while it runs it: its fencing token, and the way to end it. */
export class RedisLease implements JobLease {
  readonly ended: Promise<LeaseEnd>;
  private end!: (how: LeaseEnd) => void;
  private readonly controller = new AbortController();
  private cancelHandler: ((reason: string) => void) | undefined;
  private cancelReason: string | undefined;
  private cancelDelivered = false;
  private done = false;
  private readonly unwatch: () => void;

  constructor(
    private readonly ctx: RedisContext,
    private readonly queue: {
      finishedHere(jobId: string, outcome: JobOutcome): void;
      finishingHere(jobId: string, status: FinalStatus): void;
      finishRefused(jobId: string): void;
      lockFresh(jobId: string): boolean;
    },
    private readonly jobId: string,
    readonly token: string,
    taken: TakenJob,
    private readonly retentionMs: number,
  ) {
    this.ended = new Promise((resolve) => (this.end = resolve));
    this.resumed = taken.resumed;
    this.restarts = taken.restarts;
    this.attempts = taken.attempts;
    this.states = taken.states;
    this.expired = taken.expired;
    if (taken.cancelledBefore !== "") this.cancelReason = taken.cancelledBefore;
    const watch = ctx.notifier.watch(ctx.keys.channel(jobId), (message) => {
      if (message === "c") this.lookForCancel();
      // Redis may have lost the job (a restart without persistence) or handed it to another process meanwhile.
      else if (message === "reconnected") this.lookAgain();
    });
    this.unwatch = watch.stop;
    void watch.ready.then(() => this.lookForCancel());
  }

  readonly resumed: boolean;
  readonly restarts: readonly RestartRecord[];
  readonly attempts: Readonly<Record<string, number>> | undefined;
  readonly states: Readonly<Record<string, unknown>> | undefined;
  readonly expired: LeaseExpiredError | undefined;

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  onCancel(handler: (reason: string) => void): void {
    this.cancelHandler = handler;
    this.deliverCancel();
  }

  finish(outcome: JobOutcome): void {
    if (this.done) return;
    this.done = true;
    this.unwatch();
    const { client, keys, writes } = this.ctx;
    const bytes = encodeOutcome(outcome);
    // Under a lock renewed lately no other process holds the job: the ticket here settles at once (listeners of the
    // final event see the handle final). Else (this process stalled: another may have taken the job over) its
    // waiters get the outcome once Redis took it; a refused one leaves them following the job's real end.
    const confirmed = this.queue.lockFresh(this.jobId);
    if (confirmed) this.queue.finishedHere(this.jobId, outcome);
    else this.queue.finishingHere(this.jobId, outcome.status);
    // After the job's last writes (its streams' ends), in order.
    writes.push(() => {
      client
        .lwFinish(keys.job(this.jobId), keys.channel(this.jobId), keys.journal(this.jobId), this.token, outcome.status, bytes, this.retentionMs, keys.streamPrefix(this.jobId))
        .then(
          (applied) => {
            const fenced = Number(applied) === 0;
            if (fenced) {
              this.queue.finishRefused(this.jobId);
              this.loseLease();
            } else if (!confirmed) this.queue.finishedHere(this.jobId, outcome);
            this.end(fenced ? "lost" : "finished");
          },
          (error: unknown) => {
            this.ctx.report(`recording the outcome of job "${this.jobId}"`, error);
            if (!confirmed) this.queue.finishedHere(this.jobId, outcome);
            this.end("lost");
          },
        );
    });
  }

  recordRestarts(history: readonly RestartRecord[]): void {
    this.record("rh", history, "restart history");
  }

  recordAttempts(attempts: Readonly<Record<string, number>>): void {
    this.record("ra", attempts, "attempts");
  }

  /** Stores `value` in the job's hash field `field` (behind the fence), after the job's queued writes. */
  private record(field: "rh" | "ra", value: unknown, what: string): void {
    if (this.done) return;
    const { client, keys, writes } = this.ctx;
    const bytes = encode(value, `the ${what} of job "${this.jobId}"`);
    let stored!: () => void;
    const saving = new Promise<void>((resolve) => (stored = resolve));
    this.saving = saving;
    writes.push(() => {
      client
        .lwRecord(keys.job(this.jobId), this.token, field, bytes)
        .then(
          (applied) => {
            if (Number(applied) === 0) this.loseLease();
          },
          (error: unknown) => this.ctx.report(`storing the ${what} of job "${this.jobId}"`, error),
        )
        .finally(() => {
          stored();
          if (this.saving === saving) this.saving = undefined;
        });
    });
  }

  /** The last record on its way (one connection: the earlier ones are answered first). */
  private saving: Promise<void> | undefined;

  saved(): Promise<void> | undefined {
    return this.saving;
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.unwatch();
    // After the job's last writes: the next process reads what they acknowledged.
    const { client, keys, writes } = this.ctx;
    writes.push(() => {
      client.lwRelease(keys.job(this.jobId), keys.channel(this.jobId), this.token).then(
        (applied) => {
          if (Number(applied) === 0) this.loseLease();
          this.end(Number(applied) === 0 ? "lost" : "released");
        },
        (error: unknown) => {
          this.ctx.report(`releasing job "${this.jobId}"`, error);
          this.end("released");
        },
      );
    });
  }

  /** @internal Another process holds the job now (or Redis lost it: `reason`): stop, and write nothing. */
  loseLease(reason?: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason ?? new Error(`another process took job "${this.jobId}" over (its fencing token was raised)`));
    // The runtime stops without finishing or releasing: the lease ends here, and BullMQ's slot is free again.
    if (this.done) return;
    this.done = true;
    this.unwatch();
    this.end("lost");
  }

  /** @internal The job's cancel request, read with its input: delivered now, not after the notification's round trip. */
  cancelFound(reason: string): void {
    if (this.cancelReason === undefined) this.cancelReason = reason;
    this.deliverCancel();
  }

  private lookForCancel(): void {
    if (this.done || this.cancelDelivered) return;
    this.ctx.writes.afterWrites(() => this.ctx.client.hget(this.ctx.keys.job(this.jobId), "cx")).then(
      (reason) => {
        if (reason !== null && this.cancelReason === undefined) this.cancelReason = reason;
        this.deliverCancel();
      },
      (error: unknown) => this.ctx.report(`reading the cancel request of job "${this.jobId}"`, error),
    );
  }

  /**
   * After a reconnect: the job's hash gone means Redis lost the job; another
   * token means another process took it while this one was cut off (its
   * lease expired). Either way this process stops now, not at its next
   * write. A cancel request is looked for as well.
   */
  private lookAgain(): void {
    if (this.done) return;
    const { client, keys, writes } = this.ctx;
    writes.afterWrites(() => client.hmget(keys.job(this.jobId), "tok", "cx")).then(
      ([token, reason]) => {
        if (token === null) this.ctx.jobLost(this.jobId);
        else if (token !== this.token) this.ctx.fenced(this.jobId);
        else {
          if (reason !== null && this.cancelReason === undefined) this.cancelReason = reason;
          this.deliverCancel();
        }
      },
      (error: unknown) => this.ctx.report(`reading the state of job "${this.jobId}"`, error),
    );
  }

  private deliverCancel(): void {
    if (this.cancelDelivered || this.cancelReason === undefined || !this.cancelHandler || this.done) return;
    this.cancelDelivered = true;
    this.cancelHandler(this.cancelReason);
  }
}
