import type { AnyActorLogic, InspectionEvent, Observer } from "xstate";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { Schema } from "../schema.js";
import type { DataStream, StreamNamer } from "../stream/DataStream.js";
import type { JobRuntime } from "../job/JobRuntime.js";
import type { LifecycleEvent } from "../job/events.js";

/** What a job runtime needs from its env. Not public API. */
export interface EnvInternals {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  readonly jobMachine: AnyActorLogic;
  /** A stream of a job: inputs keep only unacknowledged messages and carry no timestamps; outputs keep `historyLimit` for late readers. */
  /** `label` may be who names the stream, on first use. */
  createStream(label: string | StreamNamer, schema: Schema | undefined, role: "input" | "output"): DataStream;
  jobFinished(job: JobRuntime): void;
  hasListeners(): boolean;
  broadcast(event: LifecycleEvent): void;
}
