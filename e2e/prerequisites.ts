import { prerequisiteProblem } from "../test/prerequisites";

/**
 * vitest globalSetup: on a machine that cannot run the suite, stop before anything
 * starts with one line (an exception would bury it under vitest's stack trace).
 */
export default function setup(): void {
    const problem = prerequisiteProblem("the end-to-end suite", ["podman", "runc", "crun", "debootstrap", "netavark", "aardvark-dns", "iptables", "ssh", "ssh-keygen"], { needsRoot: true });
    if (problem) {
        console.error(problem);
        process.exit(1);
    }
}
