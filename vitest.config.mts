import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // The Pulumi runtime is process-wide state: one program run at a time per worker.
        fileParallelism: true,
        testTimeout: 30_000,
        // The stack tests run the program in a beforeAll; on a loaded machine that exceeds the default 10 s.
        hookTimeout: 30_000,
    },
});
