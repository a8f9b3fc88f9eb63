import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import { flowWiring } from "../inspect/flowWiring.js";
import type { InspectableEnv } from "../inspect/serveEnvInspector.js";
import type { EnvClient } from "./EnvClient.js";
import type { EnvInspection } from "./EnvInspection.js";
import type { EnvRunner } from "./EnvRunner.js";

/**
 * What a viewer (`env.serveInspector`) reads of an env: its clock and
 * logger, the jobs queued and running here when it opens, every job's
 * lifecycle events, flow wirings with their counts, and job options. The
 * inspector layer gets this view and never imports the env.
 */
export function viewerSource(clock: Clock, logger: Logger, client: EnvClient, inspection: EnvInspection, runner: EnvRunner): InspectableEnv {
  return {
    clock,
    logger,
    queuedJobsHere: () => client.queuedJobs(),
    runningRoots: () => inspection.runningRoots(),
    observeLifecycle: (listener) => inspection.observeLifecycle(listener),
    // Flow jobs running here or among the last that ended here, with their wires' message counts now.
    flowWirings: () => runner.flowJobs().map((job) => flowWiring(job.plan, job.jobId, job.wireCounts)),
    // A flow job another process runs, when this process knows the flow: its wires are counted there, not here.
    remoteFlowWiring: (flowName, jobId) => {
      const plan = runner.knownFlowPlan(flowName);
      return plan ? { ...flowWiring(plan, jobId, undefined), counted: false } : undefined;
    },
    // A job running here or among the last 50 that ended here (node key → options).
    jobOptionsHere: (jobId) => runner.jobOptions(jobId),
  };
}
