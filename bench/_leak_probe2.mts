import { z } from "zod";
import v8 from "node:v8";
import fs from "node:fs";
import { JobSpec, LiveEnv } from "../src/index.js";
const gc = (globalThis as any).gc;
const env = LiveEnv.create({ projectId: "leak", logger: { debug() {}, info() {}, warn() {}, error() {} } });
const square = JobSpec.define({ name: "sq", input: z.number(), output: z.number() });
square.defineWorker({ liveEnv: env, concurrency: 1, processor: async ({ input, output }) => { for await (const n of input) await output.emit(n * n); } });
const counts = async () => {
  for (let i = 0; i < 4; i++) { gc(); await new Promise((r) => setImmediate(r)); }
  const file = v8.writeHeapSnapshot("/tmp/leakdir/h.heapsnapshot");
  const snap = JSON.parse(fs.readFileSync(file, "utf8"));
  const f = snap.snapshot.meta.node_fields; const n = f.length; const types = snap.snapshot.meta.node_types[0];
  const m = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += n) {
    const t = types[snap.nodes[i]]; const name = snap.strings[snap.nodes[i + 1]];
    const k = `${t}:${String(name).slice(0, 60)}`; m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
};
for (let i = 0; i < 2000; i++) await square.enqueueAndGetResult({ liveEnv: env, input: i });
const a = await counts();
for (let i = 0; i < 4000; i++) await square.enqueueAndGetResult({ liveEnv: env, input: i });
const b = await counts();
const diff = [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, d]) => d >= 3000).sort((x, y) => y[1] - x[1]);
console.log(diff.slice(0, 25));
