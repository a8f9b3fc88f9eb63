import { WebSocket } from "ws";
import { library } from "./library.js";
import { compare, type BenchMode, type ResultRow } from "./common.js";
import { shortJob } from "./shortJob.js";
import { batchOf, jobsPerBatch } from "./shortJobs.js";

const { LiveEnv } = library;
const MIN_RATIO = 0.8;

/** A viewer tab: connects to the viewer's WebSocket and counts the state changes it is sent. */
async function connectViewer(pageUrl: string): Promise<{ transitions: () => number; close: () => void }> {
  const url = new URL(pageUrl);
  url.protocol = "ws:";
  url.pathname = "/ws";
  const socket = new WebSocket(url);
  let transitions = 0;
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { transitions?: unknown[] };
    transitions += frame.transitions?.length ?? 0;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { transitions: () => transitions, close: () => socket.close() };
}

/**
 * Scenario 5: what inspection costs where it does work, on short jobs
 * (scenario 2's job, in batches): with the offline viewer attached
 * (`env.serveInspector()`: its collector on every job and worker actor, and
 * a connected client receiving its frames) against the same jobs in an env
 * without it; and, as a reference, with a do-nothing `inspect` function
 * (what any inspector costs before it does anything).
 */
export async function inspection(mode: BenchMode): Promise<ResultRow[]> {
  const batch = jobsPerBatch(mode);
  const plainEnv = LiveEnv.create({ projectId: "bench-inspect-plain" });
  const viewerEnv = LiveEnv.create({ projectId: "bench-inspect-viewer" });
  let inspected = 0;
  const inspectEnv = LiveEnv.create({ projectId: "bench-inspect-fn", inspect: () => void inspected++ });
  const viewer = await viewerEnv.serveInspector();
  const client = await connectViewer(viewer.url);
  const plain = batchOf(batch, shortJob(plainEnv, "short", Infinity));
  const withViewer = batchOf(batch, shortJob(viewerEnv, "short", Infinity));
  const withInspect = batchOf(batch, shortJob(inspectEnv, "short", Infinity));
  const viewerTimes = await compare(withViewer, plain, mode);
  const inspectTimes = await compare(withInspect, plain, mode);
  // Let the viewer's last batched frame (every 100 ms) arrive.
  await new Promise((resolve) => setTimeout(resolve, 250));
  const seen = client.transitions();
  client.close();
  await viewer.close();
  await Promise.all([plainEnv.close(), viewerEnv.close(), inspectEnv.close()]);
  const rate = (ns: number) => batch / (ns / 1e9);
  return [
    {
      scenario: "5 inspection",
      metric: `short jobs, viewer attached vs without (${seen} state changes sent)`,
      unit: "jobs/s",
      library: rate(viewerTimes.library),
      baseline: rate(viewerTimes.baseline),
      ratio: viewerTimes.ratio,
      wallRatio: viewerTimes.wallRatio,
      target: `≥ ${MIN_RATIO} ×`,
      pass: viewerTimes.ratio >= MIN_RATIO && seen > 0,
    },
    {
      scenario: "5 inspection",
      metric: `short jobs, a do-nothing inspect function vs without (${inspected.toLocaleString("en-US")} events)`,
      unit: "jobs/s",
      library: rate(inspectTimes.library),
      baseline: rate(inspectTimes.baseline),
      ratio: inspectTimes.ratio,
      wallRatio: inspectTimes.wallRatio,
      target: "(reference)",
    },
  ];
}
