import type { JobStream, StreamMessage, StreamReader } from "../backend/Backend.js";
import type { OutputMessage } from "../spec/types.js";
import { CallOrder } from "../stream/CallOrder.js";

/**
 * One reader of an output, from the oldest message kept. Calls of `next` are
 * served in call order, each getting the next message (as Node's stream
 * iterators do), even when made without awaiting the previous one.
 */
export class OutputIterator implements AsyncIterableIterator<OutputMessage<unknown>> {
  private readonly reader: StreamReader;
  private closed = false;
  private readonly order = new CallOrder<IteratorResult<OutputMessage<unknown>>>();

  constructor(stream: JobStream) {
    this.reader = stream.reader("oldest");
  }

  /** Not async: a message already there (a reader that keeps up) costs one settled promise. */
  next(): Promise<IteratorResult<OutputMessage<unknown>>> {
    return this.order.busy ? this.order.after(() => this.nextNow(false)) : this.nextNow(true);
  }

  /** Serves one call now. `track`: a wait becomes the call later ones queue behind (a queued turn already is). */
  private nextNow(track: boolean): Promise<IteratorResult<OutputMessage<unknown>>> {
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    try {
      const ready = this.reader.nextNow();
      if (ready) return Promise.resolve(this.resultOf(ready));
      if (track && this.reader.whenReady) return this.waitReady();
      if (!track) return this.reader.next().then(this.continuation(false), this.failure(false));
      return this.order.hold(this.reader.next().then(this.continuation(true), this.failure(true)));
    } catch (error) {
      this.close();
      return Promise.reject(error);
    }
  }

  /** A held wait through `whenReady`: one promise, resolved by `wake` with the message it takes. */
  private waitReady(): Promise<IteratorResult<OutputMessage<unknown>>> {
    const waiting = new Promise<IteratorResult<OutputMessage<unknown>>>((this.capture ??= (resolve, reject) => {
      this.resolveWait = resolve;
      this.rejectWait = reject;
    }));
    this.order.hold(waiting);
    this.reader.whenReady!((this.wake ??= () => this.woken()));
    return waiting;
  }

  /** The wait of `waitReady` is over: takes the message (else the end, the error, or an early wake: then `next` tells). */
  private woken(): void {
    const resolve = this.resolveWait!;
    const reject = this.rejectWait!;
    this.resolveWait = undefined;
    this.rejectWait = undefined;
    this.order.release();
    try {
      const message = this.reader.nextNow();
      resolve(message ? this.resultOf(message) : this.reader.next().then(this.continuation(false), this.failure(false)));
    } catch (error) {
      this.close();
      reject(error);
    }
  }

  // Made once per iterator, not per wait.
  private capture: ((resolve: (result: IteratorResult<OutputMessage<unknown>> | Promise<IteratorResult<OutputMessage<unknown>>>) => void, reject: (error: unknown) => void) => void) | undefined;
  private wake: (() => void) | undefined;
  private resolveWait: ((result: IteratorResult<OutputMessage<unknown>> | Promise<IteratorResult<OutputMessage<unknown>>>) => void) | undefined;
  private rejectWait: ((error: unknown) => void) | undefined;

  /** Continues a `next` that waited; a held one (`track`) first lets later calls through. Made once per iterator, not per wait. */
  private continuation(track: boolean): (message: StreamMessage | undefined) => IteratorResult<OutputMessage<unknown>> {
    if (track) {
      return (this.resumeHeld ??= (message) => {
        this.order.release();
        return this.resultOf(message);
      });
    }
    return (this.resume ??= (message) => this.resultOf(message));
  }

  private failure(track: boolean): (error: unknown) => never {
    if (track) {
      return (this.failHeld ??= (error: unknown) => {
        this.order.release();
        this.close();
        throw error;
      });
    }
    return (this.fail ??= (error: unknown) => {
      this.close();
      throw error;
    });
  }

  private resumeHeld: ((message: StreamMessage | undefined) => IteratorResult<OutputMessage<unknown>>) | undefined;
  private resume: ((message: StreamMessage | undefined) => IteratorResult<OutputMessage<unknown>>) | undefined;
  private failHeld: ((error: unknown) => never) | undefined;
  private fail: ((error: unknown) => never) | undefined;

  private resultOf(message: StreamMessage | undefined): IteratorResult<OutputMessage<unknown>> {
    if (!message) {
      this.close();
      return { done: true, value: undefined };
    }
    return { done: false, value: { data: message.data, timestamp: message.timestamp } };
  }

  async return(): Promise<IteratorResult<OutputMessage<unknown>>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
  }
}
