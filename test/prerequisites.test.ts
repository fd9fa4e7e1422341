import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { prerequisiteProblem } from "./prerequisites";

/** A PATH holding only `programs`, linked to this machine's copies. */
function pathWith(programs: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), "prereq-"));
    for (const program of programs) symlinkSync("/bin/true", join(dir, program));
    return dir;
}

describe("the tests' prerequisite check", () => {
    it("names each missing program with its Debian package and the fix, in one line", () => {
        const problem = prerequisiteProblem("npm test", ["shellcheck", "systemd-analyze", "podman"], { path: pathWith(["podman"]) });
        expect(problem).toBe("npm test needs shellcheck, systemd-analyze (package systemd): apt-get install shellcheck systemd, or run .ci/run (as root) to install everything the tests need");
    });

    it("wants a program the tests spawn on PATH, even when it is in sbin", () => {
        // debootstrap is in /usr/sbin on Debian; spawnSync looks only on PATH.
        expect(prerequisiteProblem("e2e", ["debootstrap"], { path: pathWith([]), uid: 0 })).toContain("needs debootstrap: apt-get install debootstrap");
    });

    it("refuses a non-root user for the end-to-end suite before looking further", () => {
        expect(prerequisiteProblem("the end-to-end suite", ["podman"], { needsRoot: true, uid: 1000, path: pathWith(["podman"]) }))
            .toMatch(/^the end-to-end suite needs root .*sudo npm run test:e2e/);
    });

    it("is silent when everything is there", () => {
        expect(prerequisiteProblem("npm test", ["shellcheck", "podman"], { path: pathWith(["shellcheck", "podman"]) })).toBeUndefined();
    });
});
