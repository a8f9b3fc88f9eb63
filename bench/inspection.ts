import { WebSocket } from "ws";
import { compare, type BenchMode, type ResultRow } from "./common.js";
import { createStreamBench, messagesPerRun } from "./streamThroughput.js";

const MIN_RATIO = 0.5;

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
 * Scenario 5: scenario 1 (validation off) with the offline viewer attached
 * (`env.serveInspector()`: its collector on every job, and a connected client
 * receiving its frames), against the same env without it (which is scenario 1
 * itself: with no inspector no inspection event is even created, so its
 * overhead is zero by construction).
 */
export async function inspection(mode: BenchMode): Promise<ResultRow[]> {
  const count = messagesPerRun(mode);
  const inspected = createStreamBench();
  const plain = createStreamBench();
  const viewer = await inspected.env.serveInspector();
  const client = await connectViewer(viewer.url);
  for (let round = 0; round < (mode.quick ? 1 : 4); round++) {
    await inspected.runJob("off", count);
    await plain.runJob("off", count);
  }
  const withViewer = await compare(() => inspected.runJob("off", count), () => plain.runJob("off", count), mode);
  // Let the viewer's last batched frame (every 100 ms) arrive.
  await new Promise((resolve) => setTimeout(resolve, 250));
  const seen = client.transitions();
  client.close();
  await viewer.close();
  await Promise.all([inspected.env.close(), plain.env.close()]);
  const ratio = withViewer.ratio;
  return [
    {
      scenario: "5 inspection",
      metric: `viewer attached (${seen} state changes sent)`,
      unit: "msg/s",
      library: count / (withViewer.library / 1e9),
      baseline: count / (withViewer.baseline / 1e9),
      ratio,
      wallRatio: withViewer.wallRatio,
      target: `≥ ${MIN_RATIO} × scenario 1`,
      pass: ratio >= MIN_RATIO && seen > 0,
    },
  ];
}
