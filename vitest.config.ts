import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import the package by name, as users do; it resolves to the sources.
    alias: [
      { find: /^liveworker\/testing$/, replacement: here("./src/testing/index.ts") },
      { find: /^liveworker\/machines$/, replacement: here("./machines/index.ts") },
      { find: /^liveworker\/redis$/, replacement: here("./src/redis/index.ts") },
      { find: /^liveworker$/, replacement: here("./src/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The chaos runs (tens of seconds each) have their own: `npm run test:chaos` (vitest.chaos.config.ts).
    exclude: [...configDefaults.exclude, "test/**/*.chaos.test.ts"],
    // Any XState warning fails the test it happened in.
    setupFiles: ["test/setup/failOnXStateWarnings.ts", "test/setup/backendFromEnvironment.ts"],
    // A Redis for the Redis tests (scripts/ensure-redis.sh; LW_REDIS_URL wins).
    globalSetup: ["test/setup/redisForTests.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
