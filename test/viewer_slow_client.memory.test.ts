/**
 * The viewer drops a page that stops reading, and its memory stays bounded
 * (7,000+ jobs through one viewer). Memory-only by nature: what it measures
 * is the viewer's own buffering, which does not depend on the backend, and
 * through Redis those jobs would take minutes, not seconds.
 */
import { connect, type NetConnectOpts, type Socket } from "node:net";
import { memoryUsage } from "node:process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
import type { InspectorServer } from "../src/inspect/server.js";

/** Backlog the test's viewer allows a page; small, so the drop comes early in the run. */
const LIMIT_BYTES = 256 * 1024;
/** Jobs run before the baseline: fills the collector to its cap (the viewer's own bounded memory). */
const WARM_UP_JOBS = 3_000;
/**
 * The drop must come within this many jobs. Each job sends the page ~0.9 KB; the kernel's
 * socket buffers take the first few MB (~6 000 jobs here), then the backlog grows in the process.
 */
const MAX_JOBS_TO_DROP = 25_000;
/** Jobs run after the drop, to show nothing more piles up for the dropped page. */
const JOBS_AFTER_DROP = 5_000;
/** Allowed growth of heap + buffers from the baseline to the end: the backlog limit, one frame, and noise. */
const GROWTH_BOUND_BYTES = 8 * 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap and Buffer memory after a full collection: what the backlog of a page that stopped reading costs. */
function liveBytes(): number {
  gc();
  const { heapUsed, arrayBuffers } = memoryUsage();
  return heapUsed + arrayBuffers;
}

let env: LiveEnv | undefined;
let viewer: InspectorServer | undefined;
let client: WebSocket | undefined;
let reader: WebSocket | undefined;
afterEach(async () => {
  client?.terminate();
  reader?.terminate();
  await viewer?.close();
  await env?.close();
});

describe("a viewer page that stops reading", () => {
  it(
    "is dropped with close code 1008 and a reason once its unread backlog passes maxClientBacklogBytes; the job process's memory stays bounded",
    async () => {
      const warnings: string[] = [];
      env = LiveEnv.create({ projectId: "slow-page", logger: { debug() {}, info() {}, warn: (message) => warnings.push(message), error() {} } });
      viewer = await env.serveInspector({ maxClientBacklogBytes: LIMIT_BYTES, maxEvents: 1_000, flushMs: 0 });
      const spec = JobSpec.define({ name: "short", input: z.number(), output: z.number() });
      spec.defineWorker({ liveEnv: env, concurrency: 100, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n); } });
      let jobsRun = 0;
      const runJobs = async (count: number) => {
        for (let done = 0; done < count; done += 100) {
          await Promise.all(Array.from({ length: 100 }, (_, i) => spec.enqueueAndGetResult({ liveEnv: env, input: done + i })));
          // In-memory jobs settle in microtasks; one timer turn lets the viewer push (flushMs 0, armed earlier, fires first), as I/O would in an app.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        jobsRun += count;
      };

      let socket: Socket | undefined;
      client = new WebSocket(`${viewer.url.replace("http:", "ws:")}ws`, {
        // ws hands its options (host, port) to this; keeping the socket lets the test pause it.
        createConnection: ((options: NetConnectOpts) => (socket = connect(options))) as typeof connect,
      });
      const closed = new Promise<{ code: number; reason: string }>((resolve) => client?.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
      await new Promise((resolve, reject) => client?.once("open", resolve).once("error", reject));
      // A page that keeps reading, for contrast: it must never be dropped.
      reader = new WebSocket(`${viewer.url.replace("http:", "ws:")}ws`);
      let readerFrames = 0;
      reader.on("message", () => readerFrames++);
      await new Promise((resolve, reject) => reader?.once("open", resolve).once("error", reject));
      // The page stops reading: the bytes pile up in the kernel, then in the viewer's process.
      socket?.pause();

      await runJobs(WARM_UP_JOBS);
      const baseline = liveBytes();
      while (warnings.length === 0 && jobsRun < WARM_UP_JOBS + MAX_JOBS_TO_DROP) await runJobs(1_000);
      const jobsToDrop = jobsRun - WARM_UP_JOBS;
      await runJobs(JOBS_AFTER_DROP);
      const growth = liveBytes() - baseline;
      console.log(
        `slow page: ${warnings.length > 0 ? `dropped after ${WARM_UP_JOBS + jobsToDrop} jobs` : "not dropped"}; heap + buffers grew ${(growth / 1024 / 1024).toFixed(2)} MB over the ${jobsRun - WARM_UP_JOBS} jobs after warm-up (limit ${LIMIT_BYTES / 1024} KiB)`,
      );

      expect(growth, "memory growth (bytes) with a page that stopped reading").toBeLessThan(GROWTH_BOUND_BYTES);
      expect(warnings, `no drop within ${MAX_JOBS_TO_DROP} jobs`).toEqual([expect.stringMatching(/dropped a page that stopped reading \(\d+ bytes unread, limit 262144\)/)]);
      expect(reader.readyState).toBe(WebSocket.OPEN);
      // Roughly one frame per batch of 100 jobs; the last few may still be on their way.
      expect(readerFrames).toBeGreaterThan(jobsRun / 200);
      // Reading again, the page gets what was queued before the drop, then the close frame saying why.
      socket?.resume();
      expect(await closed).toEqual({ code: 1008, reason: "too slow: more than 262144 bytes unread; reload the page" });
    },
    120_000,
  );
});
