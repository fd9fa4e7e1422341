import { mkdtempSync, symlinkSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

let applets: string | undefined;

/**
 * A folder of links to every applet of this machine's BusyBox (Debian's busybox package, the one the e2e
 * PostgreSQL stand-in has first on PATH: e2e/host.ts postgresImageTar). Commands the tests run "inside the
 * database container" run with it first on PATH and under BusyBox's sh, so they meet BusyBox's tar, find, cp,
 * sed, awk, df... as in postgres:16-alpine, where a GNU-only option fails (docs/standins.md).
 */
export function busyboxApplets(): string {
    if (applets) return applets;
    const list = spawnSync("busybox", ["--list"], { encoding: "utf8" });
    if (list.status !== 0) throw new Error(`busybox --list failed: ${list.error?.message ?? list.stderr}; apt-get install busybox, or run .ci/run`);
    const dir = mkdtempSync(join(tmpdir(), "busybox-applets-"));
    const busybox = spawnSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).stdout.trim();
    for (const applet of list.stdout.split("\n").filter((name) => /^[a-z0-9_.[-]+$/.test(name))) symlinkSync(busybox, join(dir, applet));
    applets = dir;
    return dir;
}

/** The PATH of a command run in the database container: `first` (the test's own stubs), then BusyBox's applets, then this machine's. */
export const containerPath = (...first: string[]) => [...first, busyboxApplets(), process.env.PATH ?? "/usr/bin:/bin"].join(":");
