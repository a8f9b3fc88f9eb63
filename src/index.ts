export { JobSpec } from "./spec/JobSpec.js";
export type {
  AnyJobSpec,
  EnqueueAndGetResultOptions,
  EnqueueOptions,
  JobSpecDefinition,
  ProcessorOf,
  StateOf,
  TagHandle,
} from "./spec/JobSpec.js";
export type * from "./spec/types.js";
export { LiveWorkerDef } from "./worker/LiveWorkerDef.js";
export { DEFAULT_TIMEOUTS } from "./worker/options.js";
export type { DisposeContext, DisposeOutcome, InitContext, ProcessorContext, StateRecipe, TimeoutOptions } from "./worker/options.js";
export { DEFAULT_CONCURRENCY } from "./worker/LiveWorkerOptions.js";
export type { LiveWorkerOptions } from "./worker/LiveWorkerOptions.js";
export { LiveEnv } from "./env/LiveEnv.js";
export type { CloseOptions, LiveEnvOptions } from "./env/LiveEnv.js";
export { LiveJob } from "./job/LiveJob.js";
export type { FinalStatus, JobStatus, LifecycleEvent, LifecycleListener, WorkerState } from "./backend/events.js";
export { APPENDED, DEFAULT_STREAM_LIMITS } from "./backend/Backend.js";
export type {
  Backend,
  EventBus,
  JobJournal,
  JobLease,
  JobOutcome,
  JobQueue,
  JobRecord,
  JobRunner,
  JobStates,
  JobStream,
  JobTicket,
  QueueConsumer,
  StreamConsumer,
  StreamKey,
  StreamLimits,
  StreamMessage,
  StreamOptions,
  StreamReader,
  StreamStore,
  WaitCanceller,
  WriteGuard,
} from "./backend/Backend.js";
export { memoryBackend } from "./backend/memory/memoryBackend.js";
export type { MemoryBackendOptions } from "./backend/memory/memoryBackend.js";
export { DEFAULT_RETRY, isRetryableByDefault } from "../machines/restartPolicy.js";
export type { BackoffOptions, RetryOptions, RetryPolicy } from "../machines/restartPolicy.js";
export { consoleLogger } from "./logger.js";
export type { Logger, LogLevel } from "./logger.js";
export { systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
export type { Schema } from "./schema.js";
export { toMermaid } from "./inspect/mermaid.js";
export type { InspectorServer, InspectorServerOptions } from "./inspect/server.js";
export * from "./errors.js";
export { Liveflow } from "./flow/Liveflow.js";
export type { FlowEnqueueOptions, LiveflowDefinition, SupervisionOptions } from "./flow/Liveflow.js";
export { conn, expose } from "./flow/wiring.js";
export type { Connection, Endpoint, Exposure, LabelledSpec } from "./flow/wiring.js";
export type { SupervisionStrategy } from "../machines/job.js";
