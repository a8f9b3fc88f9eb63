/**
 * The smallest happy path: one spec, one worker, one result, one streamed job.
 * Run: `npx tsx examples/greeting.ts`. Exits non-zero if an output is wrong.
 */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { JobSpec, LiveEnv } from "liveworker";

const env = LiveEnv.create({ projectId: "greeting" });
const greet = JobSpec.define({ name: "greet", input: z.object({ name: z.string() }), output: z.string() });
greet.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const { name } of input) await output.emit(`Hello, ${name}!`);
  },
});

const { data } = await greet.enqueueAndGetResult({ liveEnv: env, input: { name: "Ada" } });
console.log(data);
assert.equal(data, "Hello, Ada!");

// A streamed job: feed several inputs, read every output as it comes.
const job = await greet.enqueueJob({ liveEnv: env });
const names = ["Grace", "Linus", "Barbara"];
for (const name of names) await job.input.feed({ name });
await job.input.terminate();
const greetings: string[] = [];
for await (const { data: line } of job.output) greetings.push(line);
await job.waitUntilFinish();
console.log(greetings.join("\n"));
assert.deepEqual(greetings, names.map((name) => `Hello, ${name}!`));
assert.equal(job.status, "completed");

await env.close();
