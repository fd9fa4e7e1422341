import { mkdirSync, mkdtempSync, renameSync, symlinkSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DISTRIBUTIONS, HOST_PACKAGES, rootfsDir, SystemdHost } from "../e2e/host";
import { scenarioKey } from "../e2e/report";

/** A host object for a root file system at `root`, without booting anything. */
const hostAt = (name: string, root: string) => Reflect.construct(SystemdHost, [name, root]) as SystemdHost;
const deepRoot = `/tmp/${"a-checkout-folder-with-a-long-name/".repeat(4)}rezept-infra/e2e/.work/rt-e2e-host-rootfs`;

const connects = (path: string) => new Promise<boolean>((resolve) => {
    const socket = createConnection(path, () => { socket.end(); resolve(true); });
    socket.on("error", () => resolve(false));
});

describe("the e2e host's API socket, from any checkout path", () => {
    it("is reached through a path a Unix socket address can hold (107 bytes), however deep the checkout", () => {
        expect(Buffer.byteLength(deepRoot)).toBeGreaterThan(107);
        const socket = hostAt("rt-e2e-host", deepRoot).apiSocket;
        expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(107);
        expect(socket.startsWith(deepRoot)).toBe(false);
    });

    it("refuses, naming E2E_HOST, a host name too long for that path", () => {
        expect(() => hostAt("x".repeat(100), deepRoot)).toThrow(/^E2E_HOST "x+" is too long for its API socket/);
    });

    it("(why) a socket under a long path cannot be connected to, and a short link to it can", async () => {
        const short = mkdtempSync(join(tmpdir(), "sock-"));
        const server = createServer((connection) => connection.end());
        await new Promise<void>((resolve) => server.listen(join(short, "api.sock"), resolve));
        try {
            const deep = join(mkdtempSync(join(tmpdir(), "deep-")), "a-checkout-folder-with-a-long-name".repeat(3));
            mkdirSync(deep, { recursive: true });
            renameSync(short, join(deep, "home"));
            const socket = join(deep, "home", "api.sock");
            const link = join(mkdtempSync(join(tmpdir(), "link-")), "api.sock");
            symlinkSync(socket, link);
            expect(Buffer.byteLength(socket)).toBeGreaterThan(107);
            expect(await connects(socket)).toBe(false);
            expect(await connects(link)).toBe(true);
        } finally {
            server.close();
        }
    });
});

describe("the e2e suite's cached root file systems", () => {
    it("are kept per package list: a changed list builds a new one instead of reusing one without the new packages", () => {
        expect(rootfsDir("host-rootfs", "systemd,podman")).toBe(rootfsDir("host-rootfs", "systemd,podman"));
        expect(rootfsDir("host-rootfs", "systemd,podman,openssh-server")).not.toBe(rootfsDir("host-rootfs", "systemd,podman"));
        expect(rootfsDir("host-rootfs", "systemd,podman")).toMatch(/\/host-rootfs-[0-9a-f]{12}$/);
    });
});

describe("the e2e hosts of both Debian releases", () => {
    it("builds Debian 13 from trixie with Debian 12's packages and the Recommends Podman 5 needs, in a cache folder of its own", () => {
        expect(DISTRIBUTIONS["debian-12"]).toMatchObject({ suite: "bookworm", packages: HOST_PACKAGES });
        const trixie = DISTRIBUTIONS["debian-13"];
        expect(trixie.suite).toBe("trixie");
        // pasta for rootless networks, nft for netavark 1.14's firewall: without either no container starts (docs/podman5.md).
        expect(trixie.packages.split(",")).toEqual([...HOST_PACKAGES.split(","), "passt", "nftables"]);
        expect(rootfsDir(trixie.rootfs, trixie.packages)).not.toBe(rootfsDir(DISTRIBUTIONS["debian-12"].rootfs, trixie.packages));
    });

    it("reports Debian 12's scenarios under their names and the others' as <name>@<host>", () => {
        expect(scenarioKey("reboot", "debian-12")).toBe("reboot");
        expect(scenarioKey("reboot", "debian-13")).toBe("reboot@debian-13");
    });
});
