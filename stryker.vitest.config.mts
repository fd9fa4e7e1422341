import { configDefaults, defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.mts";

// The vitest configuration of mutation testing (stryker.config.mjs): the unit tests, plus a
// setup file that credits a beforeAll's coverage to its tests (see test/strykerSetup.ts),
// without the language-host test: it runs the program in a child process, where no
// mutant is ever active, so it could only cost time.
export default mergeConfig(base, defineConfig({
    test: {
        setupFiles: ["test/strykerSetup.ts"],
        // Stryker runs each mutant's tests in one thread; without isolation @pulumi/pulumi loads
        // once, not once per test file (the unit tests, single-threaded: 46 s instead of 111 s).
        // Every program run installs fresh mocks and modules (test/harness.ts), so nothing leaks.
        isolate: false,
        exclude: [...configDefaults.exclude, "test/languageHost.test.ts"],
    },
}));
