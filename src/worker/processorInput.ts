import { UnknownTagError } from "../errors.js";
import type { StreamConsumer } from "../backend/Backend.js";
import { PerTag } from "./PerTag.js";
import { AttemptInputReader, type AttemptGuard, type Committer, type InputChannel } from "../stream/InputChannel.js";
import type { AttemptState } from "./WorkerState.js";

/**
 * The state behind one attempt's processor `input`: its readers, created per
 * tag on first use (most processors read one tag). A stateful worker's
 * (`state`) acknowledge every input at once, with the state.
 */
class AttemptInputs extends PerTag<AttemptInputReader> implements Committer {
  /** The processor's `input` (a function of the tag, with `merge` and async iteration). */
  input: unknown;

  constructor(
    private readonly specName: string,
    private readonly channels: ReadonlyMap<string, InputChannel>,
    private readonly attempt: AttemptGuard,
    private readonly state: AttemptState | undefined,
  ) {
    super();
  }

  readerFor(tag: string): AttemptInputReader {
    const reader = this.cached(tag);
    if (reader) return reader;
    const channel = this.channels.get(tag);
    if (!channel) throw new UnknownTagError(this.specName, "input", tag, [...this.channels.keys()]);
    return this.remember(new AttemptInputReader(channel, this.attempt, this.state ? this : undefined));
  }

  /** The processor returned: acknowledges what it took (a stateful worker's with its state, which then closes). */
  acknowledgeAll(): void {
    if (this.state) {
      this.commitNow();
      this.state.close();
    } else this.each((reader) => reader.acknowledge());
  }

  /**
   * A stateful worker's acknowledgement: every message its readers took
   * (whichever input asked for its next one) is committed with the state as
   * it is now, so the state never holds effects of a message a restart
   * would hand out again. Nothing is sent when nothing is new.
   */
  commitNow(): void {
    const only = this.single();
    if (only) {
      // One input (most workers): no arrays but the consumer's, kept per reader.
      if (!only.unacknowledged && !this.state!.changed) return;
      this.state!.commit(only.unacknowledged ? only.asConsumers : NONE);
      only.unacknowledged = false;
      return;
    }
    let taken: AttemptInputReader[] | undefined;
    this.each((reader) => {
      if (reader.unacknowledged) (taken ??= []).push(reader);
    });
    if (!taken && !this.state!.changed) return;
    this.state!.commit(taken ? taken.map((reader) => reader.consumer) : NONE);
    if (taken) for (const reader of taken) reader.unacknowledged = false;
  }
}

/** No consumer: a commit of the state alone. */
const NONE: readonly StreamConsumer[] = [];

/** A loop over one tag. The reader outlives a `break`: a later loop goes on where this one stopped. */
class TagIterator implements AsyncIterableIterator<unknown> {
  constructor(private readonly reader: AttemptInputReader) {}

  next(): Promise<IteratorResult<unknown>> {
    return this.reader.next();
  }

  async return(): Promise<IteratorResult<unknown>> {
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Builds the `input` of one attempt's processor context. `acknowledgeAll`
 * is a method of the returned object: call it on that object. With `state`
 * (a stateful worker), acknowledgements commit it.
 */
export function createProcessorInput(
  specName: string,
  channels: ReadonlyMap<string, InputChannel>,
  attempt: AttemptGuard,
  state?: AttemptState,
): { input: unknown; acknowledgeAll(): void } {
  const inputs = new AttemptInputs(specName, channels, attempt, state);
  const tagInput = (tag: string) => {
    const reader = inputs.readerFor(tag);
    return { tag, [Symbol.asyncIterator]: () => new TagIterator(reader) };
  };
  inputs.input = Object.assign(tagInput, {
    merge: (...tags: string[]) => ({
      [Symbol.asyncIterator]: () => merge(tags.map((tag) => inputs.readerFor(tag)), attempt),
    }),
    [Symbol.asyncIterator]: () => new TagIterator(inputs.readerFor("default")),
  });
  return inputs;
}

/**
 * Reads several tags in arrival order (oldest append first among messages
 * already there, once every tag without one caught up: see
 * `StreamConsumer.catchUp`), acknowledging each message when the next is asked for.
 * Ends when every tag has ended.
 */
async function* merge(readers: AttemptInputReader[], attempt: AttemptGuard): AsyncGenerator<{ tag: string; data: unknown }> {
  const live = new Set(readers);
  // One pending wait per reader, reused across rounds, so waiting on a quiet
  // tag while a busy one streams does not pile up callbacks.
  const waits = new Map<AttemptInputReader, Promise<{ r: AttemptInputReader; m: unknown }>>();
  const waitFor = (r: AttemptInputReader) => {
    let wait = waits.get(r);
    if (!wait) {
      wait = r.peek().then((m) => {
        waits.delete(r);
        return { r, m };
      });
      waits.set(r, wait);
    }
    return wait;
  };
  let last: AttemptInputReader | undefined;
  while (live.size > 0) {
    last?.acknowledge();
    last = undefined;
    let chosen: AttemptInputReader | undefined;
    let chosenAt = Infinity;
    for (const reader of live) {
      const message = reader.peekNow();
      // By append order, not timestamp: messages written in the same millisecond tie on timestamps.
      if (message && message.order < chosenAt) {
        chosen = reader;
        chosenAt = message.order;
      }
    }
    if (!chosen) {
      attempt.enterWait();
      let settled;
      try {
        settled = await Promise.race([...live].map(waitFor));
      } finally {
        attempt.leaveWait();
      }
      if (!settled.m) live.delete(settled.r);
      // Chosen among every tag's next message, as any other.
      continue;
    }
    const message = chosen.peekNow()!;
    // A backend whose inputs are read each on its own (Redis) may not show yet another tag's message that
    // arrived before this one: once each such tag caught up, choose again.
    let catchingUp: Array<Promise<void>> | undefined;
    for (const reader of live) {
      if (reader === chosen || reader.peekNow()) continue;
      const caught = reader.catchUp(message);
      if (caught) (catchingUp ??= []).push(caught);
    }
    if (catchingUp) {
      await Promise.all(catchingUp);
      continue;
    }
    const data = chosen.take(message);
    last = chosen;
    yield { tag: chosen.tag, data };
  }
}
