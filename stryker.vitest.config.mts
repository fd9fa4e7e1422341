import { configDefaults, defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.mts";

// The vitest configuration of mutation testing (stryker.config.mjs): the unit tests, plus a
// setup file that credits a beforeAll's coverage to its tests (see test/strykerSetup.ts),
// without the language-host test: it runs the program in a child process, where no
// mutant is ever active, so it could only cost time.
export default mergeConfig(base, defineConfig({
    test: {
        setupFiles: ["test/strykerSetup.ts"],
        exclude: [...configDefaults.exclude, "test/languageHost.test.ts"],
    },
}));
