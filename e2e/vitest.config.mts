import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["e2e/**/*.test.ts"],
        // Root and the programs it runs, checked before anything starts.
        globalSetup: ["e2e/prerequisites.ts"],
        // One host, scenarios in order: nothing runs in parallel.
        fileParallelism: false,
        testTimeout: 300_000,
        hookTimeout: 1_200_000,
    },
});
