import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where the e2e suite keeps its root file systems (git-ignored); reused between runs. */
export const WORK = process.env.E2E_WORK ?? join(__dirname, ".work");
const OUTER_CONF = join(__dirname, "outer-containers.conf");
const MIRROR = "http://deb.debian.org/debian";

/** Packages of the systemd host: podman with netavark/aardvark (DNS on networks) and both runtimes. */
const HOST_PACKAGES = "systemd,systemd-sysv,dbus,podman,runc,crun,netavark,aardvark-dns,iptables,uidmap,slirp4netns,fuse-overlayfs,dbus-user-session";
/** Packages of the stand-in images: a real PostgreSQL, and python3 with psycopg2 for the stand-in app. */
const IMAGE_PACKAGES = "postgresql,python3,python3-psycopg2,curl";

export interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

function run(command: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Result {
    const result: SpawnSyncReturns<string> = spawnSync(command, args, {
        encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? { ...process.env, CONTAINERS_CONF: OUTER_CONF },
    });
    if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command and throws with its output unless it succeeds. */
export function must(command: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    const result = run(command, args, opts);
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ").slice(0, 300)} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}

/** A Debian root file system, made once by debootstrap and kept in WORK. */
function rootfs(name: string, packages: string): string {
    const dir = join(WORK, name);
    if (existsSync(join(dir, ".complete"))) return dir;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(WORK, { recursive: true });
    must("debootstrap", ["--variant=minbase", `--include=${packages}`, "bookworm", dir, MIRROR], { timeoutMs: 900_000 });
    writeFileSync(join(dir, ".complete"), "");
    return dir;
}

/** The unprivileged user that owns the containers, as `seaser` on the real host. */
export const USER = { name: "seaser", uid: 1000, home: "/home/seaser" };
const AS_USER = ["--user", USER.name, "--workdir", USER.home, "--env", `HOME=${USER.home}`,
    "--env", `XDG_RUNTIME_DIR=/run/user/${USER.uid}`, "--env", `DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${USER.uid}/bus`];

/**
 * A machine with systemd as PID 1 and rootless podman inside, run by a normal user
 * with lingering: a privileged podman container booted from a debootstrapped root
 * file system. `reboot()` stops and starts it, which is a reboot as far as
 * everything inside can tell.
 */
export class SystemdHost {
    private constructor(readonly name: string, readonly root: string) {}

    /** Makes a fresh host from the cached root file system, with the stand-in image tarball in /root. */
    static create(name: string): SystemdHost {
        const pristine = rootfs("host-rootfs", HOST_PACKAGES);
        const images = rootfs("image-rootfs", IMAGE_PACKAGES);
        for (const file of ["postgres-entrypoint.sh", "app.py", "probe.py"]) {
            cpSync(join(__dirname, "images", file), join(images, "usr/local/lib", file));
        }
        run("podman", ["rm", "-f", "-t", "5", name]);
        const root = join(WORK, `${name}-rootfs`);
        rmSync(root, { recursive: true, force: true });
        must("cp", ["-a", pristine, root]);
        writeFileSync(join(root, "etc/hostname"), `${name}\n`);
        // The user and its subordinate ids for rootless podman.
        must("chroot", [root, "useradd", "--create-home", "--uid", String(USER.uid), "--shell", "/bin/sh", USER.name]);
        for (const file of ["etc/subuid", "etc/subgid"]) writeFileSync(join(root, file), `${USER.name}:100000:65536\n`);
        // slirp4netns (rootless networking) opens /dev/net/tun as the user.
        writeFileSync(join(root, "etc/tmpfiles.d/tun.conf"), "z /dev/net/tun 0666 - - -\n");
        // Nested podman: runc fails on the nested cgroups; crun works.
        mkdirSync(join(root, USER.home, ".config/containers"), { recursive: true });
        writeFileSync(join(root, USER.home, ".config/containers/containers.conf"), '[engine]\nruntime = "crun"\n');
        // The user's Podman API socket (the README's podman.socket), placed in the home directory so the
        // fixture outside the host reaches it through the shared root file system.
        mkdirSync(join(root, USER.home, ".config/systemd/user/podman.socket.d"), { recursive: true });
        writeFileSync(join(root, USER.home, ".config/systemd/user/podman.socket.d/e2e.conf"), "[Socket]\nListenStream=\nListenStream=%h/podman.sock\n");
        must("tar", ["-C", images, "--exclude=./usr/share/doc", "--exclude=./usr/share/man", "--exclude=./usr/share/locale",
            "--exclude=./var/cache/apt", "--exclude=./.complete", "-cf", join(root, USER.home, "images.tar"), "."]);
        must("chroot", [root, "chown", "-R", `${USER.name}:${USER.name}`, USER.home]);
        return new SystemdHost(name, root);
    }

    boot(): void {
        must("podman", ["run", "-d", "--name", this.name, "--hostname", this.name, "--privileged", "--device", "/dev/net/tun",
            "--systemd=always", "--rootfs", this.root, "/sbin/init"]);
        this.waitForSystemd();
        // The README's one-time host preparation: the user's units start at boot, without a login,
        // and the Docker-compatible API the docker provider talks to.
        this.asRoot(["loginctl", "enable-linger", USER.name]);
        this.waitForSystemd();
        this.must(["systemctl", "--user", "enable", "--now", "podman.socket"]);
    }

    /** The user's Podman API socket, as seen from outside the host. */
    get apiSocket(): string {
        return join(this.root, USER.home, "podman.sock");
    }

    /** Stops the host as a shutdown would (systemd stops every unit) and boots it again. */
    reboot(): { bootedAt: number; shutdownSeconds: number } {
        const stoppingAt = Date.now() / 1000;
        must("podman", ["stop", "-t", "120", this.name], { timeoutMs: 180_000 });
        const bootedAt = Date.now() / 1000;
        const shutdownSeconds = bootedAt - stoppingAt;
        must("podman", ["start", this.name]);
        this.waitForSystemd();
        return { bootedAt, shutdownSeconds };
    }

    /** Waits until the system's and, once lingering, the user's systemd have started everything. */
    private waitForSystemd(): void {
        const deadline = Date.now() + 60_000;
        const done = (state: string) => state === "running" || state === "degraded"; // degraded: a unit failed, e.g. a stale healthcheck timer
        while (Date.now() < deadline) {
            const system = run("podman", ["exec", this.name, "systemctl", "is-system-running"]).stdout.trim();
            const lingering = run("podman", ["exec", this.name, "test", "-e", `/var/lib/systemd/linger/${USER.name}`]).status === 0;
            if (done(system) && (!lingering || done(this.exec(["systemctl", "--user", "is-system-running"]).stdout.trim()))) return;
            spawnSync("sleep", ["0.2"]);
        }
        throw new Error(`host ${this.name}: systemd did not finish booting in 60 s`);
    }

    /**
     * Runs a command inside the host as the containers' user. `env` reaches the command
     * through podman's own environment (`--env NAME`), so no value is on a command line.
     */
    exec(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Result {
        const names = Object.keys(opts.env ?? {}).flatMap((name) => ["--env", name]);
        return run("podman", ["exec", "-i", ...AS_USER, ...names, this.name, ...args],
            { ...opts, env: { ...process.env, CONTAINERS_CONF: OUTER_CONF, ...opts.env } });
    }

    /** Runs a command inside the host as the containers' user and returns its output; throws if it fails. */
    must(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): string {
        const result = this.exec(args, opts);
        if (result.status !== 0) {
            throw new Error(`podman exec ${args.join(" ").slice(0, 300)} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
        }
        return result.stdout;
    }

    /** Runs a command inside the host as root. */
    asRoot(args: string[]): string {
        return must("podman", ["exec", this.name, ...args]);
    }

    /** Imports the stand-in images: PostgreSQL (stops on SIGINT, as the official image) and the app. */
    importImages(images: { postgres: string[]; app: string[] }): void {
        const imports: [string[], string[]][] = [
            [images.postgres, ["CMD [\"/bin/sh\", \"/usr/local/lib/postgres-entrypoint.sh\"]", "STOPSIGNAL SIGINT"]],
            [images.app, ["CMD [\"python3\", \"/usr/local/lib/app.py\", \"80\"]"]],
        ];
        for (const [[first, ...aliases], changes] of imports) {
            this.must(["podman", "import", ...changes.flatMap((change) => ["--change", change]), `${USER.home}/images.tar`, first], { timeoutMs: 300_000 });
            for (const alias of aliases) this.must(["podman", "tag", first, alias]);
        }
    }

    destroy(): void {
        run("podman", ["rm", "-f", "-t", "5", this.name]);
        rmSync(this.root, { recursive: true, force: true });
    }
}
