import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // The checkers the tests run (shellcheck, systemd-analyze), checked before any test.
        globalSetup: ["test/prerequisites.setup.ts"],
        // The Pulumi runtime is process-wide state: one program run at a time per worker.
        fileParallelism: true,
        // The language-host test spawns ts-node with a 60 s limit of its own; on a loaded
        // machine (2 cores, load 12 measured) it needed more than 30 s.
        testTimeout: 60_000,
        // The stack tests run the program in a beforeAll; on a loaded machine that exceeds the default 10 s.
        hookTimeout: 30_000,
    },
});
