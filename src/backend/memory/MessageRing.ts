import type { StreamMessage } from "../Backend.js";

/** Slots of a ring made by the first append. */
const FIRST_CAPACITY = 16;

/**
 * The messages a memory stream keeps, by offset, in a ring buffer: slot
 * `offset & mask` of a power-of-two array. Appending and dropping are a
 * store each; the array is copied only to double when full or halve when a
 * quarter full (never below its first size). A base class, not a member:
 * no extra object per stream, and no array before the first message.
 */
export abstract class MessageRing {
  private ring: Array<StreamMessage | undefined> | undefined;
  private mask = 0;
  /** The oldest offset kept. */
  protected baseOffset = 0;
  /** The offset the next message gets. */
  protected nextOffset = 0;

  /** Keeps `message`, whose offset is `nextOffset`. */
  protected keep(message: StreamMessage): void {
    let ring = this.ring;
    if (ring === undefined || this.nextOffset - this.baseOffset > this.mask) ring = this.resize(ring === undefined ? FIRST_CAPACITY : (this.mask + 1) * 2);
    ring[this.nextOffset & this.mask] = message;
    this.nextOffset++;
  }

  /** @internal The message at `offset`, or the first kept after it; undefined when not written yet. */
  at(offset: number): StreamMessage | undefined {
    const from = offset < this.baseOffset ? this.baseOffset : offset;
    if (from >= this.nextOffset) return undefined;
    return this.ring![from & this.mask];
  }

  /** Drops the messages before `offset` (above `baseOffset`, at most `nextOffset`). */
  protected dropBefore(offset: number): void {
    const ring = this.ring!;
    const mask = this.mask;
    for (let dropped = this.baseOffset; dropped < offset; dropped++) ring[dropped & mask] = undefined;
    this.baseOffset = offset;
    const capacity = mask + 1;
    if (capacity > FIRST_CAPACITY && (this.nextOffset - offset) * 4 <= capacity) this.resize(capacity / 2);
  }

  /** Moves the kept messages into a new ring of `capacity` slots (a power of two, at least their count). */
  private resize(capacity: number): Array<StreamMessage | undefined> {
    const old = this.ring;
    const ring = new Array<StreamMessage | undefined>(capacity);
    const mask = capacity - 1;
    if (old !== undefined) for (let offset = this.baseOffset; offset < this.nextOffset; offset++) ring[offset & mask] = old[offset & this.mask];
    this.ring = ring;
    this.mask = mask;
    return ring;
  }
}
