/**
 * Memory-only: how far a waiting writer lets its reader catch up before it
 * goes on is the memory stream's choice (the seam only says "once there is
 * room"). Waking at half the high-water mark, not at the first message
 * read, lets a writer that outruns its reader append half the mark per
 * wait instead of one message per wait (a promise per message).
 */
import { describe, expect, it } from "vitest";
import { memoryBackend } from "../src/index.js";
import { streamKey, streamOptions } from "./helpers/backendProbes.js";

/** True when `promise` settled within a macrotask turn. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("a writer waiting for room in memory", () => {
  it("an output's writer waits until its slowest reader is back to half the high-water mark", async () => {
    const stream = memoryBackend().streams.open(streamKey("j1"), streamOptions({ highWaterMark: 6 }));
    const reader = stream.reader();
    for (let n = 0; n < 5; n++) expect(await settled(stream.append(n))).toBe(true);
    const full = stream.append(5);
    expect(await settled(full)).toBe(false);
    for (let n = 0; n < 2; n++) reader.nextNow(); // 4 behind: still above half the mark
    expect(await settled(full)).toBe(false);
    reader.nextNow(); // 3 behind: half the mark
    expect(await settled(full)).toBe(true);
  });

  it("an input's writer waits until half the high-water mark is unacknowledged", async () => {
    const stream = memoryBackend().streams.open(streamKey("j1", { role: "input" }), streamOptions({ highWaterMark: 4 }));
    for (let n = 0; n < 3; n++) expect(await settled(stream.append(n))).toBe(true);
    const full = stream.append(3);
    expect(await settled(full)).toBe(false);
    const consumer = stream.consumer();
    consumer.take(consumer.peekNow()!);
    consumer.ack(); // 3 unacknowledged
    expect(await settled(full)).toBe(false);
    consumer.take(consumer.peekNow()!);
    consumer.ack(); // 2: half the mark
    expect(await settled(full)).toBe(true);
  });

  it("with a high-water mark of 1, waits until the reader read everything", async () => {
    const stream = memoryBackend().streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
    const reader = stream.reader();
    const full = stream.append("a");
    expect(await settled(full)).toBe(false);
    reader.nextNow();
    expect(await settled(full)).toBe(true);
  });
});
