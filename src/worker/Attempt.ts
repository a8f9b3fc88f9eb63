import { AttemptAbandonedError, TimeoutError } from "../errors.js";
import type { Clock } from "../clock.js";

/**
 * One run of `init` + processor. The XState promise actor that runs it owns
 * `signal`: when the worker leaves the state (error, stop, timeout), the
 * signal aborts and the attempt is fenced: its reads, acks and emits throw,
 * so a stale processor cannot touch the job.
 */
export class Attempt {
  private lastBeat: number;
  private watchdog: unknown;
  private failWith: ((error: unknown) => void) | undefined;
  /** A failure that came before `settle` was called. */
  private earlyFailure: { error: unknown } | undefined;
  private readonly controller = new AbortController();
  private live = true;
  /** Waits inside the library (for input, for a slow reader): not a stall. */
  private libraryWaits = 0;

  /**
   * @param actorSignal the signal of the XState promise actor running the
   *   attempt: it aborts when the worker leaves the attempt's state.
   */
  constructor(
    readonly workerName: string,
    readonly number: number,
    actorSignal: AbortSignal,
    private readonly clock: Clock,
    private readonly heartbeatMs: number | undefined,
  ) {
    this.lastBeat = clock.now();
    if (actorSignal.aborted) this.abandon();
    else actorSignal.addEventListener("abort", this, { once: true });
  }

  /** The actor's signal aborted: the attempt is abandoned. */
  handleEvent(): void {
    this.abandon();
  }

  /**
   * Settles like `run`, or rejects as soon as the attempt fails from outside
   * the processor (stall, invalid emit).
   */
  settle(run: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.earlyFailure) reject(this.earlyFailure.error);
      this.failWith = reject;
      run.then(() => resolve(), reject);
    });
  }

  /** Aborts when the attempt is abandoned; its reason is an `AttemptAbandonedError`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get fenced(): boolean {
    return !this.live;
  }

  /** Throws the abort reason once the attempt is fenced. */
  assertLive(): void {
    if (!this.live) throw this.signal.reason;
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
   * Fences the attempt after it failed. XState aborts an attempt actor's
   * signal only when it is stopped while pending; an attempt that already
   * rejected (stall, invalid emit, a throw with work left in the background)
   * would otherwise keep a live signal and could still emit.
   */
  abandon(): void {
    if (!this.live) return;
    // `live` turns false before any other code sees the abort; assertLive
    // (several calls per message) then reads a field, not AbortSignal's getter.
    this.live = false;
    this.stopWatchdog();
    this.controller.abort(new AttemptAbandonedError(this.workerName, this.number));
  }

  /** Fails the attempt now (the processor's own promise is abandoned). */
  fail(error: unknown): void {
    if (this.failWith) this.failWith(error);
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
