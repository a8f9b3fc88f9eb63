/**
 * The copying memory backend: everything that crosses it is copied, as it
 * would be between processes. A program that runs here unchanged is ready for
 * a backend across processes. Run: `npx tsx examples/copying-backend.ts`.
 * Exits non-zero if the backend does not behave as the README says.
 */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { JobFailedError, JobSpec, ValidationError } from "liveworker";
import { LiveEnv, memoryBackend } from "liveworker";

const env = LiveEnv.create({ backend: memoryBackend({ copy: true }) });

const Order = z.object({ dish: z.string(), extras: z.unknown().optional() });
const Ticket = z.object({ dish: z.string(), steps: z.array(z.string()) });
const cook = JobSpec.define({ name: "cook", input: Order, output: Ticket });
cook.defineWorker({
  liveEnv: env,
  retry: { maxRestarts: 0 },
  processor: async ({ input, output }) => {
    for await (const { dish } of input) {
      if (dish === "soufflé") throw new Error("the soufflé fell");
      await output.emit({ dish, steps: ["prep", "cook", "plate"] });
    }
  },
});

// Each reader gets its own copy: what one reader changes, the other never sees.
const job = await cook.enqueueJob({ liveEnv: env });
await job.input.feed({ dish: "risotto" });
await job.input.terminate();
const first = await job.output.first();
first!.data.steps.push("eaten");
const second = await job.output.first();
console.log("first reader's copy:", first!.data.steps.join(", "));
console.log("second reader's copy:", second!.data.steps.join(", "));
assert.deepEqual(second!.data.steps, ["prep", "cook", "plate"]);
await job.waitUntilFinish();

// Data that cannot cross a process boundary (a function) is refused when written; nothing is written.
const refused = await cook.enqueueJob({ liveEnv: env });
const error = await refused.input.feed({ dish: "stew", extras: () => "salt" }).then(
  () => undefined,
  (e: unknown) => e,
);
console.log("a function as data:", error instanceof ValidationError ? `ValidationError: ${error.message.slice(0, 60)}…` : error);
assert.ok(error instanceof ValidationError);
await refused.cancel("the example is done with it");

// Errors arrive rebuilt as their class, with their cause, not as the thrown object.
const failing = await cook.enqueueJob({ liveEnv: env });
await failing.input.feed({ dish: "soufflé" });
const failure = await failing.waitUntilFinish().then(
  () => undefined,
  (e: unknown) => e,
);
assert.ok(failure instanceof JobFailedError);
console.log("failure:", failure.message, "| cause:", (failure.cause as Error).message);
assert.equal((failure.cause as Error).message, "the soufflé fell");

await env.close();
