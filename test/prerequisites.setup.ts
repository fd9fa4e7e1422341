import { prerequisiteProblem } from "./prerequisites";

/** vitest globalSetup of npm test: one line, before any test, when a checker the tests run is missing. */
export default function setup(): void {
    const problem = prerequisiteProblem("npm test", ["shellcheck", "systemd-analyze", "podman", "ssh", "busybox"]);
    if (problem) {
        console.error(problem);
        process.exit(1);
    }
}
