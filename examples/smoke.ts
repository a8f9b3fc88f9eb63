import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
const env = LiveEnv.create({ projectId: "smoke" });
const chop = JobSpec.define({
  name: "chop",
  jobOptions: z.object({ size: z.enum(["fine", "coarse"]).default("fine") }),
  input: z.object({ veg: z.string() }),
  output: { default: z.object({ pieces: z.number() }), waste: z.object({ grams: z.number() }) },
});
let failures = 0;
chop.defineWorker({
  liveEnv: env,
  concurrency: 2,
  retry: { backoff: { initialMs: 10 } },
  init: async ({ attempt }) => ({ knife: "sharp", attempt }),
  processor: async ({ input, output, jobOptions, resources }) => {
    for await (const { veg } of input) {
      if (veg === "rock" && failures++ < 2) throw new Error("rock!");
      await output.emit({ pieces: veg.length });
    }
    await output("waste").emit({ grams: 3 });
    console.log("done with", jobOptions, resources);
  },
});
env.subscribe((e) => console.log(JSON.stringify(e)));
const job = await chop.enqueueJob({ liveEnv: env, jobOptions: {} });
await job.input.feed({ veg: "leek" });
await job.input.feed({ veg: "rock" });
await job.input.feed({ veg: "kale" });
await job.input.terminate();
for await (const { data } of job.output) console.log("out", data);
await job.waitUntilFinish();
console.log(job.status);
const r = await chop.enqueueAndGetResult({ liveEnv: env, input: { veg: "carrot" }, jobOptions: { size: "coarse" } });
console.log(r);
await env.close();
