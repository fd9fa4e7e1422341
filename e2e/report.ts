import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The suite's report; each e2e test file writes its own top-level keys. */
export const REPORT = join(__dirname, "..", "reports", "e2e.json");
/** What `npm run bench` measured (e2e/*.bench.ts). */
export const BENCH_REPORT = join(__dirname, "..", "reports", "bench.json");

/**
 * Merges `part` into reports/e2e.json. The test files run one after another in one
 * vitest run (fileParallelism: false), and each ends by writing what it measured:
 * replacing the whole file would drop what the file before it wrote. A key left from
 * an earlier run (a file filtered out) stays, so `measured_at` says when each was written.
 */
export function mergeReport(part: Record<string, unknown>, file = REPORT): void {
    mkdirSync(join(file, ".."), { recursive: true });
    let current: Record<string, unknown> = {};
    if (existsSync(file)) {
        try { current = JSON.parse(readFileSync(file, "utf8")); } catch { current = {}; }
    }
    const at = new Date().toISOString();
    const measuredAt = { ...(current.measured_at as Record<string, string> | undefined), ...Object.fromEntries(Object.keys(part).map((key) => [key, at])) };
    writeFileSync(file, `${JSON.stringify({ ...current, ...part, measured_at: measuredAt }, null, 2)}\n`);
}

/** What reports/e2e.json's `hosts` says of one e2e host: its versions, and the scenarios that ran on it. */
export interface HostReport {
    readonly podman: string;
    readonly systemd: string;
    readonly aardvark_dns: string;
    readonly scenarios: string[];
}

/** The host the suite's scenarios run on first; their results keep their plain names. */
export const FIRST_HOST = "debian-12";

/**
 * A scenario's name in the report and as a test: plain on the first host (Debian 12, which
 * every earlier report has), `<name>@<host>` on any other, so both hosts' results sit side by
 * side in `scenarios` and `-t '@debian-13'` selects one host's.
 */
export function scenarioKey(name: string, host: string): string {
    return host === FIRST_HOST ? name : `${name}@${host}`;
}
