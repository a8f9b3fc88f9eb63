import { AttemptAbandonedError, TimeoutError } from "../errors.js";
import type { Clock } from "../clock.js";
import type { WaitCanceller } from "../backend/Backend.js";
import type { AttemptRun } from "../job/attemptActor.js";
import type { Logger } from "../logger.js";

/** The node whose worker runs attempts. */
export interface AttemptOwner {
  /** The logger of an attempt's user code: the job's and the attempt's fields bound. */
  attemptLogger(attempt: number): Logger;
  /** The worker left the attempt's state while it ran (stop, restart, timeout). */
  abandonAttempt(attempt: Attempt): void;
  /** The attempt's processor reported progress. */
  attemptProgress(attempt: Attempt, value: unknown): void;
}

/**
 * One run of `init` + processor: they share this attempt and its `signal`,
 * which aborts when the attempt fails or is abandoned. When the worker leaves the attempt's state
 * (error, stop, timeout) the XState actor running it calls `abandon`: the
 * attempt is fenced (its reads, acks and emits throw, so a stale processor
 * cannot touch the job), its `signal` aborts, and stream waits it is in wake.
 */
export class Attempt implements WaitCanceller, AttemptRun {
  private lastBeat: number;
  private watchdog: unknown;
  private failWith: ((error: unknown) => void) | undefined;
  /** The first failure from outside the processor (stall, invalid emit), whenever it came. */
  failure: { error: unknown } | undefined;
  /** A failure that came before `watchFailures` was called. */
  private earlyFailure: { error: unknown } | undefined;
  /** Made when `signal` is first read: most processors never read it. */
  private controller: AbortController | undefined;
  private abandonedWith: AttemptAbandonedError | undefined;
  /** Stream waits to wake when abandoned (one per stream the attempt waited on). */
  private wakers: Array<() => void> | undefined;
  private live = true;
  /** Waits inside the library (for input, for a slow reader): not a stall. */
  private libraryWaits = 0;
  /** What this attempt's `init` returned (the processor's `resources`). */
  resources: unknown;
  /** True once `init` returned (or, without `init`, the processor started): `dispose` is then due. */
  initialized = false;
  /** True once the processor returned: its late `progress` calls are dropped. */
  returned = false;
  /** This attempt's `init`, once started. */
  pendingInit: Promise<unknown> | undefined;
  /** The user code of this attempt now running (its `init`, then its processor). */
  running: Promise<unknown> | undefined;
  /** This attempt's `dispose`, once started (it runs at most once). */
  disposal: Promise<void> | undefined;
  /** Made when `logger` is first read: most processors never log. */
  private boundLogger: Logger | undefined;
  private heartbeatCall: (() => void) | undefined;
  private progressCall: ((value: unknown) => void) | undefined;
  /** True once the attempt's processor settled, or it failed from outside first: its outcome is decided. */
  settled = false;

  constructor(
    readonly workerName: string,
    readonly number: number,
    private readonly clock: Clock,
    private readonly heartbeatMs: number | undefined,
    private readonly owner: AttemptOwner,
  ) {
    this.lastBeat = clock.now();
  }

  /** The logger of this attempt's user code (`init`, the processor, `dispose`): the job's and the attempt's fields bound. */
  get logger(): Logger {
    return (this.boundLogger ??= this.owner.attemptLogger(this.number));
  }

  /** The processor's `heartbeat()` (made when first read; works detached). */
  get heartbeat(): () => void {
    return (this.heartbeatCall ??= () => this.beat());
  }

  /** The processor's `progress(value)` (made when first read; works detached). */
  get progress(): (value: unknown) => void {
    return (this.progressCall ??= (value) => this.owner.attemptProgress(this, value));
  }

  /**
   * Calls `failed` when the attempt fails from outside the processor
   * (stall, invalid emit), after the current step; soon for a failure that
   * came before.
   */
  watchFailures(failed: (error: unknown) => void): void {
    this.failWith = failed;
    const early = this.earlyFailure;
    if (early) queueMicrotask(() => failed(early.error));
  }

  /** `AttemptRun`: the worker left the state of this attempt's phase while it ran. */
  abandonPhase(): void {
    this.owner.abandonAttempt(this);
  }

  /** Aborts when the attempt is abandoned; its reason is an `AttemptAbandonedError`. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (!this.live) this.controller.abort(this.abandonedWith);
    }
    return this.controller.signal;
  }

  get fenced(): boolean {
    return !this.live;
  }

  /** `WaitCanceller`: a stream wait of this attempt ends once it is abandoned. */
  get cancelled(): boolean {
    return !this.live;
  }

  get cancelReason(): unknown {
    return this.abandonedWith;
  }

  onCancel(wake: () => void): void {
    if (!this.live) wake();
    // Most attempts wait on one stream: an array of one, not an empty one grown to 17 slots by its first push.
    else if (this.wakers) this.wakers.push(wake);
    else this.wakers = [wake];
  }

  /** Throws the abandonment error once the attempt is fenced. */
  assertLive(): void {
    if (!this.live) throw this.abandonedWith;
  }

  /** Records progress for the heartbeat timeout. */
  beat(): void {
    if (this.heartbeatMs !== undefined) this.lastBeat = this.clock.now();
  }

  /**
   * The processor now waits inside the library (for input that has not come,
   * or for a slow reader): the heartbeat timeout does not count that time,
   * since the processor is pulling or emitting as asked.
   */
  enterWait(): void {
    this.libraryWaits++;
  }

  /** The library-side wait is over (a beat: the processor goes on). */
  leaveWait(): void {
    if (this.libraryWaits > 0) this.libraryWaits--;
    this.beat();
  }

  /**
   * Fences the attempt: called by its actor when the worker leaves the
   * attempt's state while it runs, and by the runtime after it failed (the
   * actor is then already settled: an attempt that rejected through a stall,
   * an invalid emit, or a throw with work left in the background must not
   * keep emitting).
   */
  abandon(): void {
    if (!this.live) return;
    this.live = false;
    this.abandonedWith = new AttemptAbandonedError(this.workerName, this.number);
    this.stopWatchdog();
    this.controller?.abort(this.abandonedWith);
    const wakers = this.wakers;
    this.wakers = undefined;
    if (wakers) for (const wake of wakers) wake();
  }

  /**
   * Fails the attempt now (the processor's own promise is abandoned). Kept
   * even after the processor returned: an emit it did not await may still
   * fail validation, and the attempt must then fail, not complete.
   */
  fail(error: unknown): void {
    this.failure ??= { error };
    const failWith = this.failWith;
    if (failWith) queueMicrotask(() => failWith(error));
    else this.earlyFailure ??= { error };
  }

  /** Starts the heartbeat timeout, if configured. */
  startWatchdog(): void {
    if (this.heartbeatMs === undefined || !this.live) return;
    this.lastBeat = this.clock.now();
    this.schedule(this.heartbeatMs);
  }

  private schedule(ms: number): void {
    this.watchdog = this.clock.setTimeout(() => {
      this.watchdog = undefined;
      if (!this.live) return;
      if (this.libraryWaits > 0) {
        this.schedule(this.heartbeatMs!);
        return;
      }
      const idle = this.clock.now() - this.lastBeat;
      if (idle >= this.heartbeatMs!) this.fail(new TimeoutError("heartbeat", this.heartbeatMs!));
      else this.schedule(this.heartbeatMs! - idle);
    }, ms);
  }

  stopWatchdog(): void {
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }
}
