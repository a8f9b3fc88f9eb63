import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", machines: "machines/index.ts", testing: "src/testing/index.ts", redis: "src/redis/index.ts" },
  // Optional peer dependencies of liveworker/redis: never bundled.
  external: ["bullmq", "ioredis"],
  format: ["esm", "cjs"],
  // Members marked @internal are the runtime's, not the API: the published declarations leave them out.
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  sourcemap: true,
  target: "node20",
  splitting: true,
});
