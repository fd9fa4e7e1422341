import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // The Pulumi runtime is process-wide state: one program run at a time per worker.
        fileParallelism: true,
        testTimeout: 30_000,
    },
});
