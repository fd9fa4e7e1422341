import { beforeAll, beforeEach, inject } from "vitest";

/**
 * Mutation testing only (stryker.vitest.config.mts). Stryker's vitest runner
 * records which mutants each test reaches, to run only those tests per mutant;
 * code reached in a beforeAll counts for no test. The stack tests run the whole
 * program once in a beforeAll and then assert on it, so here what a file's
 * beforeAll reached is credited to each of that file's tests.
 */
interface Coverage { static: Record<string, number>; perTest: Record<string, Record<string, number>> }
const stryker = () => (globalThis as { __stryker__?: { mutantCoverage?: Coverage; currentTestId?: string } }).__stryker__;

let before: Record<string, number> = {};
let reachedBeforeAll: Record<string, number> | undefined;

beforeAll(() => {
    before = { ...stryker()?.mutantCoverage?.static };
    reachedBeforeAll = undefined;
});

beforeEach(() => {
    // @ts-expect-error "mode" is provided by Stryker's runner, not declared in vitest's ProvidedContext
    if (inject("mode") !== "dry-run") return;
    const ns = stryker();
    if (!ns?.mutantCoverage || !ns.currentTestId) return;
    const now = ns.mutantCoverage.static;
    reachedBeforeAll ??= Object.fromEntries(Object.keys(now).filter((id) => now[id] > (before[id] ?? 0)).map((id) => [id, now[id] - (before[id] ?? 0)]));
    const test = (ns.mutantCoverage.perTest[ns.currentTestId] ??= {});
    for (const [id, hits] of Object.entries(reachedBeforeAll)) test[id] = (test[id] ?? 0) + hits;
});
