import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { BenchMode, ResultRow } from "./common.js";
import { streamThroughput } from "./streamThroughput.js";
import { shortJobs } from "./shortJobs.js";
import { manyJobs } from "./manyJobs.js";
import { latency } from "./latency.js";
import { inspection } from "./inspection.js";
import { statefulStream } from "./statefulStream.js";

// One core for the whole run (Linux, `taskset`): on a shared machine each
// core's speed drifts on its own (a busy neighbour can halve it for seconds),
// and a process the scheduler moves between cores measures two machines.
// `--cpu=N` picks the core (default 0), `--no-pin` runs unpinned.
const PINNED = "LIVEWORKER_BENCH_CPU";
const cpu = process.argv.find((arg) => arg.startsWith("--cpu="))?.slice("--cpu=".length) ?? "0";
// Scenario 3 keeps 100,000 jobs alive at once (about 1.7 GB of heap today):
// the pinned run gets a 4 GiB heap whatever the machine's memory makes
// V8's default (about 2 GiB on an 8 GB machine).
const heapFlags = process.execArgv.some((arg) => arg.startsWith("--max-old-space-size")) ? [] : ["--max-old-space-size=4096"];
if (process.platform === "linux" && !process.env[PINNED] && !process.argv.includes("--no-pin")) {
  const pinned = spawnSync("taskset", ["-c", cpu, process.execPath, ...heapFlags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [PINNED]: cpu },
  });
  if (!pinned.error) process.exit(pinned.status ?? 1);
  console.warn(`bench: could not pin to core ${cpu} (${pinned.error.message}); running unpinned`);
}

// Heap per job needs a real GC between measurements.
if (!(globalThis as { gc?: unknown }).gc) {
  setFlagsFromString("--expose-gc");
  (globalThis as { gc?: unknown }).gc = runInNewContext("gc");
}

const quick = process.argv.includes("--quick");
const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length).split(",");
const mode: BenchMode = quick ? { quick, pairs: 3, rounds: 1 } : { quick, pairs: 40, rounds: 5 };

const scenarios: Array<[string, (mode: BenchMode) => Promise<ResultRow[]>]> = [
  ["1", streamThroughput],
  ["2", shortJobs],
  ["3", manyJobs],
  ["4", latency],
  ["5", inspection],
];
// `--redis`: scenario 6, liveworker on Redis against BullMQ and raw Redis Streams (needs a Redis: LW_REDIS_URL).
if (process.argv.includes("--redis")) {
  const { redisScenarios } = await import("./redisScenarios.js");
  scenarios.push(["6", redisScenarios]);
}
scenarios.push(["7", statefulStream]);

const format = (value: number | undefined): string => {
  if (value === undefined) return "—";
  if (value >= 1000) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

// Three decimals below 0.1, where two would round away most of the figure.
const formatRatio = (ratio: number | undefined): string => (ratio === undefined ? "—" : `${ratio.toFixed(ratio < 0.1 ? 3 : 2)} ×`);

const started = performance.now();
const rows: ResultRow[] = [];
for (const [id, scenario] of scenarios) {
  if (only && !only.includes(id)) continue;
  rows.push(...(await scenario(mode)));
}

const header = ["scenario", "metric", "library", "baseline", "ratio", "wall ratio", "target", "pass"];
const table = rows.map((row) => [
  row.scenario,
  row.metric,
  `${format(row.library)} ${row.unit}`,
  row.baseline === undefined ? "—" : `${format(row.baseline)} ${row.unit}`,
  formatRatio(row.ratio),
  formatRatio(row.wallRatio),
  row.target,
  row.pass === undefined ? "—" : row.pass ? "pass" : "FAIL",
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => cells[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const cells of table) console.log(line(cells));
const seconds = (performance.now() - started) / 1000;
console.log(`\nrates and ratios by process CPU time (process.cpuUsage); wall ratio by wall clock`);
const where = process.env[PINNED] ? `pinned to core ${process.env[PINNED]}` : "unpinned";
const heapLimit = `heap limit ${Math.round(getHeapStatistics().heap_size_limit / 2 ** 20)} MiB`;
console.log(`${quick ? "quick mode (sizes too small to judge targets)" : "full run"}, ${seconds.toFixed(1)} s, node ${process.version}, ${where}, ${heapLimit}`);

writeFileSync(
  new URL("./results.json", import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, seconds, core: process.env[PINNED] ?? null, results: rows }, null, 2) + "\n",
);
// Quick mode only checks that every scenario runs; targets need full sizes.
process.exitCode = 0;
