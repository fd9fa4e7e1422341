import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { containerPath } from "./busybox";
import { ENVIRONMENTS, EnvironmentName, environmentNames } from "../lib/environments";
import {
    archivingCommand, PitrSpec, renderArchiveCommand, renderBaseBackupScript, renderPitrScript, renderPitrUnits, renderWalUploadScript, walUnitName, WAL_ARCHIVE,
} from "../lib/pitr";
import { scriptPathInUnit } from "../lib/systemd";
import { ConfigError, parseStackConfig } from "../lib/config";
import { readScriptParams } from "../lib/hostScript";
import { runProgram, TYPES, validConfig } from "./harness";

const PASSWORD = "restic-repository-s3cret";
const RESTIC_IMAGE = "docker.io/restic/restic:0.17.3";
const DB_IMAGE = "docker.io/library/postgres:16-alpine";
const CLUSTER = "7312345678901234567";

function spec(env: EnvironmentName, over: Partial<PitrSpec> = {}): PitrSpec {
    const n = environmentNames(env);
    return {
        environment: env, scope: "user", repository: `sftp:backup@backup.example:/srv/restic/${env}`, image: RESTIC_IMAGE,
        directory: `$HOME/rezept-tagebuch-backups/${env}`, maxAgeDays: 30, dbImage: DB_IMAGE, dbContainer: n.dbContainer,
        dbUser: "postgres", dbName: n.dbName, dataVolume: n.dbVolume, walVolume: `${n.dbContainer}-wal`,
        appContainer: env === "test" ? undefined : n.appContainer, ...over,
    };
}
const restoreScript = (env: EnvironmentName, over: Partial<PitrSpec> = {}) =>
    renderPitrScript({ ...spec(env, over), backupScript: `backup-${env}.sh`, walUnit: walUnitName(env) });

describe("the archive_command", () => {
    /**
     * Runs it as PostgreSQL does (sh, with %p relative to PGDATA, the working directory) for segment `name`, in the
     * image's shell and tools: BusyBox's (test/busybox.ts).
     */
    const archive = (root: string, name: string) => spawnSync("busybox", ["sh", "-c", renderArchiveCommand(join(root, "archive"), 0).replaceAll("%p", `pg_wal/${name}`).replaceAll("%f", name)],
        { cwd: join(root, "data"), encoding: "utf8", env: { ...process.env, PATH: containerPath() } });
    const setup = () => {
        const root = mkdtempSync(join(tmpdir(), "archive-"));
        mkdirSync(join(root, "data/pg_wal"), { recursive: true });
        return root;
    };

    it("copies a segment into the archive, made if missing, and leaves no .part", () => {
        const root = setup();
        writeFileSync(join(root, "data/pg_wal/000000010000000000000001"), "segment one");
        const result = archive(root, "000000010000000000000001");
        expect(result.status).toBe(0);
        expect(readFileSync(join(root, "archive/000000010000000000000001"), "utf8")).toBe("segment one");
        expect(readdirSync(join(root, "archive"))).toEqual(["000000010000000000000001"]);
        // The copy in progress is outside the folder the upload backs up.
        expect(readdirSync(join(root, "archive.incoming"))).toEqual([]);
    });

    it("succeeds again for an identical file (a segment archived before a crash), refuses a different one and keeps the archived file", () => {
        const root = setup();
        writeFileSync(join(root, "data/pg_wal/000000010000000000000002"), "segment two");
        expect(archive(root, "000000010000000000000002").status).toBe(0);
        expect(archive(root, "000000010000000000000002").status).toBe(0);
        writeFileSync(join(root, "data/pg_wal/000000010000000000000002"), "another cluster's segment two");
        expect(archive(root, "000000010000000000000002").status).not.toBe(0);
        expect(readFileSync(join(root, "archive/000000010000000000000002"), "utf8")).toBe("segment two");
        expect(readdirSync(join(root, "archive"))).toEqual(["000000010000000000000002"]);
    });

    it("a segment it cannot copy is left out, named in the gap file, and succeeds: the archiver never blocks", () => {
        const root = setup();
        expect(archive(root, "000000010000000000000003").status).toBe(0);
        expect(existsSync(join(root, "archive/000000010000000000000003"))).toBe(false);
        expect(readFileSync(join(root, "archive.gap"), "utf8")).toBe("000000010000000000000003\n");
    });

    describe("the bound: the free space it leaves on its disk", () => {
        /** A df that reports `freeKiB` free on the archive's file system, first on PATH. */
        const withDf = (root: string, freeKiB: number) => {
            mkdirSync(join(root, "bin"), { recursive: true });
            writeFileSync(join(root, "bin/df"), `#!/bin/sh\n[ "$1 $2" = "-Pk ${join(root, "archive")}" ] || exit 9\necho "Filesystem 1024-blocks Used Available Capacity Mounted on"\necho "/dev/x 99999999 1 ${freeKiB} 1% /"\n`);
            chmodSync(join(root, "bin/df"), 0o755);
        };
        const archiveWith = (root: string, name: string, reserveMiB: number) => spawnSync("busybox", ["sh", "-c", renderArchiveCommand(join(root, "archive"), reserveMiB).replaceAll("%p", `pg_wal/${name}`).replaceAll("%f", name)],
            { cwd: join(root, "data"), encoding: "utf8", env: { ...process.env, PATH: containerPath(join(root, "bin")) } });

        it("keeps a segment while the reserve and the segment (16 MiB) fit, and leaves out the next once they do not", () => {
            const root = setup();
            writeFileSync(join(root, "data/pg_wal/000000010000000000000004"), "segment four");
            writeFileSync(join(root, "data/pg_wal/000000010000000000000005"), "segment five");
            withDf(root, (100 + 16) * 1024 + 1);
            expect(archiveWith(root, "000000010000000000000004", 100).status).toBe(0);
            expect(readdirSync(join(root, "archive"))).toEqual(["000000010000000000000004"]);
            withDf(root, (100 + 16) * 1024);
            expect(archiveWith(root, "000000010000000000000005", 100).status).toBe(0);
            expect(readdirSync(join(root, "archive"))).toEqual(["000000010000000000000004"]);
            expect(readFileSync(join(root, "archive.gap"), "utf8")).toBe("000000010000000000000005\n");
        });

        it("a df that fails counts as no room: left out, never a failure PostgreSQL would keep the segment in pg_wal for", () => {
            const root = setup();
            writeFileSync(join(root, "data/pg_wal/000000010000000000000006"), "segment six");
            mkdirSync(join(root, "bin"));
            writeFileSync(join(root, "bin/df"), "#!/bin/sh\nexit 1\n");
            chmodSync(join(root, "bin/df"), 0o755);
            expect(archiveWith(root, "000000010000000000000006", 100).status).toBe(0);
            expect(readFileSync(join(root, "archive.gap"), "utf8")).toBe("000000010000000000000006\n");
        });

        it("is walReserveMiB of the stack, 2048 by default", () => {
            expect(archivingCommand()[4]).toContain(`-gt ${(2048 + 16) * 1024} ]`);
            expect(archivingCommand(100)[4]).toContain(`-gt ${(100 + 16) * 1024} ]`);
        });
    });

    it("is the container's command: postgres with archive_mode, this command and archive_timeout 60", () => {
        expect(archivingCommand()).toEqual(["postgres", "-c", "archive_mode=on", "-c", `archive_command=${renderArchiveCommand(WAL_ARCHIVE, 2048)}`, "-c", "archive_timeout=60"]);
        expect(renderArchiveCommand()).toContain("/var/lib/postgresql/wal-archive/%f");
    });
});

describe("the PITR scripts and units", () => {
    it.each(ENVIRONMENTS)("%s: shellcheck clean", (env) => {
        for (const script of [renderWalUploadScript(spec(env)), renderBaseBackupScript(spec(env)), restoreScript(env)]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "-"], { input: script, encoding: "utf8" });
            expect(result.stdout).toBe("");
        }
    });

    it("the WAL upload backs the archive up read-only, tagged wal and with its cluster, never with the password on a command line", () => {
        const script = renderWalUploadScript(spec("prod"));
        expect(readScriptParams(script)).toMatchObject({ wal_volume: "seaser-postgres-wal", restic_host: "rezept-tagebuch-prod" });
        expect(script).toContain('restic_mount="$wal_volume:/wal:ro"');
        expect(script).toContain('restic_creating backup --quiet --host "$restic_host" --tag wal --tag "cluster-$cluster" /wal/wal-archive');
        expect(script).not.toContain(PASSWORD);
    });

    it("the base backup: pg_basebackup as one tar without WAL, off the host with its cluster, then the local and off-host clean-up", () => {
        const script = renderBaseBackupScript(spec("prod"));
        expect(script).toContain("pg_basebackup -D - -F tar -X none");
        expect(script).toContain('--tag base --tag "cluster-$cluster" "/backup/$base.tar" "/backup/$base.cluster"');
        expect(readScriptParams(script)).toMatchObject({ wal_archive: WAL_ARCHIVE, max_age_days: "30", restic_host: "rezept-tagebuch-prod" });
        expect(script).toContain('pg_archivecleanup "$wal_archive" "$keep_from"');
        expect(script).toContain('--tag base --group-by host,tags --keep-last 1 --keep-within "${max_age_days}d"');
        expect(script).toContain('--tag wal --group-by host,tags --keep-last 1 --keep-hourly 24 --keep-daily "$max_age_days"');
    });

    it.each(["user", "system"] as const)("units pass systemd-analyze verify with no output (%s scope): WAL every 30 s within 1 s, base backup nightly", (scope) => {
        const dir = mkdtempSync(join(tmpdir(), `pitr-units-${scope}-`));
        const units = renderPitrUnits({
            environment: "prod", scope, dbContainer: "seaser-postgres", schedule: "*-*-* 03:00:00",
            walScriptPath: scriptPathInUnit(scope, "pitr-wal-prod.sh"), baseScriptPath: scriptPathInUnit(scope, "pitr-base-prod.sh"),
        });
        expect(Object.keys(units).sort()).toEqual(["rezept-tagebuch-base-backup-prod.service", "rezept-tagebuch-base-backup-prod.timer", "rezept-tagebuch-wal-prod.service", "rezept-tagebuch-wal-prod.timer"]);
        expect(units["rezept-tagebuch-wal-prod.timer"]).toMatch(/OnActiveSec=30s\nOnUnitActiveSec=30s\nAccuracySec=1s/);
        expect(units["rezept-tagebuch-base-backup-prod.timer"]).toMatch(/OnCalendar=\*-\*-\* 03:00:00\nPersistent=true/);
        // The WAL upload waits for no run that may take hours (a stalled server): only for its database; its own limit fits a backlog.
        expect(units["rezept-tagebuch-wal-prod.service"]).toContain("After=container-seaser-postgres.service\n");
        expect(units["rezept-tagebuch-wal-prod.service"]).toContain("TimeoutStartSec=30min\n");
        expect(units["rezept-tagebuch-base-backup-prod.service"]).toContain("After=container-seaser-postgres.service rezept-tagebuch-backup-prod.service\n");
        for (const [file, content] of Object.entries(units)) writeFileSync(join(dir, file), content);
        const result = spawnSync("systemd-analyze", [...(scope === "user" ? ["--user"] : []), "verify", ...Object.keys(units).map((f) => join(dir, f))], {
            cwd: dir, encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "xdg-runtime-")) },
        });
        // The scripts do not exist on this machine: only that complaint is expected.
        expect(`${result.stdout}${result.stderr}`.split("\n").filter((l) => l && !/Command .* is not executable|No such file/.test(l))).toEqual([]);
    });
});

/**
 * A host whose podman and systemctl model what pitr-<env>.sh relies on: restic in its container
 * (`cat config`; `restore --host H --tag T --target DIR latest|ID` writes the snapshot's files at
 * DIR/<their path>: a base snapshot holds /backup/base-<time>.tar and its .cluster, a WAL snapshot
 * /wal/wal-archive/<segments>, tagged with its cluster); `podman run --entrypoint sh` of the
 * database image runs its script with PGDATA and /restore mapped to this machine's folders (chown
 * left out: not root here); `podman exec` answers pg_is_in_recovery() with f and the row counts.
 */
/** The base and WAL snapshots the stub's `restic snapshots --json` lists: [time, short id], as restic 0.17 writes them. */
const BASES: [string, string][] = [["2026-12-01T03:00:30.123456789Z", "b1b1b1b1"], ["2026-12-02T03:00:30.5Z", "b2b2b2b2"]];
const WALS: [string, string][] = [["2026-12-01T03:01:00Z", "a1a1a1a1"], ["2026-12-01T20:06:00Z", "a2a2a2a2"], ["2026-12-02T23:59:30Z", "a3a3a3a3"]];
/** restic 0.17's `snapshots --json`: a snapshot's summary, an object of its own, stands between its time and its short_id. */
const snapshotsJson = (snapshots: [string, string][], tags: string[]) => JSON.stringify(snapshots.map(([time, id]) => ({
    time, tree: "f".repeat(64), paths: ["/backup/x"], hostname: "rezept-tagebuch-dev", username: "root", tags, program_version: "restic 0.17.3",
    summary: { backup_start: time, backup_end: time, files_new: 2 }, id: id.repeat(8), short_id: id,
})));

function fakeHost(opts: { dbRunning?: boolean; walCluster?: string; baseStart?: string; recoveryFails?: boolean; hangUnpacking?: boolean } = {}) {
    const root = mkdtempSync(join(tmpdir(), "pitr-"));
    const bin = join(root, "bin");
    const home = join(root, "home");
    const scripts = join(root, "scripts");
    for (const d of [bin, home, scripts, join(root, "volumes")]) mkdirSync(d, { recursive: true });
    mkdirSync(join(home, ".config/rezept-tagebuch"), { recursive: true });
    writeFileSync(join(home, ".config/rezept-tagebuch/offsite-prod.password"), PASSWORD);
    writeFileSync(join(home, ".config/rezept-tagebuch/offsite-dev.password"), PASSWORD);
    // The base backup's tar: a data directory as pg_basebackup writes it.
    mkdirSync(join(root, "base/global"), { recursive: true });
    writeFileSync(join(root, "base/PG_VERSION"), "16\n");
    writeFileSync(join(root, "base/postgresql.auto.conf"), "# Do not edit this file manually!\n");
    writeFileSync(join(root, "base/backup_label"), `START WAL LOCATION: 0/1000028 (file ${opts.baseStart ?? "000000010000000000000001"})\nCHECKPOINT LOCATION: 0/1000060\nBACKUP METHOD: streamed\n`);
    writeFileSync(join(root, "snapshots-base.json"), snapshotsJson(BASES, ["base", `cluster-${CLUSTER}`]));
    writeFileSync(join(root, "snapshots-wal.json"), snapshotsJson(WALS, ["wal", `cluster-${CLUSTER}`]));
    if (opts.recoveryFails) writeFileSync(join(root, "recovery-fails"), "");
    if (opts.hangUnpacking) writeFileSync(join(root, "hang-unpacking"), "");
    // As pg_basebackup writes it: backup_label first, names without "./".
    spawnSync("tar", ["-C", join(root, "base"), "-cf", join(root, "base.tar"), "backup_label", "PG_VERSION", "global", "postgresql.auto.conf"]);
    if (opts.dbRunning) writeFileSync(join(root, "db-running"), "");
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "systemctl $*" >> "${root}/calls.log"\n`);
    // The script's waits take no time here.
    writeFileSync(join(bin, "sleep"), "#!/bin/sh\n");
    chmodSync(join(bin, "sleep"), 0o755);
    writeFileSync(join(bin, "podman"), String.raw`#!/bin/sh
R=${root}
echo "podman $*" >> "$R/calls.log"
case "$1" in
run)
    shift; backup_dir=; image=; entry=; vols=
    while [ $# -gt 0 ]; do
        case $1 in
        --rm|-i|--detach|--pull=never) shift ;;
        --volume) case $2 in *:/backup) backup_dir=${"${2%:/backup}"} ;; esac; vols="$vols $2"; shift 2 ;;
        --entrypoint) entry=$2; shift 2 ;;
        --env) case $2 in PITR_TIME=*) PITR_TIME=${"${2#PITR_TIME=}"} ;; esac; shift 2 ;;
        --name|--network|--user) shift 2 ;;
        -*) echo "stub podman: run option $1 not modelled" >&2; exit 125 ;;
        *) image=$1; shift; break ;;
        esac
    done
    if [ "$image" = "${DB_IMAGE}" ] && [ "$entry" = sh ]; then
        data=; restore=; from=; to=; wal=
        for v in $vols; do
            name=${"${v%%:*}"}; [ -d "$name" ] || { mkdir -p "$R/volumes/$name"; name="$R/volumes/$name"; }
            case $v in *:/var/lib/postgresql/data) data=$name ;; *:/restore:ro) restore=$name ;; *:/from|*:/from:ro) from=$name ;; *:/to) to=$name ;; *:/wal) wal=$name ;; esac
        done
        if [ "$1" = -s ]; then
            # Unpacking a large base backup: long enough to be interrupted.
            if [ -f "$R/hang-unpacking" ]; then : > "$R/unpacking"; exec /bin/sleep 30; fi
            sed -e "s#/var/lib/postgresql/data#$data#g" -e "s#/restore#$restore#g" -e "s#^chown .*#:#" > "$R/prepare.sh"
            PITR_TIME=${"${PITR_TIME:-}"} PATH="${containerPath()}" busybox sh "$R/prepare.sh"; exit $?
        fi
        [ "$1" = -c ] && { echo "$2" > "$R/aside.sh"; ASIDE=aside PATH="${containerPath()}" busybox sh -c "$(echo "$2" | sed -e "s#/from#$from#g" -e "s#/to#$to#g" -e "s#/wal#$wal#g")"; exit $?; }
        exit 125
    fi
    if [ "$image" = "${DB_IMAGE}" ]; then echo "$*" > "$R/scratch-started"; exit 0; fi
    [ "$image" = "${RESTIC_IMAGE}" ] || { echo "stub podman: image $image not modelled" >&2; exit 125; }
    shift 3
    case $1 in
    cat) ;;
    snapshots)
        case "$*" in
        *--json*--tag\ base*) cat "$R/snapshots-base.json" ;;
        *--json*--tag\ wal,cluster-*) cat "$R/snapshots-wal.json" ;;
        *--json*) echo "[]" ;;
        *) echo "ID        Time                 Host                  Tags" ;;
        esac ;;
    restore)
        shift; tag=; target=
        while [ $# -gt 0 ]; do case $1 in --quiet) shift ;; --host) shift 2 ;; --tag) tag=$2; shift 2 ;; --target) target=$2; shift 2 ;; *) break ;; esac; done
        echo "$tag $1" >> "$R/restored.log"
        out="$backup_dir/${"${target#/backup/}"}"
        case $tag in
        base) mkdir -p "$out/backup" && cp "$R/base.tar" "$out/backup/base-20261201T030000Z.tar" && echo ${CLUSTER} > "$out/backup/base-20261201T030000Z.cluster" ;;
        wal,cluster-${opts.walCluster ?? CLUSTER}) mkdir -p "$out/wal/wal-archive" && echo seg1 > "$out/wal/wal-archive/000000010000000000000001" && echo seg2 > "$out/wal/wal-archive/000000010000000000000002" ;;
        *) echo "Fatal: no snapshot found" >&2; exit 1 ;;
        esac ;;
    *) echo "stub restic: $1 not modelled" >&2; exit 1 ;;
    esac ;;
container) [ "$2" = exists ] && [ -f "$R/db-exists" ] ;;
inspect) [ -f "$R/db-running" ] && [ ! -f "$R/recovery-fails" ] && echo true || echo false ;;
exec)
    case "$*" in
    *pg_is_in_recovery*) [ -f "$R/recovery-fails" ] || echo f ;;
    *pg_last_xact_replay_timestamp*) echo "2026-12-01 03:10:00+00" ;;
    *ALTER\ SYSTEM*) ;;
    *gexec*|*pg_tables*) echo "public.pitr_probe 36" ;;
    *psql*) cat > /dev/null; echo "public.pitr_probe 36" ;;
    *rm\ -rf*|*mkdir*) ;;
    *) echo "stub podman: exec $* not modelled" >&2; exit 125 ;;
    esac ;;
stop|rm) ;;
unshare) shift; "$@" ;;
volume) [ "$2" = create ] && mkdir -p "$R/volumes/$3"; [ "$2" = rm ] && rm -rf "$R/volumes/$4"; exit 0 ;;
*) echo "stub podman: $* not modelled" >&2; exit 125 ;;
esac
`);
    chmodSync(join(bin, "podman"), 0o755);
    chmodSync(join(bin, "systemctl"), 0o755);
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: home };
    const run = (e: EnvironmentName, ...args: string[]) => {
        writeFileSync(join(scripts, `pitr-${e}.sh`), restoreScript(e));
        writeFileSync(join(scripts, `backup-${e}.sh`), `echo "backup-${e}.sh ran" >> "${root}/calls.log"\n`);
        return spawnSync("sh", [join(scripts, `pitr-${e}.sh`), ...args], { encoding: "utf8", env });
    };
    /** The script started in a process group of its own, as a terminal or an SSH session runs it. */
    const start = (e: EnvironmentName, ...args: string[]) => {
        writeFileSync(join(scripts, `pitr-${e}.sh`), restoreScript(e));
        writeFileSync(join(scripts, `backup-${e}.sh`), `echo "backup-${e}.sh ran" >> "${root}/calls.log"\n`);
        return spawn("sh", [join(scripts, `pitr-${e}.sh`), ...args], { env, detached: true });
    };
    const calls = () => (existsSync(join(root, "calls.log")) ? readFileSync(join(root, "calls.log"), "utf8").trim().split("\n") : []);
    const volume = (name: string) => join(root, "volumes", name);
    return { root, run, start, calls, volume, markDb: () => writeFileSync(join(root, "db-exists"), "") };
}

describe("the nightly base backup and the WAL upload, run", () => {
    /**
     * A host whose database answers the base backup script: its system identifier (a file), pg_basebackup's tar with a
     * backup_label starting at the segment in a file, pg_archivecleanup (logged); restic's runs succeed.
     */
    const setup = () => {
        const root = mkdtempSync(join(tmpdir(), "pitr-base-"));
        const bin = join(root, "bin");
        const home = join(root, "home");
        const scripts = join(root, "scripts");
        for (const d of [bin, scripts, join(home, ".config/rezept-tagebuch"), join(root, "label")]) mkdirSync(d, { recursive: true });
        writeFileSync(join(home, ".config/rezept-tagebuch/offsite-prod.password"), PASSWORD);
        writeFileSync(join(bin, "podman"), String.raw`#!/bin/sh
R=${root}
case "$1" in
inspect) echo true ;;
run) echo "restic $*" >> "$R/calls.log"; if [ -f "$R/slow" ]; then sleep 2; fi ;;
exec)
    case "$*" in
    *system_identifier*) cat "$R/cluster" ;;
    *"-i seaser-postgres sh -c exec psql"*) grep -q pg_stat_archiver && cat "$R/archiver" 2> /dev/null; true ;;
    *pg_basebackup*) printf 'START WAL LOCATION: 0/1000028 (file %s)
' "$(cat "$R/start")" > "$R/label/backup_label" && tar -C "$R/label" -cf - backup_label ;;
    *pg_archivecleanup*) for a in "$@"; do last=$a; done; echo "pg_archivecleanup $last" >> "$R/calls.log" ;;
    *mkdir*) ;;
    *"tail -n 1 /var/lib/postgresql/wal-archive.gap"*) [ -f "$R/gap" ] && tail -n 1 "$R/gap" ;;
    *"rm -f /var/lib/postgresql/wal-archive.gap"*) echo "gap closed" >> "$R/calls.log"; rm -f "$R/gap" ;;
    *) echo "stub podman: exec $* not modelled" >&2; exit 125 ;;
    esac ;;
*) echo "stub podman: $* not modelled" >&2; exit 125 ;;
esac
`);
        chmodSync(join(bin, "podman"), 0o755);
        writeFileSync(join(scripts, "pitr-base-prod.sh"), renderBaseBackupScript(spec("prod")));
        writeFileSync(join(scripts, "pitr-wal-prod.sh"), "exit 0\n");
        writeFileSync(join(scripts, "wal-upload.sh"), renderWalUploadScript(spec("prod")));
        /** One nightly run: the database's cluster and where its base backup starts. */
        const nightly = (cluster: string, start: string) => {
            writeFileSync(join(root, "cluster"), `${cluster}\n`);
            writeFileSync(join(root, "start"), start);
            const result = spawnSync("sh", [join(scripts, "pitr-base-prod.sh")], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home } });
            expect(result.stderr).toBe("");
            expect(result.status).toBe(0);
            return cleanups();
        };
        const calls = () => (existsSync(join(root, "calls.log")) ? readFileSync(join(root, "calls.log"), "utf8").trim().split("\n") : []);
        const cleanups = () => calls().filter((c) => c.startsWith("pg_archivecleanup"));
        /** One WAL upload, with pg_stat_archiver answering `archiver` (empty: not failing). */
        const walUpload = (archiver: string) => {
            writeFileSync(join(root, "cluster"), `${CLUSTER}\n`);
            writeFileSync(join(root, "archiver"), archiver);
            return spawnSync("sh", [join(scripts, "wal-upload.sh")], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home } });
        };
        const stamp = () => readFileSync(join(home, "rezept-tagebuch-backups/prod/.pitr-wal.last"), "utf8");
        return { root, nightly, walUpload, calls, stamp };
    };

    it("a gap in the archive (segments left out for want of disk) is closed by the first base backup that starts after it", () => {
        const host = setup();
        writeFileSync(join(host.root, "gap"), "000000010000000000000006\n000000010000000000000007\n");
        host.nightly(CLUSTER, "000000010000000000000005");
        host.nightly(CLUSTER, "000000010000000000000007");
        expect(host.calls()).not.toContain("gap closed");
        host.nightly(CLUSTER, "000000010000000000000008");
        expect(host.calls()).toContain("gap closed");
        expect(existsSync(join(host.root, "gap"))).toBe(false);
    });

    it("a WAL upload records its start once it succeeded, the time the health check ages; a failed one leaves it", async () => {
        const host = setup();
        // restic's run takes 2 s: the time recorded is from before it (what was archived by then is off the host).
        writeFileSync(join(host.root, "slow"), "");
        const before = Math.floor(Date.now() / 1000);
        expect(host.walUpload("").status).toBe(0);
        const at = Number(/^at=(\d+)\n$/.exec(host.stamp())?.[1]);
        expect(at).toBeGreaterThanOrEqual(before);
        expect(at).toBeLessThanOrEqual(before + 1);
        rmSync(join(host.root, "slow"));
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect(host.walUpload("000000010000000000000003 at 2026-12-01 03:04:05+00\n").status).toBe(1);
        expect(host.stamp()).toBe(`at=${at}\n`);
    });

    it("keeps what the previous base backup of the cluster needs, across a new timeline and a new cluster", () => {
        const host = setup();
        expect(host.nightly(CLUSTER, "000000010000000000000005")).toEqual([]);
        expect(host.nightly(CLUSTER, "000000010000000000000009")).toEqual(["pg_archivecleanup 000000010000000000000005"]);
        // After a restore into the stack to a point before 09: timeline 2 from segment 07. The previous base backup's 09
        // is an abandoned future; cleaning up to it would remove this base backup's own start.
        expect(host.nightly(CLUSTER, "000000020000000000000007").at(-1)).toBe("pg_archivecleanup 000000020000000000000007");
        expect(host.nightly(CLUSTER, "00000002000000000000000C").at(-1)).toBe("pg_archivecleanup 000000020000000000000007");
        // A new cluster (a disk lost): nothing of the old one's record counts.
        expect(host.nightly("999", "000000010000000000000002")).toHaveLength(3);
    });

    it("a WAL upload copies the archive, and fails while PostgreSQL fails to archive, so the health check alerts", () => {
        const host = setup();
        const fine = host.walUpload("");
        expect(fine.stderr).toBe("");
        expect(fine.status).toBe(0);
        const failing = host.walUpload("000000010000000000000003 at 2026-12-01 03:04:05+00\n");
        expect(failing.status).toBe(1);
        expect(failing.stderr).toContain("PostgreSQL cannot archive its WAL (pg_stat_archiver: 000000010000000000000003 at 2026-12-01 03:04:05+00 failed)");
        // What was archived went off the host all the same.
        expect(host.calls().filter((c) => c.includes(" backup --quiet --host rezept-tagebuch-prod --tag wal "))).toHaveLength(2);
    });
});

describe("pitr-<env>.sh, the point-in-time restore", () => {
    it("refuses, before anything runs: prod --into-stack without --yes-overwrite-prod, a time without its zone, an unknown argument", () => {
        const host = fakeHost();
        for (const args of [["--into-stack"], ["--time", "2026-12-01 03:10:00"], ["--time", "yesterday"], ["--base", "../x"], ["--force"]]) {
            const result = host.run("prod", ...args);
            expect(result.status, args.join(" ")).toBe(2);
        }
        expect(host.run("prod", "--into-stack").stderr).toContain("--into-stack overwrites the prod database; add --yes-overwrite-prod to confirm");
        expect(host.calls()).toEqual([]);
    });

    it("by default into a scratch container without a network: the base unpacked, its cluster's WAL inside PGDATA, recovery to the time, then the settings reset", () => {
        const host = fakeHost();
        const result = host.run("dev", "--time", "2026-12-01 03:10:00+00");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const data = host.volume("seaser-postgres-dev-pitr-data");
        expect(readFileSync(join(data, "PG_VERSION"), "utf8")).toBe("16\n");
        expect(readdirSync(join(data, "pitr-wal")).sort()).toEqual(["000000010000000000000001", "000000010000000000000002"]);
        expect(existsSync(join(data, "recovery.signal"))).toBe(true);
        const auto = readFileSync(join(data, "postgresql.auto.conf"), "utf8");
        // (the stub maps PGDATA to a folder here; the script names the container's)
        expect(auto).toContain(`restore_command = 'cp ${data}/pitr-wal/%f %p'`);
        expect(restoreScript("dev")).toContain("restore_command = 'cp /var/lib/postgresql/data/pitr-wal/%f %p'");
        expect(auto).toContain("recovery_target_time = '2026-12-01 03:10:00+00'");
        expect(auto).toContain("recovery_target_action = 'promote'");
        // The newest base backup finished by the time; the WAL of its own cluster, the oldest snapshot 5 minutes after the time.
        expect(readFileSync(join(host.root, "restored.log"), "utf8").trim().split("\n")).toEqual(["base b1b1b1b1", `wal,cluster-${CLUSTER} a2a2a2a2`]);
        const calls = host.calls();
        expect(calls).toContainEqual(expect.stringMatching(/^podman run --detach --name seaser-postgres-dev-pitr --network none --volume seaser-postgres-dev-pitr-data:\/var\/lib\/postgresql\/data /));
        expect(calls.some((c) => c.includes("ALTER SYSTEM RESET restore_command"))).toBe(true);
        expect(calls.some((c) => c.startsWith("systemctl"))).toBe(false);
        expect(result.stdout).toContain("podman exec -it seaser-postgres-dev-pitr psql -U postgres -d rezepte_dev");
        expect(result.stdout).toContain("public.pitr_probe 36");
        expect(calls.join("\n")).not.toContain(PASSWORD);
    });

    it("to the end: the newest base backup and the newest WAL snapshot of its cluster", () => {
        const host = fakeHost();
        const result = host.run("dev");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(readFileSync(join(host.root, "restored.log"), "utf8").trim().split("\n")).toEqual(["base latest", `wal,cluster-${CLUSTER} latest`]);
        expect(result.stdout).toContain("from its segment 000000010000000000000001 with 2 archived WAL files");
    });

    it("to a time before the newest base backup: the one before it (PostgreSQL cannot go back), and a WAL snapshot made after the time", () => {
        const host = fakeHost();
        // b2 was finished at 2026-12-02 03:00:30; a2 is the first WAL snapshot from 5 minutes after 20:00:00 on.
        const result = host.run("dev", "--time", "2026-12-01 21:00:00+01:00");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(readFileSync(join(host.root, "restored.log"), "utf8").trim().split("\n")).toEqual(["base b1b1b1b1", `wal,cluster-${CLUSTER} a2a2a2a2`]);
        // To a time after the last WAL snapshot but 5 minutes: the newest.
        const recent = host.run("dev", "--time", "2026-12-02 23:58:00+00");
        expect(recent.status).toBe(0);
        expect(readFileSync(join(host.root, "restored.log"), "utf8").trim().split("\n").slice(-2)).toEqual(["base b2b2b2b2", `wal,cluster-${CLUSTER} latest`]);
    });

    it("a time before every base backup, or a --base finished after the time, fails before anything is stopped", () => {
        const host = fakeHost({ dbRunning: true });
        host.markDb();
        const early = host.run("prod", "--time", "2026-12-01 03:00:00+00", "--into-stack", "--yes-overwrite-prod");
        expect(early.status).toBe(1);
        expect(early.stderr).toContain("no base backup in sftp:backup@backup.example:/srv/restic/prod was finished by 2026-12-01 03:00:00+00: it is older than point-in-time recovery reaches");
        const newer = host.run("prod", "--time", "2026-12-01 12:00:00+00", "--base", "b2b2b2b2", "--into-stack", "--yes-overwrite-prod");
        expect(newer.status).toBe(1);
        expect(newer.stderr).toContain("the base backup b2b2b2b2 was finished after 2026-12-01 12:00:00+00, and recovery cannot go back from it");
        expect(host.calls().filter((c) => c.startsWith("systemctl") || / restore /.test(c))).toEqual([]);
    });

    it("a WAL snapshot that no longer holds the base backup's first segment fails, naming both", () => {
        const host = fakeHost({ baseStart: "000000010000000000000007" });
        const result = host.run("dev");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("the WAL snapshot latest of cluster 7312345678901234567 no longer holds 000000010000000000000007, where base-20261201T030000Z.tar starts");
        expect(host.calls().some((c) => c.includes("--entrypoint sh"))).toBe(false);
    });

    it("--into-stack whose recovery fails puts back the data from before it and starts the database, its timers and the app again", () => {
        const host = fakeHost({ recoveryFails: true });
        host.markDb();
        mkdirSync(host.volume("seaser-postgres-data"), { recursive: true });
        writeFileSync(join(host.volume("seaser-postgres-data"), "PG_VERSION"), "16-before\n");
        mkdirSync(join(host.volume("seaser-postgres-wal"), "wal-archive"), { recursive: true });
        writeFileSync(join(host.volume("seaser-postgres-wal"), "wal-archive/000000010000000000000009"), "live segment");
        const result = host.run("prod", "--into-stack", "--yes-overwrite-prod");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("the restored server stopped during recovery");
        expect(result.stderr).toContain("the restore failed; putting back the data from before it, from seaser-postgres-data-before-pitr-");
        expect(readFileSync(join(host.volume("seaser-postgres-data"), "PG_VERSION"), "utf8")).toBe("16-before\n");
        expect(readFileSync(join(host.volume("seaser-postgres-wal"), "wal-archive/000000010000000000000009"), "utf8")).toBe("live segment");
        const calls = host.calls();
        // The database started again (the last of its starts: the first started the failed restore) after the put-back.
        const at = (call: string) => calls.lastIndexOf(call);
        expect(at("systemctl --user start container-seaser-postgres.service")).toBeGreaterThan(calls.findIndex((c) => c.includes("find /to/. ! -name . -prune -exec rm -rf {} +")));
        expect(at("systemctl --user start rezept-tagebuch-wal-prod.timer rezept-tagebuch-base-backup-prod.timer")).toBeGreaterThan(at("systemctl --user start container-seaser-postgres.service"));
        expect(calls.at(-1)).toBe("systemctl --user start container-seaser-rezept-tagebuch.service");
    });

    it.each([["SIGINT", 130], ["SIGHUP", 129], ["SIGTERM", 143]] as const)("--into-stack ended by %s (Ctrl-C, a dropped SSH session) puts back the data from before it, as a failure does", async (signal, status) => {
        const host = fakeHost({ hangUnpacking: true });
        host.markDb();
        mkdirSync(host.volume("seaser-postgres-data"), { recursive: true });
        writeFileSync(join(host.volume("seaser-postgres-data"), "PG_VERSION"), "16-before\n");
        const child = host.start("prod", "--into-stack", "--yes-overwrite-prod");
        let stderr = "";
        child.stderr.on("data", (chunk) => { stderr += chunk; });
        const ended = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        for (let waited = 0; !existsSync(join(host.root, "unpacking")) && waited < 200; waited++) await new Promise((r) => setTimeout(r, 50));
        expect(existsSync(join(host.root, "unpacking"))).toBe(true);
        // The whole process group, as the terminal's Ctrl-C or the session's hangup reaches it.
        process.kill(-child.pid!, signal);
        expect(await ended).toBe(status);
        expect(stderr).toContain("the restore failed; putting back the data from before it");
        expect(readFileSync(join(host.volume("seaser-postgres-data"), "PG_VERSION"), "utf8")).toBe("16-before\n");
        expect(host.calls().at(-1)).toBe("systemctl --user start container-seaser-rezept-tagebuch.service");
        expect(host.calls()).toContain("systemctl --user start rezept-tagebuch-wal-prod.timer rezept-tagebuch-base-backup-prod.timer");
    });

    it("a base backup whose cluster has no WAL snapshot fails, naming the cluster", () => {
        const host = fakeHost({ walCluster: "999" });
        const result = host.run("dev");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`cannot restore the WAL of cluster ${CLUSTER}`);
    });

    it("--into-stack: the app and database stop, a running database is dumped first, the data and archive go aside, the restored database starts under its unit", () => {
        const host = fakeHost({ dbRunning: true });
        host.markDb();
        mkdirSync(host.volume("seaser-postgres-data"), { recursive: true });
        writeFileSync(join(host.volume("seaser-postgres-data"), "PG_VERSION"), "16-fresh\n");
        const result = host.run("prod", "--into-stack", "--yes-overwrite-prod");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const calls = host.calls();
        const at = (call: string) => calls.findIndex((c) => c.startsWith(call));
        expect(at("systemctl --user stop container-seaser-rezept-tagebuch.service")).toBeGreaterThanOrEqual(0);
        expect(at("backup-prod.sh ran")).toBeGreaterThan(at("systemctl --user stop container-seaser-rezept-tagebuch.service"));
        expect(at("systemctl --user stop container-seaser-postgres.service")).toBeGreaterThan(at("backup-prod.sh ran"));
        // No WAL upload or base backup during the restore, a running one stopped.
        expect(calls).toContain("systemctl --user stop rezept-tagebuch-wal-prod.timer rezept-tagebuch-wal-prod.service rezept-tagebuch-base-backup-prod.timer rezept-tagebuch-base-backup-prod.service");
        expect(at("systemctl --user stop rezept-tagebuch-wal-prod.timer")).toBeGreaterThan(0);
        expect(at("systemctl --user start container-seaser-postgres.service")).toBeGreaterThan(at("podman run --rm -i --network none --entrypoint sh"));
        expect(at("systemctl --user start rezept-tagebuch-wal-prod.timer")).toBeGreaterThan(at("systemctl --user start container-seaser-postgres.service"));
        expect(calls.at(-1)).toBe("systemctl --user start container-seaser-rezept-tagebuch.service");
        // Nothing deleted: the fresh data is in a volume of its own; the restored cluster in the stack's.
        const aside = readdirSync(join(host.root, "volumes")).find((v) => v.startsWith("seaser-postgres-data-before-pitr-"))!;
        expect(aside).toBeDefined();
        expect(readFileSync(join(host.volume(aside), "data/PG_VERSION"), "utf8")).toBe("16-fresh\n");
        expect(readFileSync(join(host.volume("seaser-postgres-data"), "PG_VERSION"), "utf8")).toBe("16\n");
        expect(calls.some((c) => /podman run --detach/.test(c))).toBe(false);
    });

    it("--into-stack of a stack not deployed fails, saying to deploy", () => {
        const host = fakeHost();
        const result = host.run("dev", "--into-stack");
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("seaser-postgres-dev does not exist; deploy the stack first: npm run stack -- up dev");
    });
});

describe("the pitr setting", () => {
    const offsite = { offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-prod", offsitePassword: PASSWORD };

    it("is on by default for prod with a repository, off for dev, and off without a repository", () => {
        expect(parseStackConfig("prod", { ...validConfig("prod"), ...offsite }).backup.offsite?.pitr).toBe(true);
        expect(parseStackConfig("dev", { ...validConfig("dev"), ...offsite, offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-dev" }).backup.offsite?.pitr).toBe(false);
        expect(parseStackConfig("prod", { ...validConfig("prod"), ...offsite, pitr: "false" }).backup.offsite?.pitr).toBe(false);
        expect(parseStackConfig("prod", validConfig("prod")).backup.offsite).toBeUndefined();
    });

    it("true without offsiteRepository is one line naming both keys and the fix", () => {
        let error: unknown;
        try { parseStackConfig("dev", { ...validConfig("dev"), pitr: "true" }); } catch (e) { error = e; }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^rezept-tagebuch:pitr is true but offsiteRepository is not set: .*; fix: npm run stack -- config dev set offsiteRepository .* or npm run stack -- config dev set pitr false$/)]);
        expect(() => parseStackConfig("dev", { ...validConfig("dev"), pitr: "yes" })).toThrow(/rezept-tagebuch:pitr must be true or false/);
    });

    it("the stack: a retained WAL volume, the archiving command, and the units and scripts, only when on", async () => {
        const on = await runProgram("prod", { ...validConfig("prod"), ...offsite });
        const wal = on.find(TYPES.volume, "prod-db-wal");
        expect(wal.inputs.name).toBe("seaser-postgres-wal");
        // Not protected: pitr false drops it from the program (test/droppableVolumes.test.ts).
        expect([wal.protect, wal.retainOnDelete]).toEqual([false, true]);
        const db = on.find(TYPES.container, "prod-db-container");
        expect(db.inputs.command).toEqual(archivingCommand());
        expect(db.inputs.volumes).toEqual([
            { volumeName: "seaser-postgres-wal", containerPath: "/var/lib/postgresql" },
            { volumeName: "seaser-postgres-data", containerPath: "/var/lib/postgresql/data" },
        ]);
        const install = on.ofType(TYPES.localCommand).find((r) => r.name === "prod-boot-install")!.inputs.create as string;
        for (const file of ["pitr-prod.sh", "pitr-wal-prod.sh", "pitr-base-prod.sh", "rezept-tagebuch-wal-prod.timer", "rezept-tagebuch-base-backup-prod.timer"]) expect(install).toContain(file);
        expect(readScriptParams(install).enabled.split("\n")).toContain("rezept-tagebuch-wal-prod.timer");

        for (const off of [await runProgram("prod", { ...validConfig("prod"), ...offsite, pitr: "false" }), await runProgram("prod", validConfig("prod"))]) {
            expect(off.ofType(TYPES.volume).map((v) => v.name)).not.toContain("prod-db-wal");
            const container = off.find(TYPES.container, "prod-db-container");
            expect(container.inputs.command).toBeUndefined();
            expect(container.inputs.volumes).toEqual([{ volumeName: "seaser-postgres-data", containerPath: "/var/lib/postgresql/data" }]);
            expect(off.ofType(TYPES.localCommand).find((r) => r.name === "prod-boot-install")!.inputs.create).not.toContain("pitr-prod.sh");
        }
    });
});
