/**
 * Memory-only: `StreamReader.whenReady` is optional in the seam and the
 * memory backend is the one that has it (a job's output reader makes one
 * promise per wait with it). Redis readers wait through `next`.
 */
import { describe, expect, it } from "vitest";
import { memoryBackend } from "../src/index.js";
import type { StreamReader } from "../src/backend/Backend.js";
import { TestGuard, streamKey, streamOptions } from "./helpers/backendProbes.js";

function openStream() {
  return memoryBackend().streams.open(streamKey("j1"), streamOptions());
}

/** Registers a wake on `reader` and counts its calls. */
function watch(reader: StreamReader, canceller?: TestGuard): { woken: () => number } {
  let count = 0;
  reader.whenReady!(() => count++, canceller);
  return { woken: () => count };
}

describe("StreamReader.whenReady in memory", () => {
  it("wakes a reader once, when the next message is appended, and nextNow then has it", () => {
    const stream = openStream();
    const reader = stream.reader();
    const { woken } = watch(reader);
    expect(woken()).toBe(0);
    void stream.append("a");
    expect(woken()).toBe(1);
    expect(reader.nextNow()?.data).toBe("a");
    void stream.append("b");
    expect(woken()).toBe(1);
  });

  it("wakes at once when a message is there already", () => {
    const stream = openStream();
    const reader = stream.reader();
    void stream.append("a");
    expect(watch(reader).woken()).toBe(1);
  });

  it("wakes every waiting reader of the stream", () => {
    const stream = openStream();
    const watched = [stream.reader(), stream.reader(), stream.reader()].map((reader) => watch(reader));
    void stream.append("a");
    expect(watched.map(({ woken }) => woken())).toEqual([1, 1, 1]);
  });

  it("wakes at the end, and next then resolves undefined at once", async () => {
    const stream = openStream();
    const reader = stream.reader();
    const { woken } = watch(reader);
    stream.end("done");
    expect(woken()).toBe(1);
    expect(reader.nextNow()).toBeUndefined();
    await expect(reader.next()).resolves.toBeUndefined();
    expect(watch(reader).woken()).toBe(1);
  });

  it("wakes on failure, and next then rejects with the stream's error", async () => {
    const stream = openStream();
    const reader = stream.reader();
    const { woken } = watch(reader);
    const error = new Error("the job failed");
    stream.fail(error, "failed");
    expect(woken()).toBe(1);
    await expect(reader.next()).rejects.toBe(error);
  });

  it("wakes when its canceller fires, and next then rejects with its reason", async () => {
    const stream = openStream();
    const reader = stream.reader();
    const attempt = new TestGuard();
    const { woken } = watch(reader, attempt);
    const reason = new Error("attempt abandoned");
    attempt.cancel(reason);
    expect(woken()).toBe(1);
    await expect(reader.next(attempt)).rejects.toBe(reason);
    expect(watch(reader, attempt).woken()).toBe(1);
  });
});
