import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY,
  decideRestart,
  isRetryableByDefault,
  resolveRetryPolicy,
  type RetryPolicy,
} from "../machines/restartPolicy.js";
import { UnrecoverableError, ValidationError, type RestartRecord } from "../src/errors.js";

const boom = new Error("boom");

/** A restart granted at `at` (only `at` matters to the decision). */
const restartAt = (at: number, attempt = 1): RestartRecord => ({
  attempt,
  at,
  delayMs: 0,
  error: { name: "Error", message: "boom" },
});

const policy = (overrides: Parameters<typeof resolveRetryPolicy>[0]): RetryPolicy => resolveRetryPolicy(overrides);

const delayOf = (decision: ReturnType<typeof decideRestart>): number => {
  if (!decision.restart) throw new Error(`expected a restart, got ${decision.reason}`);
  return decision.delayMs;
};

describe("resolveRetryPolicy", () => {
  it("applies the documented defaults", () => {
    expect(resolveRetryPolicy(undefined)).toEqual(DEFAULT_RETRY);
    expect(DEFAULT_RETRY).toEqual({
      maxRestarts: 3,
      withinMs: 60_000,
      backoff: { initialMs: 100, factor: 2, maxMs: 30_000, jitter: 0.2 },
      resetAfterMs: 60_000,
    });
  });

  it("merges a partial backoff with the defaults", () => {
    const resolved = policy({ backoff: { initialMs: 5 } });
    expect(resolved.backoff).toEqual({ initialMs: 5, factor: 2, maxMs: 30_000, jitter: 0.2 });
  });

  it.each([
    ["maxRestarts", { maxRestarts: -1 }],
    ["maxRestarts", { maxRestarts: Number.NaN }],
    ["maxRestarts", { maxRestarts: "3" as unknown as number }],
    ["withinMs", { withinMs: 0 }],
    ["resetAfterMs", { resetAfterMs: -5 }],
    ["backoff.initialMs", { backoff: { initialMs: -1 } }],
    ["backoff.factor", { backoff: { factor: 0.5 } }],
    ["backoff.maxMs", { backoff: { maxMs: -1 } }],
    ["backoff.jitter", { backoff: { jitter: 1.5 } }],
    ["backoff.jitter", { backoff: { jitter: -0.1 } }],
    ["backoff.jitter", { backoff: { jitter: Number.NaN } }],
  ])("rejects a bad %s with a ValidationError naming it", (name, options) => {
    expect(() => resolveRetryPolicy(options)).toThrow(ValidationError);
    expect(() => resolveRetryPolicy(options)).toThrow(`retry.${name}`);
  });
});

describe("decideRestart: restart intensity", () => {
  const p = policy({ maxRestarts: 3, withinMs: 1_000, backoff: { jitter: 0 } });

  it("grants maxRestarts restarts within the window, then gives up", () => {
    expect(decideRestart([], p, boom, 0, "s").restart).toBe(true);
    const three = [restartAt(0), restartAt(100), restartAt(200)];
    expect(decideRestart(three.slice(0, 2), p, boom, 300, "s").restart).toBe(true);
    expect(decideRestart(three, p, boom, 300, "s")).toEqual({ restart: false, reason: "intensity" });
  });

  it("slides: restarts older than withinMs no longer count", () => {
    const three = [restartAt(0), restartAt(100), restartAt(200)];
    // At 999 the restart at 0 is still inside the window; at 1000 it has left it.
    expect(decideRestart(three, p, boom, 999, "s").restart).toBe(false);
    expect(decideRestart(three, p, boom, 1_000, "s").restart).toBe(true);
    // Only restarts inside the window count, however many happened before.
    const many = [...Array.from({ length: 20 }, (_, i) => restartAt(i * 10)), restartAt(5_000), restartAt(5_100)];
    expect(decideRestart(many, p, boom, 5_200, "s").restart).toBe(true);
    expect(decideRestart([...many, restartAt(5_200)], p, boom, 5_300, "s").restart).toBe(false);
  });

  it("maxRestarts 0 fails on the first error", () => {
    expect(decideRestart([], policy({ maxRestarts: 0 }), boom, 0, "s")).toEqual({ restart: false, reason: "intensity" });
  });
});

describe("decideRestart: backoff", () => {
  const p = policy({ maxRestarts: 100, withinMs: 1e9, resetAfterMs: 1e9, backoff: { initialMs: 100, factor: 3, maxMs: 5_000, jitter: 0 } });

  it("grows by factor per consecutive restart and is capped at maxMs", () => {
    const delays: number[] = [];
    const history: RestartRecord[] = [];
    for (let i = 0; i < 8; i++) {
      delays.push(delayOf(decideRestart(history, p, boom, i * 10, "s")));
      history.push(restartAt(i * 10));
    }
    expect(delays).toEqual([100, 300, 900, 2_700, 5_000, 5_000, 5_000, 5_000]);
  });

  it("factor 1 gives a constant delay", () => {
    const constant = policy({ maxRestarts: 10, backoff: { initialMs: 40, factor: 1, jitter: 0 } });
    const history = [restartAt(0), restartAt(1), restartAt(2)];
    expect(delayOf(decideRestart(history, constant, boom, 3, "s"))).toBe(40);
  });

  it("jitter keeps every delay within base × (1 ± jitter), and spreads it", () => {
    const jitter = 0.25;
    const jittered = policy({ maxRestarts: 100, withinMs: 1e9, resetAfterMs: 1e9, backoff: { initialMs: 100, factor: 2, maxMs: 1_000, jitter } });
    for (let streak = 0; streak < 6; streak++) {
      const base = Math.min(1_000, 100 * 2 ** streak);
      const history = Array.from({ length: streak }, (_, i) => restartAt(i));
      const seen = new Set<number>();
      for (let seed = 0; seed < 2_000; seed++) {
        const delay = delayOf(decideRestart(history, jittered, boom, streak, `job-${seed}:${streak}`));
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)));
        seen.add(delay);
      }
      // 2 000 seeds over a ±25 % range: the hash must actually spread them.
      expect(seen.size).toBeGreaterThan(base / 10);
      expect(Math.min(...seen)).toBeLessThan(base * (1 - jitter / 2));
      expect(Math.max(...seen)).toBeGreaterThan(base * (1 + jitter / 2));
    }
  });

  it("the same seed gives the same delay (deterministic)", () => {
    const jittered = policy({ backoff: { jitter: 0.5 } });
    expect(decideRestart([], jittered, boom, 0, "job-1:0")).toEqual(decideRestart([], jittered, boom, 0, "job-1:0"));
  });

  it("resetAfterMs: a run that lasted that long starts the backoff again from initialMs", () => {
    const r = policy({ maxRestarts: 100, withinMs: 1e9, resetAfterMs: 1_000, backoff: { initialMs: 100, factor: 2, maxMs: 1e6, jitter: 0 } });
    const history = [restartAt(0), restartAt(10), restartAt(20)];
    // Failing again soon after the last restart: the streak goes on (100·2³).
    expect(delayOf(decideRestart(history, r, boom, 500, "s"))).toBe(800);
    // Ran cleanly for resetAfterMs since the last restart: fresh streak.
    expect(delayOf(decideRestart(history, r, boom, 1_020, "s"))).toBe(100);
    // A quiet gap earlier in the history cuts the streak there.
    const gap = [restartAt(0), restartAt(10), restartAt(5_000), restartAt(5_010)];
    expect(delayOf(decideRestart(gap, r, boom, 5_020, "s"))).toBe(400);
  });
});

describe("decideRestart: retryable", () => {
  const p = policy({ maxRestarts: 5 });

  it("does not retry UnrecoverableError or ValidationError by default", () => {
    expect(decideRestart([], p, new UnrecoverableError("no"), 0, "s")).toEqual({ restart: false, reason: "unrecoverable" });
    expect(decideRestart([], p, new ValidationError("bad emit"), 0, "s")).toEqual({ restart: false, reason: "unrecoverable" });
    expect(isRetryableByDefault(new Error("x"))).toBe(true);
    expect(isRetryableByDefault("a string")).toBe(true);
  });

  it("a retryable predicate decides, and is consulted before the budget", () => {
    const seen: unknown[] = [];
    const only = policy({
      maxRestarts: 0,
      retryable: (error) => {
        seen.push(error);
        return error instanceof TypeError;
      },
    });
    expect(decideRestart([], only, new RangeError("r"), 0, "s")).toEqual({ restart: false, reason: "unrecoverable" });
    // Retryable, but the budget (0) is spent: intensity, not unrecoverable.
    expect(decideRestart([], only, new TypeError("t"), 0, "s")).toEqual({ restart: false, reason: "intensity" });
    expect(seen).toHaveLength(2);
    const permissive = policy({ maxRestarts: 1, retryable: () => true });
    expect(decideRestart([], permissive, new UnrecoverableError("override"), 0, "s").restart).toBe(true);
  });
});
