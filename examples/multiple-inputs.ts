/**
 * A spec with two input tags and two output tags. The processor reads both
 * inputs in arrival order with `input.merge("veg", "spice")` (the loop ends
 * when both inputs are terminated) and writes to each output with
 * `output("tag").emit`.
 * Run: `npx tsx examples/multiple-inputs.ts`. Exits non-zero if an output is wrong.
 */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { JobSpec, LiveEnv } from "liveworker";

const env = LiveEnv.create({ projectId: "multiple-inputs" });

const soup = JobSpec.define({
  name: "soup",
  input: { veg: z.object({ name: z.string(), grams: z.number().positive() }), spice: z.string() },
  output: { pot: z.object({ added: z.string() }), bill: z.object({ vegGrams: z.number(), spices: z.number() }) },
});

soup.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    let vegGrams = 0;
    let spices = 0;
    for await (const message of input.merge("veg", "spice")) {
      if (message.tag === "veg") {
        vegGrams += message.data.grams;
        await output("pot").emit({ added: message.data.name });
      } else {
        spices += 1;
        await output("pot").emit({ added: `a pinch of ${message.data}` });
      }
    }
    await output("bill").emit({ vegGrams, spices });
  },
});

const job = await soup.enqueueJob({ liveEnv: env });
const pot: string[] = [];
const reading = (async () => {
  for await (const { data } of job.output("pot")) pot.push(data.added);
})();

await job.input("veg").feed({ name: "leek", grams: 200 });
await job.input("spice").feed("pepper");
await job.input("veg").feed({ name: "potato", grams: 300 });
await job.input("veg").terminate();
await job.input("spice").feed("salt");
await job.input("spice").terminate();

await reading;
await job.waitUntilFinish();
const bill = await job.output("bill").first();
console.log("in the pot:", pot.join(", "));
console.log("bill:", bill?.data);

// Per tag, order is kept; across tags, merge yields in arrival order.
assert.deepEqual(pot.filter((added) => !added.startsWith("a pinch")), ["leek", "potato"]);
assert.deepEqual(pot.filter((added) => added.startsWith("a pinch")), ["a pinch of pepper", "a pinch of salt"]);
assert.equal(pot.length, 4);
assert.deepEqual(bill?.data, { vegGrams: 500, spices: 2 });
assert.equal(job.status, "completed");

await env.close();
