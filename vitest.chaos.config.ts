import { configDefaults, defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * `npm run test:chaos`: the chaos runs (`*.chaos.test.ts`: worker processes
 * killed and paused at random on Redis, tens of seconds each), which the
 * default run leaves out to stay fast. Same aliases, setup and Redis as it.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/**/*.chaos.test.ts"],
    exclude: configDefaults.exclude,
  },
});
