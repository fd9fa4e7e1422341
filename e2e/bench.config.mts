import { defineConfig } from "vitest/config";

/**
 * `npm run bench`: measurements, not checks of behaviour, so not part of .ci/run.
 * The same host and prerequisites as the e2e suite (e2e/vitest.config.mts).
 */
export default defineConfig({
    test: {
        include: ["e2e/**/*.bench.ts"],
        globalSetup: ["e2e/prerequisites.ts"],
        fileParallelism: false,
        testTimeout: 300_000,
        hookTimeout: 1_200_000,
    },
});
