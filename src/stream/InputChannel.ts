import type { JobStream, StreamConsumer, StreamMessage, WriteGuard } from "../backend/Backend.js";
import { CallOrder } from "./CallOrder.js";

/**
 * One input tag of a job: its stream, whose acknowledged offset outlives
 * attempts (as a Redis Streams consumer group's). Each attempt reads from the
 * first unacknowledged message.
 */
export interface InputChannel {
  tag: string;
  stream: JobStream;
}

/**
 * Minimal view of an attempt a reader needs: it fences the reader's
 * acknowledgements, and once it is abandoned a pending read rejects with its reason.
 */
export interface AttemptGuard extends WriteGuard {
  beat(): void;
  /** Marks a wait for input (not a stall for the heartbeat timeout). */
  enterWait(): void;
  leaveWait(): void;
}

/** Acknowledges a stateful worker's input with its state (every input of the attempt at once). */
export interface Committer {
  /** Commits the state with every message the attempt's readers took, if anything is new. */
  commitNow(): void;
}

/**
 * An attempt's reader of one input tag. A message is acknowledged when the
 * processor asks for the next one, or when the processor returns; a
 * stateful worker's (`committer`) is committed with its state then.
 */
export class AttemptInputReader {
  /** @internal This attempt's consumer of the input. */
  readonly consumer: StreamConsumer;
  /** @internal True while a message was handed out and not acknowledged. */
  unacknowledged = false;
  /** @internal `[consumer]`, for a stateful worker's commit of this input alone (made once). */
  get asConsumers(): readonly StreamConsumer[] {
    return (this.consumers ??= [this.consumer]);
  }
  private consumers: readonly StreamConsumer[] | undefined;
  private pending: Promise<StreamMessage | undefined> | undefined;

  constructor(
    readonly channel: InputChannel,
    private readonly attempt: AttemptGuard,
    private readonly committer?: Committer,
  ) {
    this.consumer = channel.stream.consumer(attempt);
  }

  get tag(): string {
    return this.channel.tag;
  }

  /** Acknowledges the message last handed out. */
  acknowledge(): void {
    if (this.committer) return this.committer.commitNow();
    if (!this.unacknowledged) return;
    // The consumer's guard is this attempt: a fenced attempt's ack throws there.
    this.consumer.ack();
    this.unacknowledged = false;
  }

  /** The next message if it is already there (no waiting), without taking it. */
  peekNow(): StreamMessage | undefined {
    return this.consumer.peekNow();
  }

  /** Resolves once `peekNow` shows any message of this tag that arrived before `other` (another tag's); undefined when it does already. */
  catchUp(other: StreamMessage): Promise<void> | undefined {
    return this.consumer.catchUp?.(other);
  }

  /** Waits for the next message (or the end) without taking it. */
  peek(): Promise<StreamMessage | undefined> {
    if (!this.pending) {
      // A processor waiting for input wakes (with the abort reason) when its
      // attempt is abandoned (cancel, close, restart), not at its stop timeout.
      const pending = this.consumer.peek(this.attempt);
      const clear = () => {
        if (this.pending === pending) this.pending = undefined;
      };
      // A merge may abandon a pending peek; its outcome must not go unhandled.
      pending.then(clear, clear);
      this.pending = pending;
    }
    return this.pending;
  }

  /** Takes `message` (from peek): it is handed out, not yet acknowledged. */
  take(message: StreamMessage): unknown {
    this.attempt.assertLive();
    this.consumer.take(message);
    this.unacknowledged = true;
    this.attempt.beat();
    return message.data;
  }

  /**
   * Acknowledges the message handed out last, then hands out the next one.
   * Calls are served in call order, each getting the next message, even when
   * made without awaiting the previous one.
   */
  next(): Promise<IteratorResult<unknown>> {
    return this.order.busy ? this.order.after(() => this.nextNow(false)) : this.nextNow(true);
  }

  /** Not async: a message already there costs one settled promise, a wait one `then`. */
  private nextNow(track: boolean): Promise<IteratorResult<unknown>> {
    try {
      // The per-message path: the consumer is called directly (fewer frames for V8 to inline).
      if (this.committer) this.committer.commitNow();
      else if (this.unacknowledged) {
        this.consumer.ack();
        this.unacknowledged = false;
      }
      this.attempt.beat();
      const ready = this.consumer.peekNow();
      if (ready) return Promise.resolve(this.resultOf(ready));
      const waiting = this.pending ?? this.consumer.peek(this.attempt);
      this.attempt.enterWait();
      if (!track) return waiting.then(this.continuation(false), this.failure(false));
      return this.order.hold(waiting.then(this.continuation(true), this.failure(true)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private readonly order = new CallOrder<IteratorResult<unknown>>();

  /** Continues a `next` that waited; a held one (`track`) first lets later calls through. Made once per reader, not per wait. */
  private continuation(track: boolean): (message: StreamMessage | undefined) => IteratorResult<unknown> {
    if (track) {
      return (this.resumeHeld ??= (message) => {
        this.order.release();
        this.attempt.leaveWait();
        return this.resultOf(message);
      });
    }
    return (this.resume ??= (message) => {
      this.attempt.leaveWait();
      return this.resultOf(message);
    });
  }

  private failure(track: boolean): (error: unknown) => never {
    if (track) {
      return (this.failHeld ??= (error: unknown) => {
        this.order.release();
        this.attempt.leaveWait();
        throw error;
      });
    }
    return (this.fail ??= (error: unknown) => {
      this.attempt.leaveWait();
      throw error;
    });
  }

  private resumeHeld: ((message: StreamMessage | undefined) => IteratorResult<unknown>) | undefined;
  private resume: ((message: StreamMessage | undefined) => IteratorResult<unknown>) | undefined;
  private failHeld: ((error: unknown) => never) | undefined;
  private fail: ((error: unknown) => never) | undefined;

  private resultOf(message: StreamMessage | undefined): IteratorResult<unknown> {
    if (message) return { done: false, value: this.take(message) };
    this.attempt.assertLive();
    return { done: true, value: undefined };
  }
}
