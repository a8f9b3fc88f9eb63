import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { build } from "tsup";

/**
 * Which build of liveworker the bench measures. By default the library as
 * `npm run build` ships it (tsup, esbuild), built from the current src/ into
 * node_modules/.cache: running src/ under tsx would measure tsx instead, since
 * tsx compiles with `keepNames` (a `__name` call and a property store per
 * closure: about 6.7 KiB per job and visible CPU). `--src` measures src/
 * under tsx as is.
 */
const fromSource = process.argv.includes("--src");
const root = fileURLToPath(new URL("../", import.meta.url));
// One build folder per checkout: worktrees may share one node_modules, and
// two benches building into one folder would measure each other's src/.
const checkout = createHash("sha256").update(root).digest("hex").slice(0, 12);
const outDir = fileURLToPath(new URL(`../node_modules/.cache/liveworker-bench/${checkout}/`, import.meta.url));

async function buildLibrary(): Promise<void> {
  await build({
    config: false,
    entry: { index: `${root}src/index.ts`, machines: `${root}machines/index.ts`, redis: `${root}src/redis/index.ts` },
    external: ["bullmq", "ioredis"],
    format: ["esm"],
    outDir,
    target: "node20",
    splitting: true,
    dts: false,
    sourcemap: true,
    clean: true,
    silent: true,
  });
}

type Library = typeof import("../src/index.js");
type Machines = typeof import("../machines/index.js");
type Redis = typeof import("../src/redis/index.js");

async function load(): Promise<{ library: Library; machines: Machines; redis: Redis; label: string }> {
  if (fromSource) {
    return {
      library: await import("../src/index.js"),
      machines: await import("../machines/index.js"),
      redis: await import("../src/redis/index.js"),
      label: "src/ under tsx",
    };
  }
  await buildLibrary();
  return {
    library: (await import(`${outDir}index.js`)) as Library,
    machines: (await import(`${outDir}machines.js`)) as Machines,
    redis: (await import(`${outDir}redis.js`)) as Redis,
    label: "built bundle (tsup)",
  };
}

export const { library, machines, redis, label: libraryLabel } = await load();
