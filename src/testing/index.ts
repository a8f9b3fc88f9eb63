/**
 * `liveworker/testing`: a simulated-clock env and model-based test cases for
 * your workers. Test-runner agnostic: cases are plain `{ name, run }` objects.
 *
 * @example
 * import { createTestEnv, workerTestCases } from "liveworker/testing";
 */
export { createTestEnv, flush } from "./createTestEnv.js";
export type { JobRef, TestEnv, TestEnvOptions } from "./createTestEnv.js";
export { replay, workerTestCases } from "./workerTestCases.js";
export type { WorkerTestCase } from "./workerTestCases.js";
export { InjectedFault } from "./attemptFaults.js";
export { DEFAULT_WORKER_TEST_TIMEOUT_MS } from "./caseDeadline.js";
export type { WorkerTestCasesOptions, WorkerUnderTest } from "./caseSettings.js";
export type { SampleInput } from "./sampleInput.js";
export { ONLY_IN_A_FLOW, UNREACHABLE_FROM_RUNTIME, UNREACHABLE_IN_SINGLE_WORKER_JOB, transitionKey, workerModel } from "./workerPaths.js";
export type { WorkerModel, WorkerModelOptions, WorkerPath, WorkerPathStep, WorkerStepKind, WorkerTransitionKey } from "./workerPaths.js";
