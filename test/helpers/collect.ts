import type { OutputMessage } from "../../src/index.js";

/**
 * Reads an output reader to its end and returns every `data` in order.
 * Rejects with whatever the reader throws (the job's error when it failed).
 *
 * @example
 * const all = await collect(job.output);
 */
export async function collect<T>(reader: AsyncIterable<OutputMessage<T>>): Promise<T[]> {
  const all: T[] = [];
  for await (const { data } of reader) all.push(data);
  return all;
}

/** Like `collect`, but keeps whole messages (`data` and `timestamp`). */
export async function collectMessages<T>(reader: AsyncIterable<OutputMessage<T>>): Promise<OutputMessage<T>[]> {
  const all: OutputMessage<T>[] = [];
  for await (const message of reader) all.push(message);
  return all;
}

/** Reads until the end or an error; returns what came before and the error (if any). */
export async function collectUntilError<T>(reader: AsyncIterable<OutputMessage<T>>): Promise<{ data: T[]; error: unknown }> {
  const data: T[] = [];
  try {
    for await (const message of reader) data.push(message.data);
  } catch (error) {
    return { data, error };
  }
  return { data, error: undefined };
}

/**
 * Lets queued promise callbacks and I/O callbacks run (a few macrotask
 * turns). Used only to show that something did NOT happen; every positive
 * wait in the tests is event-driven.
 */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled yet, without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly settled: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}
