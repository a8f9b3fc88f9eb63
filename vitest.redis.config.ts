import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";
import { NOT_YET_ON_REDIS } from "./test/setup/notYetOnRedis.js";

/**
 * `npm run test:redis`: the behaviour suite with `LW_BACKEND=redis`, without
 * the memory-only files (`*.memory.test.ts`) and those listed, with their
 * reasons, in `test/setup/notYetOnRedis.ts`.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ["**/node_modules/**", "test/**/*.memory.test.ts", ...Object.keys(NOT_YET_ON_REDIS)],
    },
  }),
);
