import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The suite's report; each e2e test file writes its own top-level keys. */
export const REPORT = join(__dirname, "..", "reports", "e2e.json");
/** What `npm run bench` measured (e2e/*.bench.ts). */
export const BENCH_REPORT = join(__dirname, "..", "reports", "bench.json");

/**
 * Merges `part` into reports/e2e.json. Each test file (one per e2e host, possibly at the same
 * time) ends by writing what it measured: replacing the whole file would drop what another wrote.
 * Top-level keys are merged, and `scenarios` and `hosts` one level deeper (each host's file has its
 * own entries); an entry left from an earlier run (a file or scenario filtered out) stays, so
 * `measured_at` says when each top-level key was last written. Writers take turns by a lock file.
 */
export function mergeReport(part: Record<string, unknown>, file = REPORT): void {
    mkdirSync(join(file, ".."), { recursive: true });
    withLock(`${file}.lock`, () => {
        let current: Record<string, unknown> = {};
        if (existsSync(file)) {
            try { current = JSON.parse(readFileSync(file, "utf8")); } catch { current = {}; }
        }
        const at = new Date().toISOString();
        const measuredAt = { ...(current.measured_at as Record<string, string> | undefined), ...Object.fromEntries(Object.keys(part).map((key) => [key, at])) };
        const merged: Record<string, unknown> = { ...current, ...part };
        for (const key of ["scenarios", "hosts"]) {
            if (key in part) merged[key] = { ...(current[key] as Record<string, unknown> | undefined), ...(part[key] as Record<string, unknown>) };
        }
        writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...merged, measured_at: measuredAt }, null, 2)}\n`);
        renameSync(`${file}.tmp`, file);
    });
}

/** Runs `work` holding `lock` (created exclusively; a lock older than a minute is a dead writer's and is taken over). */
function withLock(lock: string, work: () => void): void {
    const deadline = Date.now() + 60_000;
    for (;;) {
        try {
            closeSync(openSync(lock, "wx"));
            break;
        } catch {
            const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
            if (age > 60_000 || Date.now() > deadline) {
                rmSync(lock, { force: true });
                continue;
            }
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
    }
    try {
        work();
    } finally {
        rmSync(lock, { force: true });
    }
}

/** One figure of reports/bench.json, in the shape issue 21 fixes so that other tools can read it. */
export interface BenchFigure {
    readonly unit: "s" | "count" | "ratio";
    readonly min: number;
    readonly median: number;
    readonly max: number;
}

/** A figure over the runs that measured it (the median of an even count is the mean of the middle two). */
export function benchFigure(unit: BenchFigure["unit"], values: readonly number[]): BenchFigure {
    if (values.length === 0) throw new Error("benchFigure: no values (no run measured the figure)");
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    return { unit, min: sorted[0], median: Math.round(median * 100) / 100, max: sorted[sorted.length - 1] };
}

/**
 * Merges `part` into reports/bench.json in issue 21's shape: `runs`, one `measured_at` (the time
 * of this write), and `figures` by name, a bench file's figures replacing only those of the same
 * name. Other top-level keys (the boot baselines' details) are merged as mergeReport does.
 */
export function mergeBenchReport(part: { runs?: number; figures?: Record<string, BenchFigure>; [key: string]: unknown }, file = BENCH_REPORT): void {
    mkdirSync(join(file, ".."), { recursive: true });
    let current: Record<string, unknown> = {};
    if (existsSync(file)) {
        try { current = JSON.parse(readFileSync(file, "utf8")); } catch { current = {}; }
    }
    const figures = { ...(current.figures as Record<string, BenchFigure> | undefined), ...part.figures };
    writeFileSync(file, `${JSON.stringify({ ...current, ...part, figures, measured_at: new Date().toISOString() }, null, 2)}\n`);
}

/** What reports/e2e.json's `hosts` says of one e2e host: its versions, and the scenarios that ran on it. */
export interface HostReport {
    readonly podman: string;
    readonly systemd: string;
    readonly aardvark_dns: string;
    /** The real Pulumi tools the host's scenarios ran under (e2e/pulumi.ts CheckoutStacks.versions). */
    readonly tools: Readonly<Record<string, string>>;
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
