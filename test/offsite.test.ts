import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderBackupUnits } from "../lib/backup";
import { ENVIRONMENTS, EnvironmentName, environmentNames } from "../lib/environments";
import { runProgram, SECRET_SIG, TYPES, validConfig, withoutSecrets } from "./harness";
import { DRILL_RESULT_FILE, OffsiteSpec, renderDrillUnits, renderOffsitePasswordInstall, renderOffsitePasswordRemove, renderOffsiteScript } from "../lib/offsite";

const PASSWORD = "restic-repository-s3cret";
const RESTIC_IMAGE = "docker.io/restic/restic:0.17.3";

function spec(env: EnvironmentName, over: Partial<OffsiteSpec> = {}): OffsiteSpec {
    return {
        environment: env, scope: "user", repository: `sftp:backup@backup.example:/srv/restic/${env}`, image: RESTIC_IMAGE,
        directory: `$HOME/rezept-tagebuch-backups/${env}`, keep: 3, maxAgeDays: 30,
        dbContainer: environmentNames(env).dbContainer, dbImage: "docker.io/library/postgres:16-alpine", ...over,
    };
}

/**
 * A host whose podman runs restic's container as restic would behave where the script relies
 * on it (restic 0.14-0.17, cmd/restic/global.go OpenRepository): `cat config` on a missing
 * repository fails with "Is there a repository at the following location?", on an unreachable
 * one with another error; a repository opens with one of its keys' passwords (`init` makes the
 * first, `key passwd --new-password-file` replaces the one in use: cmd_key.go at v0.14.0,
 * cmd_key_passwd.go at v0.17.3); `backup` stores the named files (container paths under /backup,
 * the backup directory's mount) as a snapshot of its --host and --tag; `restore latest
 * --host H --tag T --target DIR` writes the newest matching snapshot's files at DIR/<their
 * path>. The password must reach restic as RESTIC_PASSWORD_FILE, a mounted file; the repository
 * must be given by --repo: /srv/restic/<env> is one repository (repository/), any other path one
 * of its own (repository-<its last part>/). The database image's container answers pg_isready, pg_restore and psql.
 */
function fakeHost(opts: { reachable?: boolean; restoredCounts?: string } = {}) {
    const root = mkdtempSync(join(tmpdir(), "offsite-"));
    const bin = join(root, "bin");
    const home = join(root, "home");
    const repo = join(root, "repository");
    for (const d of [bin, home]) mkdirSync(d, { recursive: true });
    const log = join(root, "calls.log");
    writeFileSync(join(root, "restored-counts"), opts.restoredCounts ?? "public.recipes 3\npublic.\"Tags\" 0\n");
    if (opts.reachable === false) writeFileSync(join(root, "unreachable"), "");
    writeFileSync(join(bin, "podman"), String.raw`#!/bin/sh
R=${root}
echo "podman $*" >> "$R/calls.log"
case "$1" in
run)
    shift; backup_dir=; password=; new_password=; image=
    while [ $# -gt 0 ]; do
        case $1 in
        --rm|-i|--detach|--pull=never) shift ;;
        --volume) case $2 in *:/backup) backup_dir=${"${2%:/backup}"} ;; *:/run/secrets/restic-password:ro) password=${"${2%%:*}"} ;; *:/run/secrets/restic-new-password:ro) new_password=${"${2%%:*}"} ;; esac; shift 2 ;;
        --env|--name|--network) shift 2 ;;
        -*) echo "stub podman: run option $1 not modelled" >&2; exit 125 ;;
        *) image=$1; shift; break ;;
        esac
    done
    if [ "$image" != "${RESTIC_IMAGE}" ]; then echo "$image" > "$R/scratch-running"; exit 0; fi
    [ -f "$R/no-image" ] && { echo "Error: $image: image not known" >&2; exit 125; }
    [ "$1 $2" = "--cache-dir=/cache --repo" ] || { echo "stub restic: expected --cache-dir=/cache --repo, got $*" >&2; exit 1; }
    case $3 in */srv/restic/prod|*/srv/restic/dev|*/srv/restic/test) repo="$R/repository" ;; *) repo="$R/repository-${"${3##*/}"}" ;; esac
    shift 3
    [ "$1" = --no-lock ] && shift
    echo "restic $1" >> "$R/restic.log"
    # Another run's lock: restic tries once and fails (cmd/restic/lock.go at v0.14.0), for every command that locks.
    if [ -s "$R/locked" ] && [ "$1" != unlock ] && [ "$1" != init ]; then
        n=$(cat "$R/locked"); [ "$n" = forever ] || echo $((n - 1)) > "$R/locked"; [ "$n" = 1 ] && rm -f "$R/locked"
        echo "Fatal: unable to create lock in backend: repository is already locked by PID 4242 on a1b2c3d4e5f6 by root (UID 0, GID 0)" >&2; exit 1
    fi
    [ -n "$password" ] || { echo "stub restic: no password file" >&2; exit 1; }
    if [ -f "$R/unreachable" ]; then echo "Fatal: unable to open repository at sftp:backup@backup.example:/srv/restic: ssh: connect to host backup.example port 22: Connection refused" >&2; exit 1; fi
    # Every command but init opens the repository first, with one of its keys; its first key is PASSWORD unless init made it.
    if [ "$1" = init ]; then
        [ ! -d "$repo" ] || { echo "Fatal: create repository at sftp:backup@backup.example:/srv/restic failed: config file already exists" >&2; exit 1; }
        mkdir "$repo"; { cat "$password"; echo; } > "$repo.keys"; exit 0
    fi
    [ -d "$repo" ] || { printf 'Fatal: unable to open config file: Lstat /srv/restic/config: no such file or directory\nIs there a repository at the following location?\nsftp:backup@backup.example:/srv/restic\n' >&2; exit 1; }
    [ -f "$repo.keys" ] || echo "${PASSWORD}" > "$repo.keys"
    grep -qxF -- "$(cat "$password")" "$repo.keys" || { echo "Fatal: wrong password or no key found" >&2; exit 1; }
    case $1 in
    key)
        [ "$2 $3" = "passwd --new-password-file" ] && [ -n "$new_password" ] && [ "$4" = /run/secrets/restic-new-password ] || { echo "stub restic: key $* not modelled" >&2; exit 1; }
        { grep -vxF -- "$(cat "$password")" "$repo.keys"; cat "$new_password"; echo; } > "$repo.keys.new" && mv "$repo.keys.new" "$repo.keys" ;;
    cat) [ "$2" = config ] ;;
    backup)
        shift; host=; tag=
        while [ $# -gt 0 ]; do case $1 in --quiet) shift ;; --host) host=$2; shift 2 ;; --tag) tag=$2; shift 2 ;; *) break ;; esac; done
        n=$(ls "$repo" | wc -l); snap="$repo/$((n + 1))-$host-$tag"
        mkdir -p "$snap/backup"
        for f in "$@"; do cp "$backup_dir/${"${f#/backup/}"}" "$snap/backup/" || exit 3; done ;;
    restore)
        shift; host=; tag=; target=
        while [ $# -gt 0 ]; do case $1 in --quiet) shift ;; --host) host=$2; shift 2 ;; --tag) tag=$2; shift 2 ;; --target) target=$2; shift 2 ;; *) break ;; esac; done
        [ "$1" = latest ] || { echo "stub restic: snapshot $1 not modelled" >&2; exit 1; }
        snap=$(ls "$repo" | grep -- "-$host-$tag$" | sort -n | tail -n 1)
        [ -n "$snap" ] || { echo "Fatal: no snapshot found" >&2; exit 1; }
        mkdir -p "$backup_dir/${"${target#/backup/}"}" && cp -r "$repo/$snap/backup" "$backup_dir/${"${target#/backup/}"}/"
        # restic 0.17 prints a summary even with --quiet (internal/ui/restore/text.go); 0.14 prints nothing.
        echo "Summary: Restored 4 files/dirs (40 B) in 0:00" ;;
    forget|check|snapshots|unlock) ;;
    *) echo "stub restic: $1 not modelled" >&2; exit 1 ;;
    esac ;;
exec)
    case "$*" in
    *pg_isready*) [ -f "$R/scratch-running" ] ;;
    *pg_restore*) cat > "$R/scratch-restored" ;;
    *psql*) cat > /dev/null; cat "$R/restored-counts" ;;
    *) echo "stub podman: exec $* not modelled" >&2; exit 125 ;;
    esac ;;
rm) rm -f "$R/scratch-running" ;;
image) [ "$2" = exists ] && [ ! -f "$R/no-image" ] ;;
*) echo "stub podman: $* not modelled" >&2; exit 125 ;;
esac
`);
    chmodSync(join(bin, "podman"), 0o755);
    // The scripts' waits (a lock held by another run, a database starting) take no time here.
    writeFileSync(join(bin, "sleep"), `#!/bin/sh\necho "sleep $*" >> "${root}/calls.log"\n`);
    chmodSync(join(bin, "sleep"), 0o755);
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: home };
    const secretDir = join(home, ".config/rezept-tagebuch");
    const dir = (e: EnvironmentName) => join(home, "rezept-tagebuch-backups", e);
    const installPassword = (e: EnvironmentName, password = PASSWORD, over: Partial<OffsiteSpec> = {}) =>
        spawnSync("sh", ["-c", renderOffsitePasswordInstall(spec(e, over))], { encoding: "utf8", env, input: password });
    const run = (e: EnvironmentName, ...args: string[]) => spawnSync("sh", ["-c", renderOffsiteScript(spec(e)), "offsite.sh", ...args], { encoding: "utf8", env });
    /** The script as a stack with other settings (another repository) renders it. */
    const runWith = (over: Partial<OffsiteSpec>, e: EnvironmentName, ...args: string[]) =>
        spawnSync("sh", ["-c", renderOffsiteScript(spec(e, over)), "offsite.sh", ...args], { encoding: "utf8", env });
    /** The passwords that open a repository (its keys), as the stub keeps them. */
    const keys = (repository = repo) => readFileSync(`${repository}.keys`, "utf8").trim().split("\n");
    /** A local backup as backup-<env>.sh leaves it: the dump, the uploads and the dump's row counts. */
    const localBackup = (e: EnvironmentName, name: string, rows = 'public."Tags" 0\npublic.recipes 3\n') => {
        mkdirSync(dir(e), { recursive: true });
        writeFileSync(join(dir(e), `${name}.dump`), `PGDMP-${name}`);
        writeFileSync(join(dir(e), `${name}.uploads.tar`), `uploads-${name}`);
        writeFileSync(join(dir(e), `${name}.rows`), rows);
    };
    const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
    /** The restic commands run, in order (`restic backup`, `restic unlock`, ...). */
    const resticCalls = () => (existsSync(join(root, "restic.log")) ? readFileSync(join(root, "restic.log"), "utf8").trim().split("\n") : []);
    /** Another run holds the repository's lock for the next `times` restic commands, or for ever. */
    const lock = (times: number | "forever") => writeFileSync(join(root, "locked"), `${times}`);
    return { root, repo, secretDir, dir, installPassword, run, runWith, keys, localBackup, calls, resticCalls, lock, env };
}

describe("the off-host script", () => {
    it.each(ENVIRONMENTS)("%s: shellcheck clean, and so are the password's install and removal", (env) => {
        for (const script of [renderOffsiteScript(spec(env)), renderOffsitePasswordInstall(spec(env)), `#!/bin/sh\n${renderOffsitePasswordRemove(spec(env))}`]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "-"], { input: script, encoding: "utf8" });
            expect(result.stdout).toBe("");
        }
    });

    it("the password reaches a 0600 file from stdin, never the script, and an empty one is refused", () => {
        const host = fakeHost();
        expect(renderOffsitePasswordInstall(spec("prod"))).not.toContain(PASSWORD);
        expect(host.installPassword("prod").status).toBe(0);
        const file = join(host.secretDir, "offsite-prod.password");
        expect(readFileSync(file, "utf8")).toBe(PASSWORD);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const empty = host.installPassword("prod", "");
        expect(empty.status).toBe(1);
        expect(empty.stderr).toContain("the offsite password reached the host empty");
        expect(readFileSync(file, "utf8")).toBe(PASSWORD);
    });

    describe("a changed password (offsitePassword rotated)", () => {
        const NEW = "the-new-repository-s3cret";
        /** A repository made and written to with PASSWORD: the first backup copied. */
        const uploaded = () => {
            const host = fakeHost();
            expect(host.installPassword("dev").status).toBe(0);
            host.localBackup("dev", "dev-20261130T030000Z-v1");
            expect(host.run("dev", "upload").status).toBe(0);
            return host;
        };
        const installed = (host: ReturnType<typeof fakeHost>) => readFileSync(join(host.secretDir, "offsite-dev.password"), "utf8");

        it("becomes the repository's key before its file is replaced, from 0600 files only; the copies made before still read", () => {
            const host = uploaded();
            const result = host.installPassword("dev", NEW);
            expect(result.stderr).toBe("");
            expect(result.status).toBe(0);
            expect(result.stdout).toContain("rezept-tagebuch offsite dev: changed the key of sftp:backup@backup.example:/srv/restic/dev to the new offsitePassword");
            expect(host.keys()).toEqual([NEW]);
            expect(installed(host)).toBe(NEW);
            expect(statSync(join(host.secretDir, "offsite-dev.password")).mode & 0o777).toBe(0o600);
            // The new password reached restic as a mounted file, as the old one does; nothing of either on a command line, no file left.
            const passwd = host.calls().find((c) => c.includes(" key passwd "))!;
            expect(passwd).toMatch(/--volume \S+\/offsite-dev\.password\.new\.\w+:\/run\/secrets\/restic-new-password:ro .* key passwd --new-password-file \/run\/secrets\/restic-new-password$/);
            expect(host.calls().join("\n")).not.toMatch(new RegExp(`${PASSWORD}|${NEW}`));
            expect(readdirSync(host.secretDir).sort()).toEqual(["offsite-dev.created", "offsite-dev.password"]);
            // The nightly copy goes on, and the copy from before the change restores.
            host.localBackup("dev", "dev-20261201T030000Z-v1");
            expect(host.run("dev", "upload").status).toBe(0);
            spawnSync("rm", ["-rf", host.dir("dev")]);
            // (the stub restores the newest snapshot only: the one from after the change goes)
            spawnSync("rm", ["-rf", join(host.repo, "2-rezept-tagebuch-dev-dump")]);
            const fetched = host.run("dev", "fetch");
            expect(fetched.status).toBe(0);
            expect(fetched.stdout).toContain("fetched dev-20261130T030000Z-v1.dump");
        });

        it("a repository that cannot be reached fails the install naming offsitePassword, offsiteRepository and the fix, and the old password stays in use", () => {
            const host = uploaded();
            writeFileSync(join(host.root, "unreachable"), "");
            const result = host.installPassword("dev", NEW);
            expect(result.status).toBe(1);
            expect(result.stderr).toContain("rezept-tagebuch offsite dev: offsitePassword changed, but the key of offsiteRepository sftp:backup@backup.example:/srv/restic/dev could not be changed to it: Fatal: unable to open repository at sftp:backup@backup.example:/srv/restic: ssh: connect to host backup.example port 22: Connection refused");
            expect(result.stderr).toMatch(/The old password stays in use, nothing changed\. Fix: make sftp:backup@backup\.example:\/srv\/restic\/dev reachable \(sh \S+\/\.local\/lib\/rezept-tagebuch\/offsite-dev\.sh list works\), then npm run stack -- up dev again; or set the old password back: npm run stack -- config dev set --secret offsitePassword/);
            expect(installed(host)).toBe(PASSWORD);
            expect(host.keys()).toEqual([PASSWORD]);
            expect(readdirSync(host.secretDir).sort()).toEqual(["offsite-dev.created", "offsite-dev.password"]);
            expect(readdirSync(host.dir("dev")).filter((f) => f.startsWith("."))).toEqual([]);
            // Reachable again, the next up changes it.
            spawnSync("rm", [join(host.root, "unreachable")]);
            expect(host.installPassword("dev", NEW).status).toBe(0);
            expect(host.keys()).toEqual([NEW]);
        });

        it("a key changed by hand already (the new password opens the repository) is taken as it is", () => {
            const host = uploaded();
            writeFileSync(`${host.repo}.keys`, `${NEW}\n`);
            const result = host.installPassword("dev", NEW);
            expect(result.stderr).toBe("");
            expect(result.status).toBe(0);
            expect(result.stdout).toContain("the new offsitePassword opens sftp:backup@backup.example:/srv/restic/dev already; installed it");
            expect(installed(host)).toBe(NEW);
        });

        it("the same password again, or a repository not made yet, or one moved with it: the file only, restic not run", () => {
            const host = fakeHost();
            expect(host.installPassword("dev").status).toBe(0);
            expect(host.installPassword("dev", NEW).status).toBe(0);
            expect(installed(host)).toBe(NEW);
            const moved = uploaded();
            expect(moved.installPassword("dev", PASSWORD).status).toBe(0);
            expect(moved.installPassword("dev", NEW, { repository: "sftp:backup@backup.example:/srv/restic/dev-moved" }).status).toBe(0);
            expect(installed(moved)).toBe(NEW);
            expect([...host.calls(), ...moved.calls()].filter((c) => c.includes(" key ") || c.includes(" cat "))).toEqual([]);
        });
    });

    it("upload: creates the repository once, copies the newest backup with its uploads and row counts, then forgets by count and age", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261130T030000Z-v1");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        const first = host.run("dev", "upload");
        expect(first.stderr).toBe("");
        expect(first.status).toBe(0);
        expect(first.stdout).toContain("created the repository sftp:backup@backup.example:/srv/restic/dev");
        expect(first.stdout).toContain("copied dev-20261201T030000Z-v1.dump to sftp:backup@backup.example:/srv/restic/dev");
        expect(readdirSync(join(host.repo, "1-rezept-tagebuch-dev-dump", "backup")).sort())
            .toEqual(["dev-20261201T030000Z-v1.dump", "dev-20261201T030000Z-v1.rows", "dev-20261201T030000Z-v1.uploads.tar"]);
        expect(host.calls().filter((c) => c.includes(" forget "))).toEqual([expect.stringMatching(/ forget --quiet --host rezept-tagebuch-dev --tag dump --group-by host,tags --keep-last 3 --keep-within 30d --prune$/)]);
        const second = host.run("dev", "upload");
        expect(second.status).toBe(0);
        expect(second.stdout).not.toContain("created the repository");
        expect(host.calls().filter((c) => / init$/.test(c))).toHaveLength(1);
    });

    it("restic's ssh ends a stalled connection within a minute: its defaults as the container's system ssh_config, the user's own first", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        expect(host.run("dev", "upload").status).toBe(0);
        const defaults = join(host.env.HOME, ".cache/rezept-tagebuch/restic-dev.ssh_config");
        const runs = host.calls().filter((c) => c.startsWith("podman run "));
        expect(runs.length).toBeGreaterThan(0);
        for (const run of runs) expect(run).toContain(` --volume ${defaults}:/etc/ssh/ssh_config:ro `);
        // As ssh reads it (ssh -G: the configuration it would use): ServerAlive every 15 s, 4 unanswered end it; the handshake within 30 s.
        const seen = spawnSync("ssh", ["-G", "-F", defaults, "backup.example"], { encoding: "utf8" }).stdout;
        expect(seen).toMatch(/^serveraliveinterval 15$/m);
        expect(seen).toMatch(/^serveralivecountmax 4$/m);
        expect(seen).toMatch(/^connecttimeout 30$/m);
    });

    it("upload records when the copy succeeded, the time the health check ages; a failed copy leaves it", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        const before = Math.floor(Date.now() / 1000);
        expect(host.run("dev", "upload").status).toBe(0);
        const stamp = () => readFileSync(join(host.dir("dev"), "offsite-upload.last"), "utf8");
        const at = Number(/^at=(\d+)\n$/.exec(stamp())?.[1]);
        expect(at).toBeGreaterThanOrEqual(before);
        writeFileSync(join(host.root, "unreachable"), "");
        expect(host.run("dev", "upload").status).toBe(1);
        expect(stamp()).toBe(`at=${at}\n`);
    });

    it("waits out another run's lock (a WAL upload), removing stale locks between tries, and keeps restic's cache on the host", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        expect(host.run("dev", "upload").status).toBe(0);
        host.lock(2);
        const result = host.run("dev", "upload");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        // The second upload: twice locked, each time `unlock` and 5 s, then the copy; then upload's own unlock and forget.
        expect(host.resticCalls().slice(-7)).toEqual(["restic backup", "restic unlock", "restic backup", "restic unlock", "restic backup", "restic unlock", "restic forget"]);
        expect(host.calls().filter((c) => c.startsWith("sleep"))).toEqual(["sleep 5", "sleep 5"]);
        expect(host.calls().find((c) => c.includes(" backup "))).toContain(`--volume ${host.env.HOME}/.cache/rezept-tagebuch/restic-dev:/cache`);
        expect(existsSync(join(host.env.HOME, ".cache/rezept-tagebuch/restic-dev"))).toBe(true);
        expect(readdirSync(host.dir("dev")).filter((f) => f.startsWith(".restic"))).toEqual([]);
    });

    it("a lock that stays fails the copy after 60 tries (about 10 minutes), with restic's words", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        expect(host.run("dev", "upload").status).toBe(0);
        host.lock("forever");
        const result = host.run("dev", "upload");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("the copy of dev-20261201T030000Z-v1.dump to sftp:backup@backup.example:/srv/restic/dev failed: Fatal: unable to create lock in backend: repository is already locked by PID 4242");
        expect(host.calls().filter((c) => c.startsWith("sleep"))).toHaveLength(60);
    });

    it("never puts the password on a command line: restic reads it from the mounted file", () => {
        const host = fakeHost();
        host.installPassword("prod");
        host.localBackup("prod", "prod-20261201T030000Z-v1");
        expect(host.run("prod", "upload").status).toBe(0);
        expect(host.calls().join("\n")).not.toContain(PASSWORD);
        expect(host.calls().find((c) => c.includes(" backup "))).toContain(`--volume ${host.secretDir}/offsite-prod.password:/run/secrets/restic-password:ro --env RESTIC_PASSWORD_FILE=/run/secrets/restic-password`);
    });

    it("an unreachable repository fails the upload with restic's words, and creates nothing", () => {
        const host = fakeHost({ reachable: false });
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        const result = host.run("dev", "upload");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("the copy of dev-20261201T030000Z-v1.dump to sftp:backup@backup.example:/srv/restic/dev failed: Fatal: unable to open repository at sftp:backup@backup.example:/srv/restic: ssh: connect to host backup.example port 22: Connection refused");
        expect(host.calls().some((c) => / init$/.test(c))).toBe(false);
    });

    it("makes the repository only before its first success: later, one that does not answer as a repository (a disk not mounted) fails the copy", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        expect(host.run("dev", "upload").status).toBe(0);
        spawnSync("rm", ["-rf", host.repo]);
        const result = host.run("dev", "upload");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("failed: Fatal: unable to open config file");
        expect(existsSync(host.repo)).toBe(false);
        expect(host.calls().filter((c) => / init$/.test(c))).toHaveLength(1);
    });

    it("a repository moved elsewhere (offsiteRepository changed) is made at its first run: the marker names the repository it stands for", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        expect(host.run("dev", "upload").status).toBe(0);
        expect(readFileSync(join(host.secretDir, "offsite-dev.created"), "utf8")).toBe("sftp:backup@backup.example:/srv/restic/dev\n");
        const moved = { repository: "sftp:backup@backup.example:/srv/restic/dev-moved" };
        const result = host.runWith(moved, "dev", "upload");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("created the repository sftp:backup@backup.example:/srv/restic/dev-moved");
        expect(result.stdout).toContain("copied dev-20261201T030000Z-v1.dump to sftp:backup@backup.example:/srv/restic/dev-moved");
        expect(readdirSync(join(host.root, "repository-dev-moved"))).toEqual(["1-rezept-tagebuch-dev-dump"]);
        expect(readFileSync(join(host.secretDir, "offsite-dev.created"), "utf8")).toBe("sftp:backup@backup.example:/srv/restic/dev-moved\n");
        // Once made, the moved one is protected as the first was: gone later, it fails the copy rather than being made anew.
        spawnSync("rm", ["-rf", join(host.root, "repository-dev-moved")]);
        const gone = host.runWith(moved, "dev", "upload");
        expect(gone.status).toBe(1);
        expect(gone.stderr).toContain("failed: Fatal: unable to open config file");
        expect(host.calls().filter((c) => / init$/.test(c))).toHaveLength(2);
    });

    it("an empty marker (made before markers named their repository) stands for the repository configured now, and is rewritten naming it", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        writeFileSync(join(host.secretDir, "offsite-dev.created"), "");
        const missing = host.run("dev", "upload");
        expect(missing.status).toBe(1);
        expect(host.calls().some((c) => / init$/.test(c))).toBe(false);
        mkdirSync(host.repo);
        expect(host.run("dev", "upload").status).toBe(0);
        expect(readFileSync(join(host.secretDir, "offsite-dev.created"), "utf8")).toBe("sftp:backup@backup.example:/srv/restic/dev\n");
    });

    it("runs the image pulumi up pulled and never pulls; an image gone from the host (podman image prune -a) fails saying how to get it back", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.localBackup("dev", "dev-20261201T030000Z-v1");
        expect(host.run("dev", "upload").status).toBe(0);
        const runs = host.calls().filter((c) => c.startsWith("podman run"));
        expect(runs.length).toBeGreaterThan(0);
        for (const call of runs) expect(call).toMatch(/^podman run --rm -i --pull=never /);
        writeFileSync(join(host.root, "no-image"), "");
        const gone = host.run("dev", "upload");
        expect(gone.status).toBe(1);
        expect(gone.stderr).toContain(`the copy of dev-20261201T030000Z-v1.dump to sftp:backup@backup.example:/srv/restic/dev failed: Error: ${RESTIC_IMAGE}: image not known the restic image ${RESTIC_IMAGE} is not on this host (podman image prune -a removes images no container uses); put it back: npm run stack -- up dev --refresh`);
    });

    it("without its password file, or without a backup, it fails saying what to do", () => {
        const host = fakeHost();
        const noPassword = host.run("dev", "upload");
        expect(noPassword.status).toBe(1);
        expect(noPassword.stderr).toMatch(/no repository password at .*offsite-dev.password; install it: npm run stack -- up dev/);
        host.installPassword("dev");
        const noBackup = host.run("dev", "upload");
        expect(noBackup.status).toBe(1);
        expect(noBackup.stderr).toMatch(/no backup in .* to copy; make one: sh .*backup-dev.sh/);
    });

    it("fetch: the newest off-host backup back into the backup directory, beside none of the old files", () => {
        const host = fakeHost();
        host.installPassword("prod");
        host.localBackup("prod", "prod-20261201T030000Z-v1");
        expect(host.run("prod", "upload").status).toBe(0);
        // The disk is lost: nothing is left locally.
        spawnSync("rm", ["-rf", host.dir("prod")]);
        const result = host.run("prod", "fetch");
        // restic's own summary goes to stderr (the journal), the path alone is captured.
        expect(result.stderr).toBe("Summary: Restored 4 files/dirs (40 B) in 0:00\n");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("fetched prod-20261201T030000Z-v1.dump");
        expect(result.stdout).toContain("restore-prod.sh prod-20261201T030000Z-v1.dump --uploads --yes-overwrite-prod");
        expect(readdirSync(host.dir("prod")).sort()).toEqual(["prod-20261201T030000Z-v1.dump", "prod-20261201T030000Z-v1.rows", "prod-20261201T030000Z-v1.uploads.tar"]);
        expect(readFileSync(join(host.dir("prod"), "prod-20261201T030000Z-v1.uploads.tar"), "utf8")).toBe("uploads-prod-20261201T030000Z-v1");
    });

    it("fetch takes this stack's snapshots only", () => {
        const host = fakeHost();
        host.installPassword("dev");
        host.installPassword("prod");
        host.localBackup("prod", "prod-20261201T030000Z-v1");
        expect(host.run("prod", "upload").status).toBe(0);
        const result = host.run("dev", "fetch");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("cannot restore snapshot latest");
    });
});

describe("the restore drill", () => {
    const drillHost = (restoredCounts?: string) => {
        const host = fakeHost({ restoredCounts });
        host.installPassword("prod");
        host.localBackup("prod", "prod-20261201T030000Z-v1");
        expect(host.run("prod", "upload").status).toBe(0);
        return host;
    };
    const result = (host: ReturnType<typeof fakeHost>) => Object.fromEntries(readFileSync(join(host.dir("prod"), DRILL_RESULT_FILE), "utf8").trim().split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)));

    it("restores the newest off-host dump into a throwaway container without a network, compares its rows, records the RTO, and removes it", () => {
        const host = drillHost();
        const run = host.run("prod", "drill");
        expect(run.stderr).toBe("Summary: Restored 4 files/dirs (40 B) in 0:00\n");
        expect(run.status).toBe(0);
        expect(run.stdout).toMatch(/restore drill passed: prod-20261201T030000Z-v1.dump restored in \d+ s, 2 tables, 3 rows as in the backup/);
        expect(result(host)).toMatchObject({ result: "passed", backup: "prod-20261201T030000Z-v1.dump", tables: "2", rows: "3", rto_seconds: expect.stringMatching(/^\d+$/) });
        expect(Math.abs(Number(result(host).at) - Date.now() / 1000)).toBeLessThan(60);
        const scratch = host.calls().find((c) => c.includes("--detach"))!;
        expect(scratch).toContain("--name seaser-postgres-restore-drill --network none --env POSTGRES_PASSWORD ");
        expect(scratch).toMatch(/ docker.io\/library\/postgres:16-alpine$/);
        expect(readFileSync(join(host.root, "scratch-restored"), "utf8")).toBe("PGDMP-prod-20261201T030000Z-v1");
        expect(existsSync(join(host.root, "scratch-running"))).toBe(false);
        expect(readdirSync(host.dir("prod")).filter((f) => f.startsWith(".drill"))).toEqual([]);
    });

    it("rows that differ fail the drill, its unit with it, and the result names the table; the container is removed all the same", () => {
        const host = drillHost('public."Tags" 0\npublic.recipes 2\n');
        const run = host.run("prod", "drill");
        expect(run.status).toBe(1);
        expect(run.stderr).toContain("restore drill: the restored rows differ from prod-20261201T030000Z-v1.dump's: < public.recipes 3;> public.recipes 2;");
        expect(result(host)).toMatchObject({ result: "failed", reason: expect.stringContaining("public.recipes 2") });
        expect(existsSync(join(host.root, "scratch-running"))).toBe(false);
    });

    it("an unreachable repository fails the drill", () => {
        const host = drillHost();
        writeFileSync(join(host.root, "unreachable"), "");
        const run = host.run("prod", "drill");
        expect(run.status).toBe(1);
        expect(run.stderr).toContain("Connection refused");
    });
});

describe("the units", () => {
    it("the nightly backup copies off the host after the local backup, only where a repository is set", () => {
        const base = { environment: "dev" as const, scope: "user" as const, dbContainer: "seaser-postgres-dev", directory: "/b", keep: 3, maxAgeDays: 30, scriptPath: "%h/.local/lib/rezept-tagebuch/backup-dev.sh", schedule: "*-*-* 03:00:00" };
        const without = renderBackupUnits(base)["rezept-tagebuch-backup-dev.service"];
        const withOffsite = renderBackupUnits({ ...base, offsiteScriptPath: "%h/.local/lib/rezept-tagebuch/offsite-dev.sh" })["rezept-tagebuch-backup-dev.service"];
        expect(without).not.toContain("offsite");
        expect(withOffsite.match(/^ExecStart=.*$/gm)).toEqual([
            "ExecStart=/bin/sh %h/.local/lib/rezept-tagebuch/backup-dev.sh",
            "ExecStart=/bin/sh %h/.local/lib/rezept-tagebuch/offsite-dev.sh upload",
        ]);
        // A copy hung on a silent network fails the unit in the end, rather than holding it for ever.
        expect(withOffsite).toContain("TimeoutStartSec=6h");
    });

    it("the weekly drill checks the repository, then restores, on its schedule, catching up a missed week", () => {
        const units = renderDrillUnits({ environment: "prod", scope: "user", dbContainer: "seaser-postgres", scriptPath: "%h/.local/lib/rezept-tagebuch/offsite-prod.sh", schedule: "Sun *-*-* 04:00:00" });
        expect(Object.keys(units)).toEqual(["rezept-tagebuch-restore-drill-prod.service", "rezept-tagebuch-restore-drill-prod.timer"]);
        const service = units["rezept-tagebuch-restore-drill-prod.service"];
        expect(service).toContain("Type=oneshot");
        expect(service.match(/^ExecStart=.*$/gm)).toEqual([
            "ExecStart=/bin/sh %h/.local/lib/rezept-tagebuch/offsite-prod.sh check",
            "ExecStart=/bin/sh %h/.local/lib/rezept-tagebuch/offsite-prod.sh drill",
        ]);
        expect(service).toContain("TimeoutStartSec=6h");
        expect(service).toContain("After=container-seaser-postgres.service rezept-tagebuch-backup-prod.service\n");
        expect(units["rezept-tagebuch-restore-drill-prod.timer"]).toMatch(/OnCalendar=Sun \*-\*-\* 04:00:00\nPersistent=true\n/);
        for (const [name, content] of Object.entries(units)) {
            const dir = mkdtempSync(join(tmpdir(), "drill-units-"));
            writeFileSync(join(dir, name), content.replace("%h/.local/lib/rezept-tagebuch/offsite-prod.sh", "/bin/true"));
            if (name.endsWith(".timer")) writeFileSync(join(dir, name.replace(".timer", ".service")), "[Service]\nType=oneshot\nExecStart=/bin/true\n");
            const verify = spawnSync("systemd-analyze", ["verify", join(dir, name)], { encoding: "utf8" });
            expect(verify.stderr.split("\n").filter((l) => l && !/Failed to load|Unit .* not found|Cannot add dependency/.test(l))).toEqual([]);
        }
    });
});

describe("the stack with an off-host repository", () => {
    const config = { ...validConfig("prod"), offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-prod", offsitePassword: PASSWORD };

    it("installs the password from a secret on stdin, and the off-host script and drill units with the other units", async () => {
        const run = await runProgram("prod", config);
        const password = run.ofType(TYPES.localCommand).find((r) => r.name === "prod-backup-offsite-password")!;
        expect(password).toBeDefined();
        expect(password.inputs.stdin).toBe(PASSWORD);
        expect(JSON.stringify(password.wireInputs.stdin)).toContain(SECRET_SIG);
        const boot = run.ofType(TYPES.localCommand).find((r) => r.name === "prod-boot-install")!;
        const install = boot.inputs.create as string;
        for (const file of ["offsite-prod.sh", "rezept-tagebuch-restore-drill-prod.service", "rezept-tagebuch-restore-drill-prod.timer"]) expect(install).toContain(file);
        expect(install).toContain("ExecStart=/bin/sh %h/.local/lib/rezept-tagebuch/offsite-prod.sh upload");
    });

    it("holds restic's image as the containers' are, and installs the password and the scripts that run it only once up has it on the host", async () => {
        const run = await runProgram("prod", { ...config, resticImage: RESTIC_IMAGE });
        const image = run.find(TYPES.image, "prod-backup-restic-image");
        expect(image.inputs).toMatchObject({ name: RESTIC_IMAGE, keepLocally: true });
        expect(image.provider).toBe(run.find(TYPES.image, "prod-db-image").provider);
        expect(image.provider).toMatch(/::podman::/);
        for (const name of ["prod-backup-offsite-password", "prod-boot-install"]) {
            expect(run.find(TYPES.localCommand, name).dependencies.map((urn) => urn.split("::").pop()), name).toContain("prod-backup-restic-image");
        }
    });

    it("leaves the password out of every input stored in plaintext", async () => {
        const run = await runProgram("prod", config);
        for (const resource of run.resources) expect(JSON.stringify(withoutSecrets(resource.wireInputs)), resource.name).not.toContain(PASSWORD);
    });

    it("has none of it without a repository", async () => {
        const run = await runProgram("prod", validConfig("prod"));
        expect(run.ofType(TYPES.localCommand).map((r) => r.name)).not.toContain("prod-backup-offsite-password");
        expect(run.ofType(TYPES.image).map((r) => r.name)).not.toContain("prod-backup-restic-image");
        expect(run.ofType(TYPES.localCommand).find((r) => r.name === "prod-boot-install")!.inputs.create).not.toContain("offsite-prod.sh");
    });
});
