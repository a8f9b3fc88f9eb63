/**
 * Output timestamps with the system clock: one reading stamps up to 16
 * messages while they come faster than one a millisecond, in one turn of
 * the event loop (src/stream/stampClock.ts); readers see emit times.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import { STAMPS_PER_READING, stampNow } from "../src/stream/stampClock.js";

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.restoreAllMocks();
});

describe("stampNow", () => {
  it("reads the clock per stamp while stamps are a millisecond or more apart", async () => {
    await nextTurn();
    let now = 1_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    const stamps = [];
    for (let i = 0; i < 5; i++) {
      stamps.push(stampNow());
      now += 1;
    }
    expect(stamps).toEqual([1_000, 1_001, 1_002, 1_003, 1_004]);
    expect(clock).toHaveBeenCalledTimes(5);
  });

  it("lets one reading stamp the next 15 once two stamps fall in one millisecond, then reads again", async () => {
    await nextTurn();
    let now = 2_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    expect(stampNow()).toBe(2_000);
    expect(stampNow()).toBe(2_000); // the same millisecond: the next 15 stamps take it
    now = 2_001;
    const reused = Array.from({ length: STAMPS_PER_READING - 1 }, () => stampNow());
    expect(reused).toEqual(Array(STAMPS_PER_READING - 1).fill(2_000));
    expect(clock).toHaveBeenCalledTimes(2);
    expect(stampNow()).toBe(2_001);
    expect(clock).toHaveBeenCalledTimes(3);
  });

  it("reads the clock again in the next turn of the event loop", async () => {
    await nextTurn();
    let now = 3_000;
    vi.spyOn(Date, "now").mockImplementation(() => now);
    stampNow();
    stampNow(); // opens a run of 15 reuses
    now = 3_050;
    await nextTurn();
    expect(stampNow()).toBe(3_050);
  });
});

describe("output timestamps with the system clock", () => {
  it("fall between the job's start and end, in emit order", async () => {
    const env = LiveEnv.create({ logger: silentLogger });
    try {
      const spec = JobSpec.define({ name: "stamped", output: z.number() });
      spec.defineWorker({
        liveEnv: env,
        processor: async ({ output }) => {
          for (let i = 0; i < 200; i++) await output.emit(i);
          await new Promise((resolve) => setTimeout(resolve, 20));
          for (let i = 200; i < 210; i++) await output.emit(i);
        },
      });
      const before = Date.now();
      const job = await spec.enqueueJob({ liveEnv: env });
      const messages = [];
      for await (const message of job.output) messages.push(message);
      const after = Date.now();
      expect(messages.map((m) => m.data)).toEqual(Array.from({ length: 210 }, (_, i) => i));
      const stamps = messages.map((m) => m.timestamp);
      for (const stamp of stamps) {
        expect(stamp).toBeGreaterThanOrEqual(before);
        expect(stamp).toBeLessThanOrEqual(after);
      }
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1]!);
      // Emitted after a 20 ms pause (a later turn): not stamped with a reading from before it.
      expect(stamps[200]! - stamps[199]!).toBeGreaterThanOrEqual(10);
    } finally {
      await env.close();
    }
  });
});
