import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A host stand-in for the install and remove scripts: systemctl and loginctl are
 * stubs that log their arguments, HOME is a temp dir, and the scripts run for real
 * under sh. User scope only: the system scope differs only in its unit directory.
 */
export function fakeHost(opts: { failOn?: string } = {}) {
    const root = mkdtempSync(join(tmpdir(), "fake-host-"));
    const bin = join(root, "bin");
    const home = join(root, "home");
    mkdirSync(bin);
    mkdirSync(home);
    const log = join(root, "calls.log");
    for (const tool of ["systemctl", "loginctl"]) {
        // With `failOn`, a call naming that unit fails, as systemctl does for a unit that cannot start.
        writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\necho "$XDG_RUNTIME_DIR" >> "${log}.xdg"\n` +
            (opts.failOn ? `case "$*" in *"${opts.failOn}"*) echo "Failed to start ${opts.failOn}" >&2; exit 1;; esac\n` : "") + "exit 0\n");
        chmodSync(join(bin, tool), 0o755);
    }
    return {
        unitDir: join(home, ".config/systemd/user"),
        /** Runs a script; `env` adds to or, with undefined, removes from the host's environment. */
        run: (script: string, env: Record<string, string | undefined> = {}) => spawnSync("sh", ["-c", script], {
            encoding: "utf8",
            env: Object.fromEntries(Object.entries({ PATH: `${bin}:/usr/bin:/bin`, HOME: home, XDG_RUNTIME_DIR: join(root, "run"), ...env })
                .filter((entry): entry is [string, string] => entry[1] !== undefined)),
        }),
        /** Every stub call so far, one string per call. */
        calls: (): string[] => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []),
        /** XDG_RUNTIME_DIR as each stub call saw it. */
        runtimeDirs: (): string[] => (existsSync(`${log}.xdg`) ? readFileSync(`${log}.xdg`, "utf8").trim().split("\n") : []),
        root,
    };
}
