import { z } from "zod";
import { JobSpec, LiveEnv } from "../src/index.js";
const gc = (globalThis as any).gc;
const env = LiveEnv.create({ projectId: "leak", logger: { debug() {}, info() {}, warn() {}, error() {} } });
const square = JobSpec.define({ name: "sq", input: z.number(), output: z.number() });
square.defineWorker({ liveEnv: env, concurrency: 1, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n * n); } });
const heap = async () => { for (let i = 0; i < 4; i++) { gc(); await new Promise((r) => setImmediate(r)); } return process.memoryUsage().heapUsed / 2 ** 20; };
for (let round = 0; round < 6; round++) {
  for (let i = 0; i < 5000; i++) await square.enqueueAndGetResult({ liveEnv: env, input: i });
  console.log(round, (await heap()).toFixed(2));
}
