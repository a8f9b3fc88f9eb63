import type { LiveEnv } from "../env/LiveEnv.js";
import { EventCollector } from "./EventCollector.js";
import { startInspectorServer, type InspectorServer, type InspectorServerOptions } from "./server.js";

/**
 * Attaches a collector to every job of `env` (running ones and those to come)
 * and serves the viewer. Closing the viewer detaches it: the env goes back to
 * doing no inspection work. Called through `env.serveInspector`.
 */
export async function serveEnvInspector(env: LiveEnv, options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const maxEvents = options.maxEvents ?? 10_000;
  const collector = new EventCollector({ maxEvents, now: () => env.clock.now() });
  const observe = (event: Parameters<EventCollector["observe"]>[0]) => {
    // An inspection observer that throws would fail the job it observes; the viewer must never do that.
    try {
      collector.observe(event);
    } catch (error) {
      env.logger.error("the inspector viewer failed to record an event", { error: String(error) });
    }
  };
  const observation = env.observeInspection(observe);
  for (const root of observation.roots) collector.seed(root);
  try {
    const server = await startInspectorServer(collector, { ...options, maxEvents });
    return {
      url: server.url,
      close: () => {
        observation.stop();
        return server.close();
      },
    };
  } catch (error) {
    observation.stop();
    throw error;
  }
}
