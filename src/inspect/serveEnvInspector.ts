import type { AnyActorRef } from "xstate";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { LifecycleEvent } from "../backend/events.js";
import { EventCollector } from "./EventCollector.js";
import { resolveInspectorServerOptions, type InspectorServerOptions } from "./inspectorServerOptions.js";
import { startInspectorServer, type InspectorServer } from "./server.js";
import type { FlowWiring } from "./flowWiring.js";

/** What the viewer needs of an env (`LiveEnv` has it): the inspector layer never imports the env. */
export interface InspectableEnv {
  readonly clock: Clock;
  /** Guarded: its methods never throw. */
  readonly logger: Logger;
  /** The root actors of the jobs running in this process (read once, when the viewer opens). */
  runningRoots(): AnyActorRef[];
  /** The jobs this process added that still wait in their queue (read once, when the viewer opens). */
  queuedJobsHere(): Array<{ jobId: string; name: string }>;
  /**
   * Sends the lifecycle events of every job of the env (this process's and
   * those other processes run) to `listener` until the returned function is
   * called; undefined when there are none to follow.
   */
  observeLifecycle(listener: (event: LifecycleEvent) => void): (() => void) | undefined;
  /** The wiring of every flow job running in this process, with its wires' message counts now. */
  flowWirings(): FlowWiring[];
  /** The wiring (uncounted) of a flow job another process runs, when this process knows flow `flowName`. */
  remoteFlowWiring(flowName: string, jobId: string): FlowWiring | undefined;
  /** The job options of a job running in this process or among the last that ended here (node key → options), or undefined. */
  jobOptionsHere(jobId: string): Readonly<Record<string, unknown>> | undefined;
}

/**
 * Serves the viewer of every job of `env` (running ones and those to come):
 * its collector reads the running jobs' actors once, then follows the jobs'
 * lifecycle events, which every job makes anyway (no XState inspection: a
 * do-nothing inspector alone costs a short job about a quarter of its CPU).
 * Closing the viewer unsubscribes it. Called through `env.serveInspector`.
 *
 * @throws ConfigurationError / ValidationError for bad options, before anything is attached or opened.
 */
export async function serveEnvInspector(env: InspectableEnv, options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const resolved = resolveInspectorServerOptions(options);
  const collector = new EventCollector({ maxEvents: resolved.maxEvents, now: () => env.clock.now() });
  const onSlowClientDropped = (backlogBytes: number) =>
    guarded(() =>
      env.logger.warn(
        `the inspector viewer dropped a page that stopped reading (${backlogBytes} bytes unread, limit ${resolved.maxClientBacklogBytes}); reloading the page reconnects it`,
      ),
    );
  // Jobs running or queued here when the viewer opens: their states now; then every job's lifecycle events.
  for (const root of env.runningRoots()) collector.seed(root);
  for (const job of env.queuedJobsHere()) collector.seedQueued(job.name, job.jobId);
  const stopLifecycle = env.observeLifecycle((event) => {
    try {
      collector.observeLifecycle(event);
    } catch (error) {
      guarded(() => env.logger.error("the inspector viewer failed to record an event", { error: String(error) }));
    }
  });
  const stop = () => stopLifecycle?.();
  try {
    const server = await startInspectorServer(collector, resolved, { onSlowClientDropped, flows: () => withRemoteFlows(env, collector), jobOptions: (jobId) => env.jobOptionsHere(jobId) });
    return {
      url: server.url,
      close: () => {
        stop();
        return server.close();
      },
    };
  } catch (error) {
    stop();
    throw error;
  }
}

/** The flow jobs of this process, then those the collector knows of from other processes whose flow this process knows. */
function withRemoteFlows(env: InspectableEnv, collector: EventCollector): FlowWiring[] {
  const here = env.flowWirings();
  const known = new Set(here.map((wiring) => wiring.jobActorId));
  for (const jobActorId of collector.lifecycleJobs()) {
    if (known.has(jobActorId)) continue;
    // `job:<flow>/<jobId>`: names never hold "/", ids may.
    const slash = jobActorId.indexOf("/");
    const wiring = env.remoteFlowWiring(jobActorId.slice(4, slash), jobActorId.slice(slash + 1));
    if (wiring) here.push(wiring);
  }
  return here;
}

/** A user logger that throws must not break the viewer (or the job whose event it reports). */
function guarded(log: () => void): void {
  try {
    log();
  } catch {
    // Nowhere safer to report it.
  }
}
