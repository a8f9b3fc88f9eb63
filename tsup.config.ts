import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", machines: "machines/index.ts", testing: "src/testing/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  splitting: true,
});
