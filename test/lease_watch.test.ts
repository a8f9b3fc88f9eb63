/**
 * Jobs hear that their lease was lost (`JobLease.lost`) through one listener
 * per signal: the memory backend hands every lease one signal, and a listener
 * per job cost a microsecond each, a record per live job, and Node's
 * "possible EventTarget memory leak" warning past ten jobs.
 */
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobSpec } from "../src/index.js";
import { unwatchLease, watchLease, type LeaseHolder } from "../src/job/leaseWatch.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

function holder(name: string, heard: string[]): LeaseHolder {
  return { onLeaseLost: () => void heard.push(name) };
}

describe("leaseWatch", () => {
  it("many holders of one signal share one listener, and each hears the abort once", () => {
    const controller = new AbortController();
    const heard: string[] = [];
    const holders = Array.from({ length: 50 }, (_, i) => holder(`h${i}`, heard));
    for (const h of holders) watchLease(controller.signal, h);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    unwatchLease(controller.signal, holders[3]!);
    controller.abort(new Error("lost"));
    controller.signal.dispatchEvent(new Event("abort"));
    expect(heard).toHaveLength(49);
    expect(heard).not.toContain("h3");
    expect(new Set(heard).size).toBe(49);
  });

  it("the only holder of a signal removes its listener when it unwatches", () => {
    const controller = new AbortController();
    const heard: string[] = [];
    const only = holder("only", heard);
    watchLease(controller.signal, only);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    unwatchLease(controller.signal, only);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    controller.abort();
    expect(heard).toEqual([]);
  });
});

describe("jobs running at once on the memory backend", () => {
  it("print no MaxListenersExceededWarning past ten (one listener on the backend's shared lease signal)", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const { env } = createTestEnv();
      const spec = JobSpec.define({ name: "lease-watch-many", input: z.number(), output: z.number() });
      let running = 0;
      spec.defineWorker({
        liveEnv: env,
        concurrency: Infinity,
        processor: async ({ input, output }) => {
          running++;
          for await (const n of input) await output.emit(n);
        },
      });
      const jobs = await Promise.all(Array.from({ length: 20 }, () => spec.enqueueJob({ liveEnv: env })));
      await expect.poll(() => running).toBe(20);
      // Node emits the warning on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain("MaxListenersExceededWarning");
      await Promise.all(jobs.map((job) => job.cancel("done")));
    } finally {
      process.off("warning", onWarning);
    }
  });
});
