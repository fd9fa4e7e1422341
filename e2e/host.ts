import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, lchownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Where the e2e suite keeps its root file systems, reused between runs: outside the checkout,
 * so a fresh clone (CI's) reuses the debootstraps of the last run on this machine (about 3
 * minutes and 1.5 GB). E2E_WORK chooses another folder.
 */
export const WORK = resolve(process.env.E2E_WORK ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "rezept-tagebuch", "e2e"));
const OUTER_CONF = join(__dirname, "outer-containers.conf");
const MIRROR = "http://deb.debian.org/debian";

/**
 * Packages of the systemd host: podman with netavark/aardvark (DNS on networks) and both runtimes;
 * openssh-server and podman-docker for the stacks deployed over SSH (docs/ssh.md: the docker
 * provider's ssh:// runs `docker system dial-stdio` on the host); curl for the health check's webhook.
 */
export const HOST_PACKAGES = "systemd,systemd-sysv,dbus,podman,runc,crun,netavark,aardvark-dns,iptables,uidmap,slirp4netns,fuse-overlayfs,dbus-user-session,openssh-server,podman-docker,curl";
/**
 * The Debian releases the suite builds a host from, named as reports/e2e.json's `hosts` names them.
 * Debian 13's Podman 5 runs rootless networks through pasta (containers.conf
 * default_rootless_network_cmd, docs/podman5.md), package passt: only a Recommends of Debian 13's
 * podman, which debootstrap does not install. Likewise nftables: Debian 13's netavark sets up the
 * networks' firewall with `nft` (its default driver; Debian 12's 1.4 has iptables only), and
 * fails every container start without it.
 */
export const DISTRIBUTIONS = {
    "debian-12": { suite: "bookworm", packages: HOST_PACKAGES, rootfs: "host-rootfs" },
    "debian-13": { suite: "trixie", packages: `${HOST_PACKAGES},passt,nftables`, rootfs: "host-rootfs-trixie" },
} as const;
export type Distribution = keyof typeof DISTRIBUTIONS;

/**
 * Packages of the stand-in images: a real PostgreSQL, python3 with psycopg2 for the stand-in app,
 * Debian's nginx for the reverse proxy in front of the apps (e2e/deploys.bench.ts), and for the
 * off-host backups (issue 22) Debian's restic (bookworm: 0.14.0) with the ssh client its sftp
 * backend runs, and sshd for the backup target (e2e/offsite.ts), made from the same file system.
 */
export const IMAGE_PACKAGES = "postgresql,python3,python3-psycopg2,curl,nginx,restic,openssh-client,openssh-server,busybox";

export interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

export function run(command: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Result {
    const result: SpawnSyncReturns<string> = spawnSync(command, args, {
        encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024, cwd: opts.cwd,
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

/**
 * Removes a root file system a run may have left half-made. A run killed during debootstrap
 * leaves /proc, /sys and (in a container) /dev mounted inside it: unmount those first, and
 * never cross into another file system, so a leftover mount can neither stop the removal
 * nor lose it the host's files.
 */
function removeTree(dir: string): void {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n")
        .map((line) => line.split(" ")[4]?.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))))
        .filter((mount): mount is string => mount !== undefined && (mount === dir || mount.startsWith(`${dir}/`)));
    for (const mount of mounts.sort((a, b) => b.length - a.length)) must("umount", ["--lazy", mount]);
    must("rm", ["-rf", "--one-file-system", dir]);
}

/** A cached root file system unused this long is removed by the next run that makes one of the same name. */
const STALE_DAYS = 7;

/**
 * A Debian root file system, made once by debootstrap and kept in WORK, in a folder named by its
 * package list: a changed list makes a new one instead of reusing one without the new packages.
 * Each use touches its `.complete`; folders of the same name with other lists unused for
 * STALE_DAYS are removed (other checkouts may still use a recent one).
 */
export function rootfs(name: string, packages: string, suite = "bookworm"): string {
    const dir = rootfsDir(name, packages);
    const complete = join(dir, ".complete");
    // Both hosts' test files run at once and both need the image root file system: one builds it, the
    // other waits for its .complete. The builder holds a folder as its lock; one older than a debootstrap
    // can take is a killed run's.
    const lock = `${dir}.building`;
    mkdirSync(WORK, { recursive: true });
    for (;;) {
        if (existsSync(complete)) {
            utimesSync(complete, new Date(), new Date());
            return dir;
        }
        try {
            mkdirSync(lock);
            break;
        } catch {
            if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 1_200_000) rmSync(lock, { recursive: true, force: true });
            else spawnSync("sleep", ["2"]);
        }
    }
    try {
        for (const entry of readdirSync(WORK).filter((e) => e === name || new RegExp(`^${name}-[0-9a-f]{12}$`).test(e))) {
            const other = join(WORK, entry);
            const used = existsSync(join(other, ".complete")) ? statSync(join(other, ".complete")).mtimeMs : 0;
            if (other !== dir && Date.now() - used > STALE_DAYS * 86_400_000) removeTree(other);
        }
        removeTree(dir);
        must("debootstrap", ["--variant=minbase", `--include=${packages}`, suite, dir, MIRROR], { timeoutMs: 900_000 });
        writeFileSync(complete, "");
        return dir;
    } finally {
        rmSync(lock, { recursive: true, force: true });
    }
}

/**
 * The restic image's file system: restic and ssh with the libraries ldd names, the users and ssh's
 * config, from the image root file system; a few MB, as the official restic/restic image is (alpine,
 * restic, openssh-client), where a copy of the whole image file system (700 MB) cost every restic
 * run 15 s of rootless vfs storage copying it into the container (seen in the e2e journal).
 */
function resticImageTar(images: string, tar: string): void {
    const stage = mkdtempSync(join(tmpdir(), "rezept-e2e-restic-"));
    try {
        const libraries = must("chroot", [images, "ldd", "/usr/bin/ssh", "/usr/bin/restic"]).split("\n")
            .map((line) => /(\/\S+) \(0x/.exec(line)?.[1]).filter((path): path is string => path !== undefined);
        for (const file of ["/usr/bin/restic", "/usr/bin/ssh", "/etc/passwd", "/etc/group", "/etc/ssh/ssh_config", ...new Set(libraries)]) {
            mkdirSync(join(stage, file, ".."), { recursive: true });
            cpSync(join(images, realpathIn(images, file)), join(stage, file));
        }
        for (const dir of ["tmp", "root", "etc/ssh/ssh_config.d"]) mkdirSync(join(stage, dir), { recursive: true });
        chmodSync(join(stage, "tmp"), 0o1777);
        must("tar", ["-C", stage, "-cf", tar, "."]);
    } finally {
        rmSync(stage, { recursive: true, force: true });
    }
}

/**
 * `postgres` in the official postgres:16-alpine: uid and gid 70, Alpine's (docker-library/postgres 6edb0a8,
 * 16/alpine3.23/Dockerfile:9-13, `addgroup -g 70 -S postgres; adduser -u 70 -S -D -G postgres -H -h
 * /var/lib/postgresql -s /bin/sh postgres`). Debian's postgresql-common makes it a system user (100 here).
 */
export const ALPINE_POSTGRES_ID = 70;
/** The official image's PATH (alpine's, which postgres:16-alpine keeps): /usr/local/bin, where PostgreSQL is, before BusyBox's. */
const ALPINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Debian's files of PostgreSQL's own cluster and the postgres user's, not in the image: postgresImageTar gives its own. */
const DEBIAN_POSTGRES_PATHS = ["./etc/passwd", "./etc/group", "./usr/bin/sh", "./var/lib/postgresql", "./run/postgresql", "./etc/postgresql", "./var/log/postgresql"];

/**
 * The PostgreSQL stand-in's file system: the image root file system (Debian's PostgreSQL server: no
 * PostgreSQL 16 in Debian 12 or 13) shaped like postgres:16-alpine where this project's scripts meet it
 * (docs/standins.md lists what is still different). From docker-library/postgres 6edb0a8, 16/alpine3.23/Dockerfile:
 * - `postgres` uid/gid 70 (:9-13), owning /var/lib/postgresql (1777, :16), /var/lib/postgresql/data
 *   (1777 until the entrypoint makes it 0700, :195-197) and /var/run/postgresql (3777, :193); Debian's own
 *   cluster (/var/lib/postgresql/15/main, /etc/postgresql) is left out: the WAL volume, mounted at
 *   /var/lib/postgresql, is filled from the image's folder there.
 * - BusyBox first: Alpine's sh, tar, find, cp, sed, gzip, awk... are BusyBox applets (coreutils is only in the
 *   build's `.build-deps`, deleted at :177; the run-time packages add bash, tzdata, zstd, icu-data-full and
 *   nss_wrapper, :167-176). So /bin/sh is BusyBox's sh and every applet of Debian's busybox is linked in
 *   /usr/local/bin, ahead of Debian's GNU tools on PATH; so are PostgreSQL's programs, which the real image
 *   installs there (--prefix=/usr/local, :137), in place of Debian's pg_wrapper in /usr/bin.
 * - listen_addresses = '*' in the sample configuration initdb copies (:188-191, the same sed).
 * - the entrypoint as /usr/local/bin/docker-entrypoint.sh (:200-202), e2e/images/postgres-entrypoint.sh.
 * Written as the whole file system (Debian's paths above left out) and then the changed files appended.
 */
function postgresImageTar(images: string, tar: string, excludes: string[]): void {
    const stage = mkdtempSync(join(tmpdir(), "rezept-e2e-postgres-"));
    const members: string[] = [];
    const add = (path: string, mode?: number, owner = 0) => {
        if (mode !== undefined) chmodSync(join(stage, path), mode);
        lchownSync(join(stage, path), owner, owner);
        members.push(`./${path}`);
    };
    try {
        chmodSync(stage, 0o755);
        const id = ALPINE_POSTGRES_ID;
        const users = readFileSync(join(images, "etc/passwd"), "utf8").split("\n");
        const groups = readFileSync(join(images, "etc/group"), "utf8").split("\n");
        const taken = [...users, ...groups].find((line) => line.split(":")[2] === String(id) && !line.startsWith("postgres:"));
        if (taken) throw new Error(`the image root file system already has uid or gid ${id}, Alpine's postgres: ${taken}`);
        mkdirSync(join(stage, "etc"));
        writeFileSync(join(stage, "etc/passwd"), users.map((line) => line.startsWith("postgres:") ? `postgres:x:${id}:${id}:Linux User,,,:/var/lib/postgresql:/bin/sh` : line).join("\n"));
        add("etc/passwd", 0o644);
        // Alpine's postgres is in no other group (Debian's is in ssl-cert).
        writeFileSync(join(stage, "etc/group"), groups.map((line) => line.startsWith("postgres:") ? `postgres:x:${id}:`
            : line.replace(/^([^:]*:[^:]*:[^:]*:)(.*)$/, (_, head: string, members: string) => head + members.split(",").filter((m) => m !== "postgres").join(","))).join("\n"));
        add("etc/group", 0o644);
        const [major] = readdirSync(join(images, "usr/lib/postgresql"));
        const sample = `usr/share/postgresql/${major}/postgresql.conf.sample`;
        const listening = readFileSync(join(images, sample), "utf8").replace(/^#?(listen_addresses)\s*=\s*\S+.*$/m, "$1 = '*'");
        if (!listening.includes("listen_addresses = '*'")) throw new Error(`${sample} has no listen_addresses line to set`);
        mkdirSync(join(stage, sample, ".."), { recursive: true });
        writeFileSync(join(stage, sample), listening);
        add(sample, 0o644);
        mkdirSync(join(stage, "usr/bin"), { recursive: true });
        symlinkSync("busybox", join(stage, "usr/bin/sh"));
        add("usr/bin/sh");
        mkdirSync(join(stage, "usr/local/bin"), { recursive: true });
        const applets = must("chroot", [images, "/usr/bin/busybox", "--list"]).split("\n").filter((name) => /^[a-z0-9_.[-]+$/.test(name) && name !== "busybox");
        for (const applet of applets) {
            symlinkSync("/usr/bin/busybox", join(stage, "usr/local/bin", applet));
            add(`usr/local/bin/${applet}`);
        }
        for (const program of readdirSync(join(images, `usr/lib/postgresql/${major}/bin`))) {
            rmSync(join(stage, "usr/local/bin", program), { force: true });
            symlinkSync(`/usr/lib/postgresql/${major}/bin/${program}`, join(stage, "usr/local/bin", program));
            if (!members.includes(`./usr/local/bin/${program}`)) add(`usr/local/bin/${program}`);
        }
        cpSync(join(__dirname, "images/postgres-entrypoint.sh"), join(stage, "usr/local/bin/docker-entrypoint.sh"));
        add("usr/local/bin/docker-entrypoint.sh", 0o755);
        for (const [dir, mode] of [["var/lib/postgresql", 0o1777], ["var/lib/postgresql/data", 0o1777], ["run/postgresql", 0o3777]] as const) {
            mkdirSync(join(stage, dir), { recursive: true });
            add(dir, mode, id);
        }
        must("tar", ["-C", images, ...excludes, ...DEBIAN_POSTGRES_PATHS.map((path) => `--exclude=${path}`), `--exclude=./${sample}`, "-cf", tar, "."]);
        must("tar", ["-C", stage, "--no-recursion", "-rf", tar, "-T", "-"], { input: `${members.join("\n")}\n` });
    } finally {
        rmSync(stage, { recursive: true, force: true });
    }
}

/** `path` inside the root file system `root` with its symbolic links followed there (not on this machine). */
function realpathIn(root: string, path: string): string {
    return must("chroot", [root, "readlink", "-f", path]).trim();
}

/** Where `rootfs` keeps a root file system: its name and a short hash of its package list. */
export function rootfsDir(name: string, packages: string): string {
    return join(WORK, `${name}-${createHash("sha256").update(packages).digest("hex").slice(0, 12)}`);
}

/** Where the hosts' API socket links live (see SystemdHost.apiSocket), and the test workers' pid files (stopEarlierRun, e2e/offsite.ts). */
export const SOCKET_LINKS = "/run/rezept-e2e";
/** Longest path a Unix socket address holds (sun_path is 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

function apiSocketLink(hostName: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(hostName)) {
        throw new Error(`E2E_HOST "${hostName}" is not a valid container name; use letters, digits, "_", "." and "-", e.g. E2E_HOST=rt-e2e-host`);
    }
    const link = join(SOCKET_LINKS, `${hostName}.sock`);
    if (Buffer.byteLength(link) > MAX_SOCKET_PATH) {
        throw new Error(`E2E_HOST "${hostName}" is too long for its API socket ${link} (at most ${MAX_SOCKET_PATH} bytes); choose a shorter name`);
    }
    return link;
}

/** The process and all its descendants, found through /proc. */
function processTree(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
        try {
            // Field 4 of /proc/PID/stat, after the parenthesised command name, is the parent's pid.
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
        } catch { /* gone meanwhile */ }
    }
    const tree = [root];
    for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
    return tree;
}

/**
 * Stops what is left of an earlier run of this host. Killing the vitest process does not stop
 * its test worker (tried: it goes on deploying, and would later destroy the next run's host),
 * nor what the worker runs (debootstrap would go on writing into the root file system the next
 * run rebuilds). The worker's pid is kept per host name; a live one is killed with its tree.
 * (e2e/offsite.ts keeps its backup target's the same way.)
 */
export function stopEarlierRun(hostName: string): void {
    const pidFile = join(SOCKET_LINKS, `${hostName}.pid`);
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
    let cmdline = "";
    try {
        cmdline = pid > 0 && pid !== process.pid ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
    } catch { /* not running */ }
    if (cmdline.includes("vitest")) {
        for (const leftover of processTree(pid)) {
            try { process.kill(leftover, "SIGKILL"); } catch { /* gone meanwhile */ }
        }
    }
    mkdirSync(SOCKET_LINKS, { recursive: true, mode: 0o700 });
    writeFileSync(pidFile, `${process.pid}\n`);
}

/**
 * The README's host preparation block (the ```sh block after `<!-- host-setup`): the lines run
 * as root, then, after its `# as seaser` line, those run as the user in a login of its own.
 */
export function readmeHostSetup(readme = readFileSync(join(__dirname, "..", "README.md"), "utf8")): { root: string[]; user: string[] } {
    const block = readme.match(/^<!-- host-setup[^\n]*-->\n```sh\n([\s\S]*?)\n```$/m);
    if (!block) throw new Error("README.md has no host block: a ```sh block right after a line <!-- host-setup ... -->");
    const lines = block[1].split("\n");
    const switchAt = lines.findIndex((line) => /^# as seaser\b/.test(line));
    if (switchAt < 0) throw new Error("README.md's host block has no line \"# as seaser ...\" between the root part and the user's");
    return { root: lines.slice(0, switchAt), user: lines.slice(switchAt + 1) };
}

/** Where the host sees this machine's Node.js, the Pulumi tools and the checkout's packages (SystemdHost.boot). */
export const NODE_IN_HOST = "/opt/e2e-node";
export const TOOLS_IN_HOST = "/opt/pulumi-tools";
/** A folder named node_modules: Node.js looks a package up in each ancestor's node_modules (a link to it resolves to it). */
export const NODE_MODULES_IN_HOST = "/opt/rezept-tagebuch/node_modules";

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
    /**
     * The user's Podman API socket, as seen from outside the host. The socket itself is in the
     * root file system, under the checkout, whose path may be longer than the 107 bytes a Unix
     * socket address can hold (connect fails with ENOENT); so it is reached through a symlink
     * at a short path of its own per host. In /run: only root can write there, so nobody can
     * plant a link the suite would follow, and a reboot clears what a killed run left.
     */
    readonly apiSocket: string;

    private constructor(readonly name: string, readonly root: string, readonly distribution: Distribution) {
        this.apiSocket = apiSocketLink(name);
    }

    /**
     * Makes a fresh host of `distribution` from its cached root file system, with the stand-in image
     * tarball in /root (the images stay Debian 12's on every host, as an image does not follow its host).
     */
    static create(name: string, distribution: Distribution = "debian-12"): SystemdHost {
        const link = apiSocketLink(name);
        stopEarlierRun(name);
        const { suite, packages, rootfs: rootfsName } = DISTRIBUTIONS[distribution];
        const pristine = rootfs(rootfsName, packages, suite);
        const images = rootfs("image-rootfs", IMAGE_PACKAGES);
        for (const file of ["app.py", "probe.py"]) {
            // Both hosts' test files copy into the shared image root file system at once: cpSync over a file
            // the other is copying failed with ENOENT on its unlink (a CI run). A copy renamed into place is atomic.
            const target = join(images, "usr/local/lib", file);
            cpSync(join(__dirname, "images", file), `${target}.${process.pid}`);
            renameSync(`${target}.${process.pid}`, target);
        }
        run("podman", ["rm", "-f", "-t", "5", name]);
        const root = join(WORK, `${name}-rootfs`);
        removeTree(root);
        must("cp", ["-a", pristine, root]);
        writeFileSync(join(root, "etc/hostname"), `${name}\n`);
        // The user, made here as its home gets files before boot; its subordinate ids for rootless podman
        // come from useradd (SUB_UID_COUNT in login.defs) or the README's host block in boot().
        must("chroot", [root, "useradd", "--create-home", "--uid", String(USER.uid), "--shell", "/bin/sh", USER.name]);
        // slirp4netns and pasta (rootless networking) open /dev/net/tun as the user.
        writeFileSync(join(root, "etc/tmpfiles.d/tun.conf"), "z /dev/net/tun 0666 - - -\n");
        // Nested podman: runc fails on the nested cgroups; crun works.
        mkdirSync(join(root, USER.home, ".config/containers"), { recursive: true });
        writeFileSync(join(root, USER.home, ".config/containers/containers.conf"), '[engine]\nruntime = "crun"\n');
        // The user's Podman API socket (the README's podman.socket), placed in the home directory so the
        // fixture outside the host reaches it through the shared root file system.
        mkdirSync(join(root, USER.home, ".config/systemd/user/podman.socket.d"), { recursive: true });
        writeFileSync(join(root, USER.home, ".config/systemd/user/podman.socket.d/e2e.conf"), "[Socket]\nListenStream=\nListenStream=%h/podman.sock\n");
        // Where the socket is on a host prepared as the README says, and where `podman system dial-stdio`
        // (the docker provider's ssh://) looks: a link there, made as the user's systemd starts.
        mkdirSync(join(root, USER.home, ".config/user-tmpfiles.d"), { recursive: true });
        writeFileSync(join(root, USER.home, ".config/user-tmpfiles.d/e2e-podman-socket.conf"), "d %t/podman 0700 - - -\nL %t/podman/podman.sock - - - - %h/podman.sock\n");
        // The user's tmpfiles unit is enabled by its preset on an installed system; debootstrap applies no user presets.
        mkdirSync(join(root, USER.home, ".config/systemd/user/basic.target.wants"), { recursive: true });
        symlinkSync("/usr/lib/systemd/user/systemd-tmpfiles-setup.service", join(root, USER.home, ".config/systemd/user/basic.target.wants/systemd-tmpfiles-setup.service"));
        // The API service exits after 5 s idle (podman system service's default) and the socket starts it again;
        // a request that meets the exiting service fails with EPIPE (seen under load). Keep it running.
        mkdirSync(join(root, USER.home, ".config/systemd/user/podman.service.d"), { recursive: true });
        writeFileSync(join(root, USER.home, ".config/systemd/user/podman.service.d/e2e.conf"),
            "[Service]\nExecStart=\nExecStart=/usr/bin/podman $LOGGING system service --time=0\n");
        // No image carries the host keys openssh-server's install made in the cached file system: the
        // backup target made from this tar (e2e/offsite.ts) generates its own.
        const excludes = ["--exclude=./usr/share/doc", "--exclude=./usr/share/man", "--exclude=./usr/share/locale",
            "--exclude=./var/cache/apt", "--exclude=./.complete", "--exclude=./etc/ssh/ssh_host_*"];
        must("tar", ["-C", images, ...excludes, "-cf", join(root, USER.home, "images.tar"), "."]);
        postgresImageTar(images, join(root, USER.home, "postgres.tar"), excludes);
        resticImageTar(images, join(root, USER.home, "restic.tar"));
        must("chroot", [root, "chown", "-R", `${USER.name}:${USER.name}`, USER.home]);
        // sshd (ssh.service, enabled by the package) for the stacks deployed over SSH: host keys of this
        // host's own, not the cached root file system's, and key-only logins for the user.
        for (const file of readdirSync(join(root, "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))) rmSync(join(root, "etc/ssh", file));
        must("chroot", [root, "ssh-keygen", "-A"]);
        writeFileSync(join(root, "etc/ssh/sshd_config.d/e2e.conf"), `PasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowUsers ${USER.name}\n`);
        mkdirSync(SOCKET_LINKS, { recursive: true, mode: 0o700 });
        rmSync(link, { force: true });
        symlinkSync(join(root, USER.home, "podman.sock"), link);
        const host = new SystemdHost(name, root, distribution);
        // When vitest is killed, its worker is left running, orphaned (see stopEarlierRun):
        // once it notices (its IPC channel closes), it removes the host and stops.
        const parent = process.ppid;
        process.once("disconnect", () => {
            if (process.ppid === parent) return; // vitest itself closing the worker after the run
            host.destroy();
            process.exit(1);
        });
        return host;
    }

    /**
     * Boots the host. What the operator brings to run Pulumi there is mounted read-only, not installed
     * (issue 29): this machine's Node.js at NODE_IN_HOST, the Pulumi tools at TOOLS_IN_HOST (when
     * `tools` is given: a folder laid out as shared/pulumi/unpack.sh leaves it) and the checkout's
     * node_modules at NODE_MODULES_IN_HOST. None is on the user's PATH: the installed health check
     * runs with what the host has.
     */
    boot(tools?: string): void {
        const mounts = [
            ["--volume", `${process.execPath}:${NODE_IN_HOST}/bin/node:ro`],
            ["--volume", `${join(__dirname, "..", "node_modules")}:${NODE_MODULES_IN_HOST}:ro`],
            ...(tools ? [["--volume", `${tools}:${TOOLS_IN_HOST}:ro`]] : []),
        ].flat();
        must("podman", ["run", "-d", "--name", this.name, "--hostname", this.name, "--ip", this.bridgeAddress(), "--privileged", "--device", "/dev/net/tun",
            ...mounts, "--systemd=always", "--rootfs", this.root, "/sbin/init"]);
        this.waitForSystemd();
        // The README's host block, as an operator runs it: its root part as root, the rest as the user.
        // Its apt-get line is left out: this host's root file system is made by debootstrap with
        // HOST_PACKAGES (test/readme.test.ts checks that they include the README's), and apt-get
        // would download them again at every boot.
        const { root, user } = readmeHostSetup();
        this.asRoot(["sh", "-euc", root.filter((line) => !/^apt-get /.test(line)).join("\n")]);
        // Lingering has just started the user's systemd, as a login would.
        this.waitForSystemd();
        this.must(["sh", "-euc", user.join("\n")]);
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

    /**
     * A power loss and the boot after it: every process of the host killed at once (SIGKILL to its init), nothing
     * stopped cleanly, so PostgreSQL recovers from its WAL at the next start; then the host boots again.
     */
    powerCycle(): { bootedAt: number } {
        must("podman", ["kill", "--signal", "KILL", this.name], { timeoutMs: 120_000 });
        must("podman", ["wait", this.name], { timeoutMs: 120_000 });
        const bootedAt = Date.now() / 1000;
        must("podman", ["start", this.name]);
        this.waitForSystemd();
        return { bootedAt };
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
    exec(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Result {
        // PATH is the host's, given on the command line (it is no secret): in podman's environment it would be podman's own.
        const { PATH: path, ...env } = opts.env ?? {};
        const names = [...(path ? [`PATH=${path}`] : []), ...Object.keys(env)].flatMap((name) => ["--env", name]);
        return run("podman", ["exec", "-i", ...AS_USER, ...(opts.cwd ? ["--workdir", opts.cwd] : []), ...names, this.name, ...args],
            { input: opts.input, timeoutMs: opts.timeoutMs, env: { ...process.env, CONTAINERS_CONF: OUTER_CONF, ...env } });
    }

    /** Runs a command inside the host as the containers' user and returns its output; throws if it fails. */
    must(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): string {
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

    /**
     * Imports the stand-in images: PostgreSQL from postgresImageTar, configured as the official image
     * (docker-library/postgres 6edb0a8, 16/alpine3.23/Dockerfile: ENTRYPOINT docker-entrypoint.sh and
     * CMD postgres, :202 and :229, so a container's command `postgres -c ...` passes server options;
     * PGDATA :195; a VOLUME at it, :198, so a container started without -v keeps its data in an
     * anonymous volume; STOPSIGNAL SIGINT, :217, PostgreSQL's fast shutdown; alpine's PATH; LANG, :51, is
     * en_US.utf8 there, whose collation musl leaves in code point order: glibc's built-in C.UTF-8 here, the
     * same UTF8 encoding and order, where no LANG made initdb's databases SQL_ASCII), the app, and
     * nginx as the reverse proxy (Debian's package; its site is mounted over sites-enabled/default),
     * and restic for the off-host backups (issue 22): Debian's restic 0.14.0 and ssh client, shaped as
     * the official restic/restic image is, whose Dockerfile (restic/restic v0.14.0 docker/Dockerfile)
     * is `FROM alpine`, `apk add ... openssh-client ...`, `ENTRYPOINT ["/usr/bin/restic"]` and no
     * USER: restic runs as root, so ssh reads /root/.ssh; arguments are restic's.
     */
    importImages(images: { postgres: string[]; app: string[]; nginx?: string[]; restic?: string[] }): void {
        const imports: [string[], string[], string][] = [
            [images.postgres, ["ENTRYPOINT [\"docker-entrypoint.sh\"]", "CMD [\"postgres\"]", `ENV PATH=${ALPINE_PATH}`, "ENV PGDATA=/var/lib/postgresql/data", "ENV LANG=C.UTF-8",
                "STOPSIGNAL SIGINT", "VOLUME /var/lib/postgresql/data"], "postgres.tar"],
            [images.app, ["CMD [\"python3\", \"/usr/local/lib/app.py\", \"80\"]"], "images.tar"],
            [images.nginx ?? [], ["CMD [\"nginx\", \"-g\", \"daemon off;\"]"], "images.tar"],
            [images.restic ?? [], ["ENTRYPOINT [\"/usr/bin/restic\"]", "WORKDIR /"], "restic.tar"],
        ];
        for (const [[first, ...aliases], changes, tar] of imports.filter(([names]) => names.length > 0)) {
            this.must(["podman", "import", ...changes.flatMap((change) => ["--change", change]), `${USER.home}/${tar}`, first], { timeoutMs: 300_000 });
            for (const alias of aliases) this.must(["podman", "tag", first, alias]);
        }
    }

    /**
     * An image made inside the host from Containerfile `lines` (one built from a stand-in, as a release would
     * be), as the user; skipped when `tag` exists already.
     */
    buildImage(tag: string, lines: string[]): void {
        this.must(["sh", "-c", 'podman image exists "$1" && exit 0; d=$(mktemp -d) && cat > "$d/Containerfile" && podman build -q -t "$1" "$d"; rc=$?; rm -rf "$d"; exit $rc', "sh", tag],
            { input: `${lines.join("\n")}\n`, timeoutMs: 300_000 });
    }

    /** The versions that decide what this host proves: Podman's, systemd's and aardvark-dns's (where podman looks for it). */
    versions(): { podman: string; systemd: string; aardvark_dns: string } {
        return {
            podman: this.must(["podman", "version", "--format", "{{.Client.Version}}"]).trim(),
            // "systemd 257 (257.13-1~deb13u1)": the release and Debian's package version
            systemd: this.asRoot(["systemctl", "--version"]).split("\n")[0].replace(/^systemd /, ""),
            aardvark_dns: this.asRoot(["/usr/lib/podman/aardvark-dns", "--version"]).trim().replace(/^aardvark-dns /, ""),
        };
    }

    /**
     * The host's fixed address on podman's default bridge (10.88.0.0/16), by its name, far from the
     * addresses podman hands out from 10.88.0.2 up: a stop and start gives a container a new one
     * otherwise (seen: .49, then .50), and a real host's address, which a stack's sshHost and
     * known_hosts name, stays.
     */
    private bridgeAddress(): string {
        const subnets = must("podman", ["network", "inspect", "podman", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}"]).trim();
        if (!subnets.split(" ").includes("10.88.0.0/16")) throw new Error(`podman's default network has subnets "${subnets}", not 10.88.0.0/16, where e2e/host.ts places its hosts`);
        const [a, b] = createHash("sha256").update(this.name).digest();
        return `10.88.${200 + (a % 50)}.${2 + (b % 250)}`;
    }

    /** The host's address on podman's bridge, where its sshd listens, as the machine outside reaches it (read from podman). */
    sshAddress(): string {
        const address = must("podman", ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", this.name]).trim();
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`host ${this.name} has no address on podman's bridge (got "${address}")`);
        return address;
    }

    /** The host's ed25519 host key, `<type> <base64>` as a stack's sshHostKey holds it (the host's own file, no scan). */
    sshHostKey(): string {
        return readFileSync(join(this.root, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    }

    /** Lets the holder of `publicKey` log in as the user over SSH (its authorized_keys, as an operator installs it). */
    authorizeKey(publicKey: string): void {
        this.must(["sh", "-euc", 'umask 077 && mkdir -p ~/.ssh && cat >> ~/.ssh/authorized_keys'], { input: `${publicKey.trim()}\n` });
    }

    destroy(): void {
        run("podman", ["rm", "-f", "-t", "5", this.name]);
        rmSync(this.apiSocket, { force: true });
        rmSync(join(SOCKET_LINKS, `${this.name}.pid`), { force: true });
        removeTree(this.root);
    }
}

/** An operator's SSH key pair, made per run in a 0700 temporary folder outside the checkout; `remove` deletes it. */
export interface OperatorKey {
    readonly privateKeyFile: string;
    readonly privateKey: string;
    readonly publicKey: string;
    remove(): void;
}

export function operatorKey(): OperatorKey {
    const dir = mkdtempSync(join(tmpdir(), "rezept-e2e-operator-"));
    chmodSync(dir, 0o700);
    const privateKeyFile = join(dir, "id_ed25519");
    must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rezept-e2e-operator", "-f", privateKeyFile]);
    return {
        privateKeyFile,
        privateKey: readFileSync(privateKeyFile, "utf8"),
        publicKey: readFileSync(`${privateKeyFile}.pub`, "utf8").trim(),
        remove: () => rmSync(dir, { recursive: true, force: true }),
    };
}
