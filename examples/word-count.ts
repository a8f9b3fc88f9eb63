/**
 * A stateful worker: it counts words in its state, fails once mid-stream,
 * restarts, and ends with exact counts. The word it failed on is handed out
 * again (it was never acknowledged) and its output is emitted twice
 * (outputs are at-least-once), but it is counted once: the attempt that
 * failed never committed its count, and the next one starts from the state
 * committed with the last acknowledged word.
 * Run: `npx tsx examples/word-count.ts`. Exits non-zero if a count is off.
 */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { JobSpec, LiveEnv } from "liveworker";

const env = LiveEnv.create({ projectId: "word-count" });
const tally = JobSpec.define({
  name: "tally",
  input: z.string(),
  output: z.object({ word: z.string(), count: z.number(), attempt: z.number() }),
  state: z.object({ counts: z.record(z.string(), z.number()) }),
});

tally.defineWorker({
  liveEnv: env,
  retry: { backoff: { initialMs: 10 } },
  initialState: () => ({ counts: {} }),
  processor: async ({ input, output, attempt, state, updateState }) => {
    console.log(`attempt ${attempt} starts from ${JSON.stringify(state().counts)}`);
    for await (const word of input) {
      updateState((draft) => {
        draft.counts[word] = (draft.counts[word] ?? 0) + 1;
      });
      await output.emit({ word, count: state().counts[word]!, attempt });
      // Deliberate, once: "red" is counted and emitted, but its count is never committed (the next read would).
      if (word === "red" && attempt === 1) throw new Error(`dropped the word "${word}"`);
    }
  },
});

env.subscribe((event) => {
  if (event.type === "worker.restart") console.log(`restart after attempt ${event.attempt} failed: ${event.error?.message}`);
});

const words = "one fish two fish red fish blue fish".split(" ");
const job = await tally.enqueueJob({ liveEnv: env });
for (const word of words) await job.input.feed(word);
await job.input.terminate();
await job.waitUntilFinish();
const counts = (await job.state())?.counts;

const outputs: string[] = [];
for await (const { data } of job.output) outputs.push(`${data.word}=${data.count} (attempt ${data.attempt})`);
console.log(`outputs: ${outputs.join(", ")}`);

// Counted apart from the worker: each word of the text once.
const expected: Record<string, number> = {};
for (const word of words) expected[word] = (expected[word] ?? 0) + 1;
console.log(`counts:   ${JSON.stringify(counts)}`);
console.log(`expected: ${JSON.stringify(expected)}`);
assert.deepEqual(counts, expected);
// "red" was handed out twice (once per attempt) and emitted twice, yet counted once.
assert.deepEqual(
  outputs.filter((line) => line.startsWith("red=")),
  ["red=1 (attempt 1)", "red=1 (attempt 2)"],
);
assert.equal(job.status, "completed");

await env.close();
