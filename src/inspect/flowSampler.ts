import { layoutFlow, type FlowLayout } from "./flowLayout.js";
import { wiringShape, type FlowWiring } from "./flowWiring.js";

/** One flow job as a page gets it: its layout's key, and its wires' counts (by connection index). */
export interface FlowSample {
  jobActorId: string;
  shape: string;
  counts: number[];
  /** False for a job another process runs: no counts here. */
  counted?: false;
}

/** What a page is sent: the flow jobs that changed, and the layouts it has not had yet. */
export interface FlowMessage {
  flows: FlowSample[];
  layouts: Record<string, FlowLayout>;
}

/** Flow jobs kept for pages opened later. */
const KEPT = 200;

/**
 * Samples the flow jobs' wiring (`source`) every `everyMs` while `wanted()`
 * (a page is open), lays each flow's shape out once (ELK), and hands what
 * changed to `publish`. Counts are sampled, never sent per message. Never
 * throws: a failing source or layout shows no wiring.
 */
export class FlowSampler {
  private readonly jobs = new Map<string, FlowSample>();
  private readonly layouts = new Map<string, FlowLayout>();
  private readonly laying = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly source: (() => FlowWiring[]) | undefined,
    private readonly everyMs: number,
    private readonly wanted: () => boolean,
    private readonly publish: (message: FlowMessage) => void,
  ) {}

  /** Starts sampling (a page connected); samples at once. */
  start(): void {
    if (!this.source || this.stopped) return;
    this.sample();
    this.timer ??= setInterval(() => (this.wanted() ? this.sample() : undefined), Math.max(50, this.everyMs)).unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every flow job known, with every layout ready: what a page that just connected gets. */
  all(): FlowMessage {
    return { flows: [...this.jobs.values()].filter((job) => this.layouts.has(job.shape)), layouts: Object.fromEntries(this.layouts) };
  }

  private sample(): void {
    let wirings: FlowWiring[];
    try {
      wirings = this.source!();
    } catch {
      return;
    }
    const changed: FlowSample[] = [];
    const seen = new Set<string>();
    for (const wiring of wirings) {
      seen.add(wiring.jobActorId);
      const shape = wiringShape(wiring);
      const counts = wiring.wires.map((w) => w.messages);
      const known = this.jobs.get(wiring.jobActorId);
      if (known && known.counted === wiring.counted && known.counts.every((n, i) => n === counts[i])) continue;
      const sample: FlowSample = { jobActorId: wiring.jobActorId, shape, counts, ...(wiring.counted === false ? { counted: false as const } : {}) };
      this.jobs.set(wiring.jobActorId, sample);
      if (this.layouts.has(shape)) changed.push(sample);
      else this.layOut(shape, wiring);
    }
    // Past KEPT, the oldest flow jobs not sampled now (ended, and no longer reported) are forgotten; those sampled stay.
    for (const id of this.jobs.keys()) {
      if (this.jobs.size <= KEPT) break;
      if (!seen.has(id)) this.jobs.delete(id);
    }
    if (changed.length > 0) this.publish({ flows: changed, layouts: {} });
  }

  private layOut(shape: string, wiring: FlowWiring): void {
    if (this.laying.has(shape)) return;
    this.laying.add(shape);
    layoutFlow(wiring).then(
      (layout) => {
        this.layouts.set(shape, layout);
        if (this.stopped) return;
        this.publish({ flows: [...this.jobs.values()].filter((job) => job.shape === shape), layouts: { [shape]: layout } });
      },
      () => {},
    );
  }
}
