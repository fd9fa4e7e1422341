import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * The programs the tests run, with the Debian package that provides each. `.ci/run`
 * installs exactly these packages (test/projectFiles.test.ts holds it to that).
 */
export const PREREQUISITES = {
    // npm test: the rendered scripts and units are checked by these; `systemd-analyze verify`
    // also needs the units' /usr/bin/podman to exist.
    shellcheck: "shellcheck",
    "systemd-analyze": "systemd",
    podman: "podman",
    // npm run test:e2e: a privileged podman container from a debootstrapped root file system.
    runc: "runc",
    crun: "crun",
    debootstrap: "debootstrap",
    netavark: "netavark",
    "aardvark-dns": "aardvark-dns",
    iptables: "iptables",
    // The fixture's command.remote and ssh:// dockerHost (e2e/deploy.ts), and the operator's key; `ssh -G` in npm test.
    ssh: "openssh-client",
    "ssh-keygen": "openssh-client",
    // npm test: what the scripts run inside the database container meets BusyBox's sh and tools there, as in
    // postgres:16-alpine (test/busybox.ts); the e2e stand-in has Debian's busybox too (e2e/host.ts).
    busybox: "busybox",
} as const;
export type Program = keyof typeof PREREQUISITES;

/** The tests spawn these by name, so they must be on PATH. */
const SPAWNED: readonly Program[] = ["shellcheck", "systemd-analyze", "podman", "debootstrap", "ssh", "ssh-keygen", "busybox"];
/**
 * podman finds the others itself: the runtimes in sbin as well as bin, netavark and
 * aardvark-dns in its helper_binaries_dir (containers.conf(5)), iptables in sbin.
 */
const PODMAN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"];

function executable(file: string): boolean {
    try {
        accessSync(file, constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** The programs of `programs` found nowhere they would be looked for. */
export function missingPrograms(programs: readonly Program[], path = process.env.PATH ?? ""): Program[] {
    const onPath = path.split(delimiter).filter(Boolean);
    return programs.filter((program) => !(SPAWNED.includes(program) ? onPath : [...onPath, ...PODMAN_DIRS])
        .some((dir) => executable(join(dir, program))));
}

/**
 * One line saying what is missing and how to get it, or undefined when nothing is.
 * `needsRoot`: the e2e suite runs privileged containers and chroot.
 */
export function prerequisiteProblem(what: string, programs: readonly Program[], opts: { needsRoot?: boolean; path?: string; uid?: number } = {}): string | undefined {
    const uid = opts.uid ?? process.getuid?.();
    if (opts.needsRoot && uid !== 0) {
        return `${what} needs root (privileged podman containers, chroot): run it as root, e.g. sudo npm run test:e2e, or run .ci/run`;
    }
    const missing = missingPrograms(programs, opts.path);
    if (missing.length === 0) return undefined;
    const packages = [...new Set(missing.map((program) => PREREQUISITES[program]))];
    const named = missing.map((program) => PREREQUISITES[program] === program ? program : `${program} (package ${PREREQUISITES[program]})`);
    return `${what} needs ${named.join(", ")}: apt-get install ${packages.join(" ")}, or run .ci/run (as root) to install everything the tests need`;
}
