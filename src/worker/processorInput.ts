import { UnknownTagError } from "../errors.js";
import { AttemptInputReader, type AttemptGuard, type InputChannel } from "../stream/InputChannel.js";

/** Builds the `input` of one attempt's processor context. */
export function createProcessorInput(
  specName: string,
  channels: ReadonlyMap<string, InputChannel>,
  attempt: AttemptGuard,
): { input: unknown; acknowledgeAll(): void } {
  const readers = new Map<string, AttemptInputReader>();
  const readerFor = (tag: string): AttemptInputReader => {
    let reader = readers.get(tag);
    if (!reader) {
      const channel = channels.get(tag);
      if (!channel) throw new UnknownTagError(specName, "input", tag, [...channels.keys()]);
      reader = new AttemptInputReader(channel, attempt);
      readers.set(tag, reader);
    }
    return reader;
  };
  const iterate = (tag: string): AsyncIterableIterator<unknown> => {
    const reader = readerFor(tag);
    // The reader outlives a `break`: a later loop goes on where this one stopped.
    const iterator: AsyncIterableIterator<unknown> = {
      next: () => reader.next(),
      return: async () => ({ done: true, value: undefined }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  };
  const tagInput = (tag: string) => {
    readerFor(tag);
    return { tag, [Symbol.asyncIterator]: () => iterate(tag) };
  };
  const input = Object.assign(tagInput, {
    merge: (...tags: string[]) => ({ [Symbol.asyncIterator]: () => merge(tags.map(readerFor)) }),
    [Symbol.asyncIterator]: () => iterate("default"),
  });
  return {
    input,
    acknowledgeAll: () => {
      for (const reader of readers.values()) reader.acknowledge();
    },
  };
}

/**
 * Reads several tags in arrival order (oldest append first among messages
 * already there), acknowledging each message when the next is asked for.
 * Ends when every tag has ended.
 */
async function* merge(readers: AttemptInputReader[]): AsyncGenerator<{ tag: string; data: unknown }> {
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
      if (message && message.sequence < chosenAt) {
        chosen = reader;
        chosenAt = message.sequence;
      }
    }
    if (!chosen) {
      const settled = await Promise.race([...live].map(waitFor));
      if (!settled.m) {
        live.delete(settled.r);
        continue;
      }
      chosen = settled.r;
    }
    const message = chosen.peekNow();
    if (!message) {
      // The race winner's stream ended with nothing more: drop it.
      if ((await chosen.peek()) === undefined) live.delete(chosen);
      continue;
    }
    const data = chosen.take(message);
    last = chosen;
    yield { tag: chosen.tag, data };
  }
}
