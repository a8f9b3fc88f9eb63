import type { InspectionEvent } from "xstate";
import { compare, type BenchMode, type ResultRow } from "./common.js";
import { createStreamBench, messagesPerRun } from "./streamThroughput.js";

const MIN_RATIO = 0.5;

/**
 * A viewer-like collector: keeps the last `limit` inspection events (type,
 * actor id, state) in a ring. The bench does not use src/inspect/EventCollector
 * because that module is still in progress.
 */
export class BoundedCollector {
  private readonly records: Array<{ type: string; actorId: string; state: unknown }> = [];
  private next = 0;
  seen = 0;
  constructor(private readonly limit: number) {}
  observe(event: InspectionEvent): void {
    this.seen++;
    const record = {
      type: event.type,
      actorId: event.actorRef.sessionId,
      state: event.type === "@xstate.snapshot" ? (event.snapshot as { value?: unknown }).value : undefined,
    };
    if (this.records.length < this.limit) this.records.push(record);
    else this.records[this.next] = record;
    this.next = (this.next + 1) % this.limit;
  }
}

/**
 * Scenario 5: scenario 1 (validation off) with the viewer's collector attached,
 * against the same env without an inspector (which is scenario 1 itself: without
 * `inspect` no inspector reaches any actor, so its overhead is zero by construction).
 */
export async function inspection(mode: BenchMode): Promise<ResultRow[]> {
  const count = messagesPerRun(mode);
  const collector = new BoundedCollector(1_000);
  const inspected = createStreamBench({ inspect: (event: InspectionEvent) => collector.observe(event) });
  const plain = createStreamBench();
  const rows: ResultRow[] = [];
  for (let round = 0; round < (mode.quick ? 1 : 4); round++) {
    await inspected.runJob("off", count);
    await plain.runJob("off", count);
  }
  const withCollector = await compare(() => inspected.runJob("off", count), () => plain.runJob("off", count), mode);
  const ratio = withCollector.ratio;
  rows.push({
    scenario: "5 inspection",
    metric: `collector attached (${collector.seen} events seen)`,
    unit: "msg/s",
    library: count / (withCollector.library / 1e9),
    baseline: count / (withCollector.baseline / 1e9),
    ratio,
    wallRatio: withCollector.wallRatio,
    target: `≥ ${MIN_RATIO} × scenario 1`,
    pass: ratio >= MIN_RATIO && collector.seen > 0,
  });
  await Promise.all([inspected.env.close(), plain.env.close()]);
  return rows;
}
