// Mutation testing (npm run test:mutation): StrykerJS changes lib/ and components/
// one mutant at a time and runs the vitest tests that cover it; a mutant no test
// notices is a hole in the suite. See the README, "Mutation testing".
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
    testRunner: "vitest",
    vitest: { configFile: "stryker.vitest.config.mts" },
    mutate: ["lib/**/*.ts", "components/**/*.ts"],
    coverageAnalysis: "perTest",
    // The build machines have 2 cores, shared.
    concurrency: 2,
    // Code that runs only while a module loads (its constants, zod schemas, regular
    // expressions) would need a full reload and every test per mutant: hours here.
    // Those mutants are reported as ignored; see the README for their count.
    ignoreStatic: true,
    // Reuses the last run's results for unchanged code and tests; the file is under reports/, which git ignores.
    incremental: true,
    incrementalFile: "reports/stryker-incremental.json",
    reporters: ["clear-text", "progress", "html", "json"],
    htmlReporter: { fileName: "reports/mutation/mutation.html" },
    jsonReporter: { fileName: "reports/mutation/mutation.json" },
    // The e2e suite's debootstrap caches are gigabytes and no unit test reads them.
    ignorePatterns: ["/e2e/.work"],
    // A program run under mocks takes seconds; the default timeout would call slow mutants timed out.
    timeoutMS: 60_000,
    // Under reports/, which git ignores, like everything else Stryker writes.
    tempDirName: "reports/stryker-tmp",
    cleanTempDir: true,
};
