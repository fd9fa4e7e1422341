import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["e2e/**/*.test.ts"],
        // Root and the programs it runs, checked before anything starts.
        globalSetup: ["e2e/prerequisites.ts"],
        // One test file a host (e2e/debian-*.test.ts): both hosts at once, each its scenarios in order, as
        // most of a scenario is waiting (for a deploy's gate, a timer, a reboot). E2E_SERIAL=1: one host after the other.
        fileParallelism: !process.env.E2E_SERIAL,
        maxWorkers: 2,
        testTimeout: 300_000,
        hookTimeout: 1_200_000,
    },
});
