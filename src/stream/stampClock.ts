/** Messages one clock reading may stamp when stamps come faster than one a millisecond. */
export const STAMPS_PER_READING = 16;

/**
 * The system clock as output streams read it to stamp messages. A reading
 * costs more than the rest of a message's hop on some machines (about 80 ns
 * on the project's CI machine), so under load one reading stamps a few
 * messages.
 *
 * The rule: when the clock shows the same millisecond as at the previous
 * stamp (stamps come faster than one a millisecond), its reading also
 * stamps the next `STAMPS_PER_READING - 1` messages stamped in the same
 * turn of the event loop; the clock is read again after them, and in the
 * next turn. A timestamp is then early by at most the time the messages
 * stamped since that reading took (at most 15, in one turn: microseconds
 * at the rates where this applies, unless the code emitting them runs long
 * between two emits without yielding to the event loop). Stamps further
 * apart each read the clock.
 *
 * State lives in an object, not in module-level `let`s: V8 reads and
 * writes those slower (this runs once per output message).
 */
class StampClock {
  private reading = Number.NaN;
  /** Stamps the reading may still give in this turn. */
  private reuses = 0;
  private turnEndScheduled = false;
  private readonly endOfTurn = (): void => {
    this.turnEndScheduled = false;
    this.reuses = 0;
  };

  now(): number {
    if (this.reuses > 0) {
      this.reuses--;
      return this.reading;
    }
    const now = Date.now();
    if (now === this.reading) {
      this.reuses = STAMPS_PER_READING - 1;
      if (!this.turnEndScheduled) {
        this.turnEndScheduled = true;
        setImmediate(this.endOfTurn);
      }
    }
    this.reading = now;
    return now;
  }
}

const stampClock = new StampClock();

/**
 * `Date.now()` for an output message's timestamp, read as `StampClock`
 * says: the env's output streams stamp through it when its clock is the
 * system clock (any other clock is read per message).
 *
 * @example
 * const outputOptions = { ...limits, now: clock === systemClock ? stampNow : () => clock.now() };
 */
export const stampNow = (): number => stampClock.now();
