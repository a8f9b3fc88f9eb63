/**
 * A fixed number of worker process slots that a chaos test disrupts: a
 * slot's process is killed (SIGKILL) and started again after a delay under
 * a new name (`W<slot>.<generation>`), or paused (SIGSTOP) and resumed
 * (SIGCONT) after a delay. Every process ever started stays in `started`,
 * so the test ends each one by its pid and reads everything it printed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Child, ChildLine } from "./childProcesses.js";

/** One disruption: which process, how, and when (ms, `Date.now()`). */
export interface Disruption {
  readonly kind: "kill" | "pause";
  readonly victim: string;
  readonly at: number;
}

interface Slot {
  readonly index: number;
  child: Child;
  generation: number;
  state: "up" | "paused" | "down";
}

const isReady = (line: ChildLine) => line.event === "ready";

export class WorkerPool {
  /** Every process started, in order. */
  readonly started: Child[] = [];
  readonly disruptions: Disruption[] = [];
  /** Processes started again after a kill. */
  restarts = 0;
  private readonly slots: Slot[];
  private readonly under: Array<Promise<void>> = [];
  private stopped = false;

  /**
   * @param start starts a worker process named `name` (it prints `ready` once it takes jobs).
   * @param size how many slots (each starts a process now, named `W<slot>.1`).
   */
  constructor(
    private readonly start: (name: string) => Child,
    size: number,
  ) {
    this.slots = Array.from({ length: size }, (_, i) => ({ index: i + 1, child: this.spawn(`W${i + 1}.1`), generation: 1, state: "up" as const }));
  }

  /** Resolves once every slot's first process is ready. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map(({ child }) => child.waitFor(`${child.name} is ready`, isReady)));
  }

  /** The slots whose process runs (neither paused nor down). */
  get up(): readonly number[] {
    return this.slots.filter((slot) => slot.state === "up").map((slot) => slot.index);
  }

  /** SIGKILLs slot `index`'s process; once it has exited and `restartAfterMs` passed, starts the slot's next one. */
  kill(index: number, restartAfterMs: number): void {
    const slot = this.slot(index);
    slot.state = "down";
    this.disruptions.push({ kind: "kill", victim: slot.child.name, at: Date.now() });
    slot.child.signal("SIGKILL");
    this.track(
      (async () => {
        await slot.child.exited;
        await sleep(restartAfterMs);
        if (this.stopped) return;
        slot.generation += 1;
        slot.child = this.spawn(`W${slot.index}.${slot.generation}`);
        this.restarts += 1;
        await slot.child.waitFor(`${slot.child.name} is ready`, isReady);
        slot.state = "up";
      })(),
    );
  }

  /** SIGSTOPs slot `index`'s process and SIGCONTs it after `forMs`. */
  pause(index: number, forMs: number): void {
    const slot = this.slot(index);
    slot.state = "paused";
    this.disruptions.push({ kind: "pause", victim: slot.child.name, at: Date.now() });
    slot.child.signal("SIGSTOP");
    this.track(
      (async () => {
        await sleep(forMs);
        slot.child.signal("SIGCONT");
        slot.state = "up";
      })(),
    );
  }

  /** Resolves once every disruption is over: killed slots run again, paused ones resumed. */
  async settled(): Promise<void> {
    await Promise.all(this.under);
  }

  /** Starts no process any more (the test is ending: it ends those started). */
  stop(): void {
    this.stopped = true;
  }

  private spawn(name: string): Child {
    const child = this.start(name);
    this.started.push(child);
    return child;
  }

  private track(work: Promise<void>): void {
    this.under.push(work);
  }

  private slot(index: number): Slot {
    const slot = this.slots[index - 1];
    if (!slot) throw new RangeError(`WorkerPool: no slot ${index} (1 to ${this.slots.length})`);
    return slot;
  }
}
