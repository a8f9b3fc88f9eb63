/**
 * A small seeded random number generator (mulberry32) for tests whose
 * schedule is random but must be replayable: the same seed gives the same
 * sequence of numbers.
 */
export interface SeededRandom {
  readonly seed: number;
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number;
  /** One element of `items` (not empty). */
  pick<T>(items: readonly T[]): T;
}

/**
 * @param seed an integer in [0, 2^32).
 * @throws RangeError when `seed` is not such an integer.
 */
export function seededRandom(seed: number): SeededRandom {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`seededRandom: seed must be an integer in [0, 2^32); got ${seed}`);
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new RangeError("seededRandom.pick: no items");
      return items[Math.floor(next() * items.length)]!;
    },
  };
}
