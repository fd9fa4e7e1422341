import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // The checkers the tests run (shellcheck, systemd-analyze), checked before any test.
        globalSetup: ["test/prerequisites.setup.ts"],
        // The Pulumi runtime is process-wide state: one program run at a time per worker.
        fileParallelism: true,
        testTimeout: 30_000,
    },
});
