import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { basename, join } from "node:path";
import { IMAGE_PACKAGES, must, rootfsDir, run, SOCKET_LINKS, stopEarlierRun, SystemdHost, USER } from "./host";

/** The backup account on the target, and its home, which holds one restic repository per environment. */
export const BACKUP_USER = { name: "backup", home: "/srv/restic" };

/**
 * The target's image in the outer podman: the stand-in images' tar, named by the package list of
 * the root file system it comes from, so a changed list imports a new one and an unchanged one is
 * imported once, not at every run (700 MB each time).
 */
function targetImage(host: SystemdHost): string {
    const image = `localhost/e2e-offsite:${basename(rootfsDir("image-rootfs", IMAGE_PACKAGES)).replace(/^image-rootfs-/, "")}`;
    if (run("podman", ["image", "exists", image]).status === 0) return image;
    // Images of earlier package lists, unless a container uses them: without -f, podman rmi refuses an image in use, where
    // -f removed the container too, another checkout's target (another package list) mid-run. Not this list's own: the other
    // host's test file, running at once (CI runs both), may have imported it since the check above and not yet started its target.
    for (const old of must("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/e2e-offsite"]).split("\n").filter((name) => name && name !== image)) {
        run("podman", ["rmi", old]);
    }
    must("podman", ["import", join(host.root, USER.home, "images.tar"), image], { timeoutMs: 600_000 });
    return image;
}

/**
 * An off-host backup target: an SFTP server on the machine outside the hosts, as a storage box
 * or a second server would be. A container on the outer podman (beside the hosts, on podman's
 * default bridge), made from the stand-in images' Debian root file system, running sshd. Its user
 * `backup` logs in by key only and gets nothing but SFTP (ForceCommand internal-sftp), which is
 * all restic's sftp backend needs (`ssh ... -s sftp`); its home holds the repositories.
 */
export class OffsiteTarget {
    private constructor(readonly name: string, readonly address: string) {}

    /**
     * Starts the target `name` (removing an earlier one of that name) and lets `host`'s user back up
     * to it: an ed25519 key of the user's own (~/.ssh/id_ed25519, made if missing) authorized for
     * `backup`, and the target's host key pinned in the user's ~/.ssh/known_hosts, read from the
     * target's own key file (no scan).
     */
    static start(name: string, host: SystemdHost): OffsiteTarget {
        stopEarlierRun(name);
        const image = targetImage(host);
        run("podman", ["rm", "-f", "-t", "5", name]);
        const address = OffsiteTarget.bridgeAddress(name);
        // Host keys on first start only: a restart (makeReachable) keeps the container's file system, so
        // ssh-keygen -A finds them and sshd comes back with the same key.
        // A fixed MAC too, as a real server's: with a new one at each start (podman's default), the host's
        // neighbour cache still pointed at the old one after makeReachable, and connections timed out for
        // tens of seconds (seen in offhost-copy-fails), an outage of the model, not of the server.
        must("podman", ["run", "-d", "--name", name, "--hostname", name, "--ip", address, "--mac-address", OffsiteTarget.macAddress(name), image, "sh", "-euc",
            "ssh-keygen -A && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e " +
            `-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o AllowUsers=${BACKUP_USER.name} -o ForceCommand=internal-sftp`]);
        const target = new OffsiteTarget(name, address);
        // When vitest is killed, its worker is left running, orphaned (see stopEarlierRun): once it notices,
        // it removes the target too. Before SystemdHost.create's handler, which removes the host and exits.
        const parent = process.ppid;
        process.prependOnceListener("disconnect", () => {
            if (process.ppid !== parent) target.destroy();
        });
        // Debian has a system user `backup` (base-passwd: uid 34, home /var/backups, shell nologin): it gets
        // the repositories' home and a shell (internal-sftp needs none, but sshd refuses a nologin user).
        target.exec(["sh", "-euc", `install -d -m 0700 -o ${BACKUP_USER.name} -g ${BACKUP_USER.name} ${BACKUP_USER.home} && usermod --home ${BACKUP_USER.home} --shell /bin/sh ${BACKUP_USER.name}`]);
        target.waitForSshd();
        const publicKey = host.must(["sh", "-euc",
            'umask 077 && mkdir -p ~/.ssh && { test -f ~/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N "" -C "$(id -un)@$(hostname)" -f ~/.ssh/id_ed25519; } && cat ~/.ssh/id_ed25519.pub']);
        target.exec(["sh", "-euc", `umask 077 && mkdir -p ~${BACKUP_USER.name}/.ssh && cat >> ~${BACKUP_USER.name}/.ssh/authorized_keys && chown -R ${BACKUP_USER.name}: ~${BACKUP_USER.name}/.ssh`],
            { input: `${publicKey.trim()}\n` });
        const hostKey = target.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).trim().split(/\s+/).slice(0, 2).join(" ");
        host.must(["sh", "-euc", 'umask 077 && touch ~/.ssh/known_hosts && ssh-keygen -q -R "$1" -f ~/.ssh/known_hosts >/dev/null 2>&1 || true; printf "%s %s\\n" "$1" "$2" >> ~/.ssh/known_hosts; rm -f ~/.ssh/known_hosts.old',
            "sh", address, hostKey]);
        return target;
    }

    /**
     * The target's fixed address on podman's default bridge, by its name (as SystemdHost's): in
     * 10.88.190-199.x, clear of the hosts' 10.88.200-249.x and of the addresses podman hands out
     * from 10.88.0.2 up, and kept across makeUnreachable/makeReachable as a real server's is.
     */
    static bridgeAddress(name: string): string {
        const [a, b] = createHash("sha256").update(name).digest();
        return `10.88.${190 + (a % 10)}.${2 + (b % 250)}`;
    }

    /** The target's fixed MAC address, by its name: locally administered (02:...), unicast. */
    static macAddress(name: string): string {
        const bytes = createHash("sha256").update(`mac:${name}`).digest().subarray(0, 5);
        return ["02", ...[...bytes].map((b) => b.toString(16).padStart(2, "0"))].join(":");
    }

    /** The restic repository of environment `env`, as a stack's secret holds it: `sftp:backup@ADDRESS:/srv/restic/<env>`. */
    repository(env: string): string {
        return `sftp:${BACKUP_USER.name}@${this.address}:${this.path(env)}`;
    }

    /** Where environment `env`'s repository is on the target. */
    path(env: string): string {
        return `${BACKUP_USER.home}/${env}`;
    }

    /** The files of `env`'s repository, relative to it and sorted (empty if there is none). */
    files(env: string): string[] {
        const found = run("podman", ["exec", this.name, "find", this.path(env), "-type", "f", "-printf", "%P\\n"]);
        return found.status === 0 ? found.stdout.split("\n").filter(Boolean).sort() : [];
    }

    /** Runs a command in the target as root; returns its output, throws if it fails. */
    exec(args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
        return must("podman", ["exec", "-i", this.name, ...args], opts);
    }

    /** Whether the target's container is running. */
    running(): boolean {
        return run("podman", ["inspect", "--format", "{{.State.Running}}", this.name]).stdout.trim() === "true";
    }

    /** The target goes away from the network (its container stops, its address is gone); what it stored stays. */
    makeUnreachable(): void {
        must("podman", ["stop", "-t", "5", this.name]);
    }

    /** The target is back at its address, with the same data and the same host key. */
    makeReachable(): void {
        must("podman", ["start", this.name]);
        this.waitForSshd();
    }

    private waitForSshd(): void {
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
            if (run("podman", ["exec", this.name, "bash", "-c", ": </dev/tcp/127.0.0.1/22"]).status === 0) return;
            spawnSync("sleep", ["0.2"]);
        }
        throw new Error(`offsite target ${this.name}: sshd did not listen on port 22 within 30 s:\n${run("podman", ["logs", "--tail", "20", this.name]).stderr}`);
    }

    destroy(): void {
        run("podman", ["rm", "-f", "-t", "5", this.name]);
        rmSync(join(SOCKET_LINKS, `${this.name}.pid`), { force: true });
    }
}
