import { WebSocket } from "ws";
import { library } from "./library.js";
import { compare, type BenchMode, type ResultRow } from "./common.js";
import { shortJob } from "./shortJob.js";
import { batchOf, jobsPerBatch } from "./shortJobs.js";

const { LiveEnv } = library;
const MIN_RATIO = 0.8;

/** A viewer tab on the viewer's WebSocket, as a page keeps it open. */
interface ViewerClient {
  /** Resolves when the next frame arrives. */
  nextFrame: () => Promise<void>;
  /** Frames received so far. */
  frames: () => number;
  /** State changes received so far (frames are parsed here, outside the measured time). */
  transitions: () => number;
  close: () => void;
}

/**
 * Connects a viewer tab. It keeps the frames as they come and parses them
 * only when asked: parsing is a browser's work, not the serving process's.
 */
async function connectViewer(pageUrl: string): Promise<ViewerClient> {
  const url = new URL(pageUrl);
  url.protocol = "ws:";
  url.pathname = "/ws";
  const socket = new WebSocket(url);
  const frames: string[] = [];
  let arrived: (() => void) | undefined;
  socket.on("message", (data) => {
    frames.push(String(data));
    arrived?.();
  });
  // Connected once the page's first frame (init) has come.
  await new Promise<void>((resolve, reject) => {
    arrived = () => {
      arrived = undefined;
      resolve();
    };
    socket.once("error", reject);
  });
  return {
    nextFrame: () =>
      new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error("the viewer sent no frame within 5 s")), 5_000);
        arrived = () => {
          clearTimeout(timeout);
          arrived = undefined;
          resolve();
        };
      }),
    frames: () => frames.length,
    transitions: () => frames.reduce((sum, frame) => sum + ((JSON.parse(frame) as { transitions?: unknown[] }).transitions?.length ?? 0), 0),
    close: () => socket.close(),
  };
}

/**
 * Scenario 5: what inspection costs where it does work, on short jobs
 * (scenario 2's job, in batches): with the offline viewer attached
 * (`env.serveInspector()`: its collector on every job and worker actor, and
 * a connected client receiving the frame of each batch) against the same
 * jobs in an env without it; and, as a reference, with a do-nothing `inspect` function
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
  const viewerBatch = batchOf(batch, shortJob(viewerEnv, "short", Infinity));
  // A batch runs in one turn of the event loop (the memory backend answers
  // at once), so the viewer's frame (every 100 ms) would be serialised and
  // sent after the measurement: each viewer batch waits for its frame.
  const withViewer = async () => {
    const frame = client.nextFrame();
    await viewerBatch();
    await frame;
  };
  const withInspect = batchOf(batch, shortJob(inspectEnv, "short", Infinity));
  const viewerTimes = await compare(withViewer, plain, mode);
  const inspectTimes = await compare(withInspect, plain, mode);
  const seen = client.transitions();
  client.close();
  await viewer.close();
  await Promise.all([plainEnv.close(), viewerEnv.close(), inspectEnv.close()]);
  const rate = (ns: number) => batch / (ns / 1e9);
  return [
    {
      scenario: "5 inspection",
      metric: `short jobs, viewer attached vs without (${client.frames()} frames, ${seen.toLocaleString("en-US")} state changes)`,
      unit: "jobs/s",
      library: rate(viewerTimes.library),
      baseline: rate(viewerTimes.baseline),
      ratio: viewerTimes.ratio,
      // No wall ratio: the viewer side idles until its frame is due.
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
