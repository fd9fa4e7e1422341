import { quote } from "shell-quote";
import { EnvironmentName, PROJECT, unitName } from "./environments";
import { drillUnitName, LIVE_ROW_COUNTS_SQL, OFFSITE_TIMEOUT, OffsiteSpec, resticHost, resticShell } from "./offsite";
import { renderCalendarTimer, shellWord } from "./systemd";

/**
 * Point-in-time recovery (issue 22): the database archives its WAL continuously into a volume of
 * its own, a timer copies that archive off the host every 30 s, and a nightly base backup
 * (pg_basebackup) goes off the host beside it. Any point since the oldest kept base backup can
 * then be restored, also after the host's disk is lost.
 *
 * PostgreSQL docs 16, "25.3. Continuous Archiving and Point-in-Time Recovery (PITR)":
 * - 25.3.1: the archive command "should generally be designed to refuse to overwrite any
 *   pre-existing archive file", and may return success when the file there is identical
 *   (a segment archived once before a crash is handed to it again).
 * - 25.3.1 / runtime-config-wal: archive_timeout forces a segment switch after that many seconds
 *   with activity, which bounds how old the newest archived WAL can be.
 * - 25.3.5: recovery reads the archive through restore_command, with recovery.signal in the data
 *   directory, and stops at recovery_target_time if one is set.
 */

/** Where the WAL volume is mounted in the database container: the image's postgres-owned parent of PGDATA. */
export const WAL_MOUNT = "/var/lib/postgresql";
/** The archive directory, inside the WAL volume (not PGDATA: a base backup would copy it, and a restore would overwrite it). */
export const WAL_ARCHIVE = `${WAL_MOUNT}/wal-archive`;
/** PGDATA of the image (the official image's default), the data volume's mount point. */
export const PGDATA = `${WAL_MOUNT}/data`;
/** Seconds after which PostgreSQL switches to a new WAL segment when there was activity: the archive's lag at most. */
export const ARCHIVE_TIMEOUT_SECONDS = 60;
/** How often the archive goes off the host. */
export const WAL_UPLOAD_SECONDS = 30;
/** Where a restore puts the archived WAL it read from the repository: inside PGDATA, so restore_command never reads the live archive. */
export const RESTORED_WAL_DIR = `${PGDATA}/pitr-wal`;

export const walVolumeName = (dbContainer: string) => `${dbContainer}-wal`;
export const pitrScriptFile = (env: EnvironmentName) => `pitr-${env}.sh`;
export const walUploadScriptFile = (env: EnvironmentName) => `pitr-wal-${env}.sh`;
export const baseBackupScriptFile = (env: EnvironmentName) => `pitr-base-${env}.sh`;
export const walUnitName = (env: EnvironmentName) => `${PROJECT}-wal-${env}`;
export const baseBackupUnitName = (env: EnvironmentName) => `${PROJECT}-base-backup-${env}`;
/** The restore's command line, as the script's usage shows it. */
export const PITR_USAGE = "[--time 'YYYY-MM-DD HH:MM:SS+00'] [--base SNAPSHOT] [--into-stack [--yes-overwrite-prod]] | --list";

/**
 * The archive_command: copies a finished segment (%p, relative to PGDATA) into the archive as %f.
 * It never overwrites: an existing file of that name succeeds only if it is identical (cmp), so a
 * segment archived again after a crash passes and a different one fails, which keeps the archiver
 * retrying and the WAL in pg_wal rather than losing either copy. Written in a folder beside the
 * archive (the same volume) and renamed into it, so the uploader, which backs up the archive
 * folder only, never copies half a segment nor sees a file vanish mid-run (restic's exit 3,
 * "incomplete snapshot", cmd_backup.go). PostgreSQL runs it with sh (system()); `%f`/`%p` are its
 * only escapes (runtime-config-wal, archive_command).
 */
export function renderArchiveCommand(archive: string = WAL_ARCHIVE): string {
    return `f=${archive}/%f; t=${archive}.incoming/%f; mkdir -p ${archive} ${archive}.incoming && if [ -f "$f" ]; then cmp -s %p "$f"; else cp %p "$t" && mv "$t" "$f"; fi`;
}

/**
 * The database container's command with archiving on. The official image's entrypoint passes a
 * first argument `postgres` on, with the rest as the server's options (docker-library/postgres
 * docker-entrypoint.sh: `if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"` and `exec "$@"` as
 * the postgres user after the first-start initialisation).
 */
export function archivingCommand(archive: string = WAL_ARCHIVE): string[] {
    return ["postgres", "-c", "archive_mode=on", "-c", `archive_command=${renderArchiveCommand(archive)}`, "-c", `archive_timeout=${ARCHIVE_TIMEOUT_SECONDS}`];
}

/** What point-in-time recovery of one environment needs on the host. */
export interface PitrSpec extends Pick<OffsiteSpec, "environment" | "scope" | "repository" | "image" | "directory" | "maxAgeDays" | "dbImage"> {
    readonly dbContainer: string;
    readonly dbUser: string;
    readonly dbName: string;
    /** The stack's data volume (PGDATA) and WAL volume (the archive). */
    readonly dataVolume: string;
    readonly walVolume: string;
    /** The app, stopped while its database is restored under it; absent where there is none. */
    readonly appContainer?: string;
}

/**
 * A shell pipeline printing the first WAL segment of the base backup tar `tar` (a shell word): its
 * backup_label's `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)` (PostgreSQL's
 * backup_label format, written by pg_basebackup as the tar's first member, `backup_label`;
 * `--occurrence=1`: GNU tar stops there instead of reading the whole database).
 */
const BACKUP_LABEL_START = (tar: string) =>
    `tar -xOf ${tar} --occurrence=1 backup_label 2> /dev/null | sed -n 's/^START WAL LOCATION: .*(file \\([0-9A-F]\\{24\\}\\))$/\\1/p'`;

/** The database's system identifier (pg_control_system(), PostgreSQL 9.6+): which cluster a base backup and a WAL archive belong to. */
function systemIdentifier(db: string): string {
    return `podman exec ${db} sh -c 'exec psql -X -A -t -q -U "$POSTGRES_USER" -d postgres -c "SELECT system_identifier FROM pg_control_system()"'`;
}

/**
 * Each snapshot is tagged with its cluster (`cluster-<system identifier>`): after a disk loss the
 * fresh database a deploy makes archives segments of the same names (timeline 1 from the start)
 * into the same repository, and a restore must take the WAL of the base backup's own cluster.
 */
function clusterLines(spec: PitrSpec): string[] {
    const db = quote([spec.dbContainer]);
    return [
        `cluster_file="$dir/.pitr-cluster"`,
        // The identifier is recorded while the database runs, so the archive's last segments still go off-host while it is stopped.
        "cluster_id() {",
        `    if id=$(${systemIdentifier(db)} 2> /dev/null) && [ -n "$id" ]; then`,
        '        printf "%s\\n" "$id" > "$cluster_file"',
        `    elif [ -s "$cluster_file" ]; then`,
        '        id=$(cat "$cluster_file")',
        "    else",
        `        fail "cannot read the system identifier of ${spec.dbContainer}, and none is recorded in $cluster_file; start it: systemctl ${spec.scope === "user" ? "--user " : ""}start ${unitName(spec.dbContainer)}"`,
        "    fi",
        '    printf "%s" "$id"',
        "}",
    ];
}

/**
 * The script the WAL timer runs: the archive directory (the WAL volume, read-only) into the
 * repository as one snapshot, tagged `wal` and with its cluster. restic stores only what is new,
 * so a run is a few new segments.
 */
export function renderWalUploadScript(spec: PitrSpec): string {
    const host = resticHost(spec.environment);
    const db = quote([spec.dbContainer]);
    return [
        "#!/bin/sh",
        `# Copies the ${spec.environment} database's WAL archive off the host (Pulumi stack ${PROJECT}/${spec.environment}). Generated: do not edit.`,
        "set -eu",
        "umask 077",
        ...resticShell(spec, "wal"),
        ...clusterLines(spec),
        "cluster=$(cluster_id)",
        // The archive directory exists before the first segment is archived, owned by postgres (archive_command writes there).
        `podman exec --user postgres ${db} mkdir -p ${WAL_ARCHIVE} 2> /dev/null || true`,
        // Whether the archiver is failing now (its last failure after its last success): a full volume, or a segment of
        // another cluster under the same name, which archive_command never overwrites. The WAL then stops at PostgreSQL
        // while this upload would go on copying an archive that no longer grows; nothing running to ask: no verdict.
        `archiver_failing=$(podman exec -i ${db} sh -c 'exec psql -X -A -t -q -U "$POSTGRES_USER" -d postgres' 2> /dev/null <<'SQL'`,
        "SELECT last_failed_wal || ' at ' || last_failed_time FROM pg_stat_archiver WHERE last_failed_time > coalesce(last_archived_time, '-infinity')",
        "SQL",
        ") || archiver_failing=",
        `restic_mount=${shellWord(`${spec.walVolume}:/wal:ro`)}`,
        `restic_creating backup --quiet --host ${host} --tag wal --tag "cluster-$cluster" /wal/wal-archive || fail "the copy of the WAL archive to $repository failed: $restic_error"`,
        `[ -z "$archiver_failing" ] || fail "PostgreSQL cannot archive its WAL (pg_stat_archiver: $archiver_failing failed); what was archived is off the host, nothing after it: podman logs --tail 50 ${spec.dbContainer}"`,
        "",
    ].join("\n");
}

/**
 * The nightly base backup: pg_basebackup as a tar on stdout (one tar: no tablespaces; `-X none`,
 * its WAL is in the archive) into the backup directory, then into the repository with a file naming
 * its cluster; then the local clean-up: only the newest base tar stays, the archive keeps the
 * segments from the previous base backup's first one on (each base backup's first segment, from its
 * backup_label, is recorded in `.pitr-base-starts`), and the repository forgets what is older than
 * backupMaxAgeDays, always keeping the newest base and WAL snapshot of each cluster.
 */
export function renderBaseBackupScript(spec: PitrSpec): string {
    const host = resticHost(spec.environment);
    const db = quote([spec.dbContainer]);
    return [
        "#!/bin/sh",
        `# Takes a base backup of the ${spec.environment} database for point-in-time recovery (Pulumi stack ${PROJECT}/${spec.environment}). Generated: do not edit.`,
        "set -eu",
        "umask 077",
        ...resticShell(spec, "base backup"),
        ...clusterLines(spec),
        `[ "$(podman inspect --format '{{.State.Running}}' ${db} 2> /dev/null)" = true ] || fail "${spec.dbContainer} is not running; start it: systemctl ${spec.scope === "user" ? "--user " : ""}start ${unitName(spec.dbContainer)}"`,
        "cluster=$(cluster_id)",
        `podman exec --user postgres ${db} mkdir -p ${WAL_ARCHIVE}`,
        'stamp=$(date -u +%Y%m%dT%H%M%SZ)',
        'base="base-$stamp"',
        `podman exec ${db} sh -c 'exec pg_basebackup -D - -F tar -X none --checkpoint=fast -U "$POSTGRES_USER"' > "$dir/$base.tar.partial" || { rm -f "$dir/$base.tar.partial"; fail "pg_basebackup in ${spec.dbContainer} failed"; }`,
        '[ -s "$dir/$base.tar.partial" ] || fail "pg_basebackup wrote nothing"',
        'mv "$dir/$base.tar.partial" "$dir/$base.tar"',
        // Its first WAL segment (backup_label's START WAL LOCATION): what a restore of it needs first.
        `start=$(${BACKUP_LABEL_START('"$dir/$base.tar"')})`,
        '[ -n "$start" ] || fail "$base.tar holds no backup_label with a START WAL LOCATION"',
        'printf "%s\\n" "$cluster" > "$dir/$base.cluster"',
        `restic_creating backup --quiet --host ${host} --tag base --tag "cluster-$cluster" "/backup/$base.tar" "/backup/$base.cluster" || fail "the copy of $base.tar to $repository failed: $restic_error"`,
        'say "$base.tar ($(wc -c < "$dir/$base.tar") bytes) copied to $repository"',
        // At once the WAL it needs (pg_basebackup waited until its last segment and the .backup file were archived): a
        // base backup newer than every WAL snapshot of its cluster cannot be restored (its start checkpoint is missing).
        `sh "$(dirname "$0")/${walUploadScriptFile(spec.environment)}" || fail "the copy of the WAL archive after $base failed"`,
        'for file in "$dir"/base-*.tar "$dir"/base-*.cluster; do',
        '    case "${file##*/}" in "$base".*) ;; *) rm -f "$file" ;; esac',
        "done",
        // The archive keeps what the previous base backup of this cluster needs and everything after it, and what this one
        // needs: the lower of the two first segments, compared without the timeline (its first 8 characters) as
        // pg_archivecleanup compares. Not the archive's .backup files by name: they sort by timeline first, and after a
        // restore into the stack an abandoned timeline's newer one would win, cleaning away the new base backup's start.
        'printf "%s %s\\n" "$cluster" "$start" >> "$dir/.pitr-base-starts"',
        `previous=$(awk -v c="$cluster" '$1 == c { previous = last; last = $2 } END { print previous }' "$dir/.pitr-base-starts")`,
        'if [ -n "$previous" ]; then',
        '    keep_from=$(printf "%s\\n%s\\n" "$previous" "$start" | LC_ALL=C sort -k 1.9 | head -n 1)',
        `    podman exec --user postgres ${db} pg_archivecleanup ${WAL_ARCHIVE} "$keep_from" || fail "pg_archivecleanup of ${WAL_ARCHIVE} failed"`,
        '    say "archive: removed the segments before $keep_from"',
        "fi",
        // Per cluster (group by tags): the newest of each is kept whatever its age; WAL: one snapshot a day, which holds
        // every segment from the base backup before it, so each kept base backup can be rolled forward.
        `restic forget --quiet --host ${host} --tag base --group-by host,tags --keep-last 1 --keep-within ${spec.maxAgeDays}d > /dev/null || fail "restic forget of the base backups failed"`,
        `restic forget --quiet --host ${host} --tag wal --group-by host,tags --keep-last 1 --keep-hourly 24 --keep-daily ${spec.maxAgeDays} > /dev/null || fail "restic forget of the WAL snapshots failed"`,
        'restic prune --quiet > /dev/null || fail "restic prune failed"',
        "",
    ].join("\n");
}

/** The WAL upload every 30 s and the nightly base backup: two oneshot services and their timers. */
export function renderPitrUnits(spec: Pick<PitrSpec, "environment" | "scope" | "dbContainer"> & { readonly walScriptPath: string; readonly baseScriptPath: string; readonly schedule: string }): Record<string, string> {
    const env = spec.environment;
    const user = spec.scope === "user" ? "--user " : "";
    const head = `# Installed by the Pulumi stack ${PROJECT}/${env}; pulumi up overwrites it.`;
    // restic 0.14-0.17 gives up at once on a repository another process locked (no --retry-lock before 0.16), and
    // forget --prune locks it exclusively: the nightly backup's off-host copy and the base backup prune. A start job of a
    // unit After= another waits while that one's start job (a oneshot's whole run) is under way (systemd.unit(5),
    // After=), so a WAL upload waits for both, the base backup for the nightly backup; no cycle, as neither orders
    // itself after the WAL upload. Also the weekly check and drill: restic check locks the repository exclusively too.
    const nightly = `${PROJECT}-backup-${env}.service`;
    const service = (description: string, script: string, after: string[], timeout: string) => [
        head,
        "[Unit]",
        `Description=${description}`,
        `After=${[unitName(spec.dbContainer), ...after].join(" ")}`,
        "",
        "[Service]",
        "Type=oneshot",
        "Environment=HOME=%h",
        `ExecStart=/bin/sh ${script}`,
        // A repository that stops answering must not hold the unit for ever: a WAL upload that hangs would hold back the next.
        `TimeoutStartSec=${timeout}`,
        "",
    ].join("\n");
    return {
        [`${walUnitName(env)}.service`]: service(`Rezept-Tagebuch ${env} WAL archive off the host`, spec.walScriptPath, [nightly, `${baseBackupUnitName(env)}.service`, `${drillUnitName(env)}.service`], "10min"),
        [`${walUnitName(env)}.timer`]: [
            head,
            `# Check: systemctl ${user}list-timers ${walUnitName(env)}.timer`,
            "[Unit]",
            `Description=Rezept-Tagebuch ${env} WAL archive off the host every ${WAL_UPLOAD_SECONDS} s`,
            "",
            "[Timer]",
            // Every 30 s from the last start, within a second (the default accuracy is a minute, systemd.timer(5)):
            // with archive_timeout 60 s the newest WAL off the host is at most about 90 s old.
            `OnActiveSec=${WAL_UPLOAD_SECONDS}s`,
            `OnUnitActiveSec=${WAL_UPLOAD_SECONDS}s`,
            "AccuracySec=1s",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ].join("\n"),
        [`${baseBackupUnitName(env)}.service`]: service(`Rezept-Tagebuch ${env} base backup for point-in-time recovery`, spec.baseScriptPath, [nightly], OFFSITE_TIMEOUT),
        [`${baseBackupUnitName(env)}.timer`]: renderCalendarTimer(spec, baseBackupUnitName(env), `Nightly base backup of Rezept-Tagebuch ${env}`, spec.schedule),
    };
}

/**
 * Runs in a throwaway container of the database image (as root, `--entrypoint sh`) with the target
 * data volume at PGDATA and the restored files at /restore: the base backup unpacked into the empty
 * data directory, the restored WAL in RESTORED_WAL_DIR, recovery.signal, and the recovery settings
 * in postgresql.auto.conf (PostgreSQL docs 25.3.5 and runtime-config-wal-archive-recovery).
 * PITR_TIME is empty for "as far as the WAL goes".
 */
const PREPARE_DATA = [
    "set -eu",
    `d=${PGDATA}`,
    'if [ -n "$(ls -A "$d")" ]; then echo "the data directory is not empty" >&2; exit 1; fi',
    'tar -x -f /restore/backup/base-*.tar -C "$d"',
    `mkdir -p ${RESTORED_WAL_DIR}`,
    // A copy that fails must fail the restore: PostgreSQL would replay what is there and promote, short of the end.
    `if [ -n "$(ls -A /restore/wal/wal-archive 2> /dev/null)" ]; then cp -p /restore/wal/wal-archive/* ${RESTORED_WAL_DIR}/; fi`,
    'rm -f "$d/postmaster.pid"',
    ': > "$d/recovery.signal"',
    `printf "%s\\n" "restore_command = 'cp ${RESTORED_WAL_DIR}/%f %p'" "recovery_target_action = 'promote'" >> "$d/postgresql.auto.conf"`,
    `if [ -n "$PITR_TIME" ]; then printf "%s\\n" "recovery_target_time = '$PITR_TIME'" >> "$d/postgresql.auto.conf"; fi`,
    'chown -R postgres:postgres "$d"',
    'chmod 700 "$d"',
].join("\n");

/**
 * The point-in-time restore of one environment, from the repository alone (what is left after the
 * host's disk is lost): the newest base backup (or --base), the newest WAL snapshot of its cluster,
 * recovery up to --time or as far as the WAL goes. By default into a scratch container without a
 * network, `<db>-pitr`, which it leaves running; with --into-stack into the stack's own database:
 * the app and the database stop (prod only with --yes-overwrite-prod), a running database is dumped
 * first with the backup script, the current data goes into a volume of its own and the live archive
 * is renamed in its volume (nothing is deleted), then the restored database starts under its unit.
 */
export function renderPitrScript(spec: PitrSpec & { readonly backupScript: string; readonly walUnit: string }): string {
    const env = spec.environment;
    const host = resticHost(env);
    const user = spec.scope === "user" ? "--user " : "";
    const db = quote([spec.dbContainer]);
    const scratch = `${spec.dbContainer}-pitr`;
    const dbUnit = unitName(spec.dbContainer);
    const appUnit = spec.appContainer && unitName(spec.appContainer);
    return [
        "#!/bin/sh",
        `# Point-in-time restore of the ${env} database (Pulumi stack ${PROJECT}/${env}). Generated: do not edit.`,
        `# Usage: sh $0 ${PITR_USAGE}`,
        // The shared shell's restic_creating (and its $restic_error) goes unused: a restore never creates a repository.
        "# shellcheck disable=SC2034",
        "set -eu",
        "umask 077",
        `usage() { echo "usage: sh $0 ${PITR_USAGE.replace(/'/g, "")}" >&2; exit 2; }`,
        `refuse() { echo "${PROJECT} pitr ${env}: $*" >&2; exit 2; }`,
        `target_time='' base=latest into_stack=no list=no${env === "prod" ? " confirmed=no" : ""}`,
        "while [ $# -gt 0 ]; do",
        '    case "$1" in',
        '        --time) [ $# -ge 2 ] || usage; target_time=$2; shift 2 ;;',
        '        --base) [ $# -ge 2 ] || usage; base=$2; shift 2 ;;',
        "        --into-stack) into_stack=yes; shift ;;",
        ...(env === "prod" ? ["        --yes-overwrite-prod) confirmed=yes; shift ;;"] : []),
        "        --list) list=yes; shift ;;",
        '        *) refuse "unknown argument $1; $(usage 2>&1)" ;;',
        "    esac",
        "done",
        // Checked before anything changes: the time as PostgreSQL reads a timestamptz, with its zone; a snapshot id.
        'case "$target_time" in',
        "    '') ;;",
        "    [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' '[0-2][0-9]:[0-5][0-9]:[0-5][0-9][+-][0-9][0-9]) ;;",
        "    [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' '[0-2][0-9]:[0-5][0-9]:[0-5][0-9][+-][0-9][0-9]:[0-9][0-9]) ;;",
        `    *) refuse "--time $target_time is not a time as YYYY-MM-DD HH:MM:SS+00 (UTC, or another zone's offset)" ;;`,
        "esac",
        'target_epoch=; if [ -n "$target_time" ]; then target_epoch=$(date -u -d "$target_time" +%s 2> /dev/null) || refuse "--time $target_time is not a date"; fi',
        'case "$base" in latest|[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) ;; *) refuse "--base $base is not a snapshot id (list them: sh $0 --list)" ;; esac',
        ...(env === "prod" ? ['[ "$into_stack" = no ] || [ "$confirmed" = yes ] || refuse "--into-stack overwrites the prod database; add --yes-overwrite-prod to confirm"'] : []),
        ...resticShell(spec, "pitr"),
        'if [ "$list" = yes ]; then',
        `    restic snapshots --host ${host} --tag base || fail "cannot list the base backups in $repository"`,
        `    say "restore one: sh $0 --base SNAPSHOT [--time 'YYYY-MM-DD HH:MM:SS+00']"`,
        "    exit 0",
        "fi",
        "started=$(date +%s)",
        'work=$(mktemp -d "$dir/.pitr.XXXXXX")',
        // restic restores the WAL files with their owner, postgres's uid in the container: for rootless Podman one of the
        // user's subordinate ids, which only the user namespace may read or delete (podman unshare; rootful needs none).
        'as_container_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else podman unshare "$@"; fi; }',
        `app_stopped=no timers_stopped=no db_stopped=no moved_aside=no recovered=no`,
        "on_exit() {",
        // Into the stack, a restore that failed once the database was stopped puts back what was there and starts it again.
        '    if [ "$db_stopped" = yes ] && [ "$recovered" = no ]; then',
        '        [ "$moved_aside" = no ] || put_back',
        `        systemctl ${user}start ${quote([dbUnit])} || true`,
        "    fi",
        // The WAL upload and base backup timers run again however the script ends, once the database is what it keeps.
        `    if [ "$timers_stopped" = yes ]; then systemctl ${user}start ${quote([`${spec.walUnit}.timer`])} ${quote([`${baseBackupUnitName(env)}.timer`])} || true; fi`,
        '    rm -rf "$work" 2> /dev/null || as_container_root rm -rf "$work"',
        ...(appUnit ? [`    if [ "$app_stopped" = yes ]; then systemctl ${user}start ${quote([appUnit])}; fi`] : []),
        "}",
        "trap on_exit EXIT",
        // dash (Debian's sh) runs no EXIT trap for a script a signal ends: Ctrl-C or a dropped SSH session must put back too.
        "trap 'exit 130' INT",
        "trap 'exit 143' TERM",
        "trap 'exit 129' HUP",
        // The data from before the restore back into the stack's volume (the failed restore's removed: the repository
        // still has it), the archive too (the failed one's renamed); the volume set aside stays as it is.
        "put_back() {",
        `    echo "${PROJECT} pitr ${env}: the restore failed; putting back the data from before it, from $aside" >&2`,
        `    systemctl ${user}stop ${quote([dbUnit])} || true`,
        `    podman stop --time 30 ${db} > /dev/null 2>&1 || true`,
        `    podman run --rm --network none --entrypoint sh --user root --volume "$volume:/to" --volume "$aside:/from:ro" --volume ${shellWord(`${spec.walVolume}:/wal`)} --env ASIDE="$aside" ${shellWord(spec.dbImage)} -c ` +
            quote(['set -eu; stamp=${ASIDE##*-}; find /to -mindepth 1 -delete; cp -a /from/data/. /to/; if [ -d "/wal/wal-archive.$stamp" ]; then if [ -d /wal/wal-archive ]; then mv /wal/wal-archive "/wal/wal-archive.failed-$stamp"; fi; mv "/wal/wal-archive.$stamp" /wal/wal-archive; fi']) +
            ` || echo "${PROJECT} pitr ${env}: cannot put it back; the data from before the restore is in the volume $aside" >&2`,
        "}",
        // Into $work/times, "<epoch> <id>" of each snapshot with these tags, oldest first (restic's JSON gives each
        // snapshot's "time" before its "short_id"). Not in a subshell: its fail must end the script.
        "snapshot_times() {",
        `    restic snapshots --json --host ${host} --tag "$1" > "$work/snapshots.json" || fail "cannot list the snapshots tagged $1 in $repository"`,
        `    grep -oE '"(time|short_id)":"[^"]*"' "$work/snapshots.json" | sed 's/^"[a-z_]*":"//; s/"$//' | paste -d " " - - |`,
        '        while read -r time id; do printf "%s %s\\n" "$(date -u -d "$time" +%s)" "$id"; done | sort -n > "$work/times"',
        "}",
        // A base backup restores to a time after it only (PostgreSQL cannot go back: a time before it would bring later rows
        // without an error): the newest finished by the time, or the one named, checked.
        'if [ -n "$target_time" ]; then snapshot_times base; fi',
        'if [ -n "$target_time" ] && [ "$base" = latest ]; then',
        `    base=$(awk -v t="$target_epoch" '$1 <= t { id = $2 } END { print id }' "$work/times")`,
        '    [ -n "$base" ] || fail "no base backup in $repository was finished by $target_time: it is older than point-in-time recovery reaches (sh $0 --list); restore a nightly dump instead"',
        'elif [ -n "$target_time" ]; then',
        `    base_at=$(awk -v id="$base" 'index($2, id) == 1 || index(id, $2) == 1 { print $1; exit }' "$work/times")`,
        '    [ -n "$base_at" ] || fail "no base backup $base in $repository (sh $0 --list)"',
        '    [ "$base_at" -le "$target_epoch" ] || fail "the base backup $base was finished after $target_time, and recovery cannot go back from it: choose an older one (sh $0 --list), or leave out --base"',
        "fi",
        `restic restore --quiet --host ${host} --tag base --target "/backup/\${work#"$dir"/}" "$base" >&2 || fail "cannot restore the base backup $base from $repository"`,
        'cluster=$(cat "$work"/backup/base-*.cluster 2> /dev/null | head -n 1)',
        '[ -n "$cluster" ] || fail "the base backup $base holds no base-*.cluster file"',
        'base_name=; for file in "$work"/backup/base-*.tar; do [ -f "$file" ] && base_name=${file##*/}; done',
        '[ -n "$base_name" ] || fail "the base backup $base holds no base-*.tar"',
        // Each WAL snapshot is the whole archive at its time, which keeps a base backup's segments until two base backups
        // later. To a time: the oldest snapshot made 5 minutes after it (the archive lags by up to archive_timeout and the
        // upload's period), which still holds the base backup's start; none yet, or to the end: the newest.
        "wal_snapshot=latest",
        'if [ -n "$target_time" ]; then',
        '    snapshot_times "wal,cluster-$cluster"',
        `    later=$(awk -v t="$((target_epoch + 300))" '$1 >= t { print $2; exit }' "$work/times")`,
        '    [ -z "$later" ] || wal_snapshot=$later',
        "fi",
        `restic restore --quiet --host ${host} --tag "wal,cluster-$cluster" --target "/backup/\${work#"$dir"/}" "$wal_snapshot" >&2 || fail "cannot restore the WAL of cluster $cluster from $repository"`,
        `start=$(${BACKUP_LABEL_START('"$work/backup/$base_name"')})`,
        '[ -n "$start" ] || fail "$base_name holds no backup_label with a START WAL LOCATION"',
        'as_container_root test -f "$work/wal/wal-archive/$start" || fail "the WAL snapshot $wal_snapshot of cluster $cluster no longer holds $start, where $base_name starts: choose a newer base backup (sh $0 --list), or restore a nightly dump"',
        'say "restoring $base_name of cluster $cluster from its segment $start with $(as_container_root find "$work/wal" -type f | wc -l | tr -d " ") archived WAL files${target_time:+ up to $target_time}"',
        "",
        'if [ "$into_stack" = yes ]; then',
        `    podman container exists ${db} || fail "${spec.dbContainer} does not exist; deploy the stack first: npm run stack -- up ${env}"`,
        `    volume=${shellWord(spec.dataVolume)}`,
        `    container=${db}`,
        ...(appUnit ? [`    systemctl ${user}stop ${quote([appUnit])}`, "    app_stopped=yes"] : []),
        `    if [ "$(podman inspect --format '{{.State.Running}}' ${db})" = true ]; then`,
        // Whatever the database holds now is kept as a dump before it is replaced.
        `        sh "$(dirname "$0")/${spec.backupScript}" || fail "the backup before the restore failed; nothing was changed"`,
        "    fi",
        // No WAL upload or base backup while the data is replaced, a running one stopped: a base backup would copy the
        // restore's own WAL folder, and its clean-up would go by the timeline before.
        "    timers_stopped=yes",
        `    systemctl ${user}stop ${quote([`${spec.walUnit}.timer`])} ${quote([`${spec.walUnit}.service`])} ${quote([`${baseBackupUnitName(env)}.timer`])} ${quote([`${baseBackupUnitName(env)}.service`])}`,
        "    db_stopped=yes",
        `    systemctl ${user}stop ${quote([dbUnit])}`,
        `    podman stop --time 30 ${db} > /dev/null 2>&1 || true`,
        // Nothing is deleted: the data goes into a volume of its own (not inside PGDATA, where every later base backup
        // would copy it), the archive is renamed inside the WAL volume.
        '    aside="${volume}-before-pitr-$(date -u +%Y%m%dT%H%M%SZ)"',
        '    podman volume create "$aside" > /dev/null',
        `    podman run --rm --network none --entrypoint sh --user root --volume "$volume:/from" --volume "$aside:/to" --volume ${shellWord(`${spec.walVolume}:/wal`)} --env ASIDE="$aside" ${shellWord(spec.dbImage)} -c ` +
            quote(['set -eu; mkdir -p /to/data; cp -a /from/. /to/data/; find /from -mindepth 1 -delete; if [ -d /wal/wal-archive ]; then mv /wal/wal-archive "/wal/wal-archive.${ASIDE##*-}"; fi']) +
            ' || fail "cannot move the current data aside into $aside"',
        "    moved_aside=yes",
        `    say "the data before the restore is in the volume $aside, the archive before it in ${spec.walVolume}:wal-archive.\${aside##*-}"`,
        "else",
        `    container=${quote([scratch])}`,
        `    volume=${shellWord(`${scratch}-data`)}`,
        `    podman rm --force --time 0 ${quote([scratch])} > /dev/null 2>&1 || true`,
        '    podman volume rm --force "$volume" > /dev/null 2>&1 || true',
        '    podman volume create "$volume" > /dev/null',
        "fi",
        `podman run --rm -i --network none --entrypoint sh --user root --volume "$volume:${PGDATA}" --volume "$work:/restore:ro" --env PITR_TIME="$target_time" ${shellWord(spec.dbImage)} -s <<'PREPARE' || fail "cannot unpack $base_name into $volume"`,
        PREPARE_DATA,
        "PREPARE",
        'if [ "$into_stack" = yes ]; then',
        `    systemctl ${user}start ${quote([dbUnit])} || fail "${spec.dbContainer} did not start; see: journalctl ${user}-u ${dbUnit}"`,
        "else",
        // Its password is random and never leaves this process's environment; the restored roles keep theirs.
        '    POSTGRES_PASSWORD=$(od -An -N 18 -tx1 /dev/urandom | tr -d " \\n")',
        "    export POSTGRES_PASSWORD",
        `    podman run --detach --name ${quote([scratch])} --network none --volume "$volume:${PGDATA}" --env POSTGRES_PASSWORD --env POSTGRES_USER=${quote([spec.dbUser])} --env POSTGRES_DB=${quote([spec.dbName])} ${shellWord(spec.dbImage)} > /dev/null \\`,
        '        || fail "cannot start the scratch database"',
        "    unset POSTGRES_PASSWORD",
        "fi",
        // Recovery ends with the promotion (recovery_target_action); until then the server answers "t" or not at all.
        "waited=0",
        // A server that gave up (a segment missing from the WAL, a target beyond it) exits: fail then, with its reason.
        `until [ "$(podman exec "$container" psql -X -A -t -q -U ${quote([spec.dbUser])} -d postgres -c 'SELECT pg_is_in_recovery()' 2> /dev/null)" = f ]; do`,
        '    waited=$((waited + 1)); [ "$waited" -le 1200 ] || fail "recovery did not finish in 600 s; see: podman logs --tail 50 $container"',
        `    if [ "$(podman inspect --format '{{.State.Running}}' "$container" 2> /dev/null)" != true ] && [ "$waited" -gt 4 ]; then`,
        `        fail "the restored server stopped during recovery: $(podman logs --tail 3 "$container" 2>&1 | tr '\\n' ' ')"`,
        "    fi",
        "    sleep 0.5",
        "done",
        "recovered=yes",
        `podman exec "$container" psql -X -q -v ON_ERROR_STOP=1 -U ${quote([spec.dbUser])} -d postgres -c 'ALTER SYSTEM RESET restore_command' -c 'ALTER SYSTEM RESET recovery_target_time' -c 'ALTER SYSTEM RESET recovery_target_action' -c 'SELECT pg_reload_conf()' > /dev/null \\`,
        '    || fail "cannot reset the recovery settings"',
        // The WAL it replayed goes into the live archive (never over a file there), so the chain from the old base backup stays whole.
        'if [ "$into_stack" = yes ]; then',
        `    podman exec --user postgres "$container" sh -c 'mkdir -p ${WAL_ARCHIVE} && for f in ${RESTORED_WAL_DIR}/*; do [ -f "$f" ] || continue; [ -e "${WAL_ARCHIVE}/\${f##*/}" ] || cp "$f" "${WAL_ARCHIVE}/\${f##*/}"; done; rm -rf ${RESTORED_WAL_DIR}'`,
        `    systemctl ${user}start ${quote([`${spec.walUnit}.timer`])} ${quote([`${baseBackupUnitName(env)}.timer`])}`,
        "else",
        `    podman exec --user postgres "$container" rm -rf ${RESTORED_WAL_DIR}`,
        "fi",
        "seconds=$(( $(date +%s) - started ))",
        `restored_to=$(podman exec "$container" psql -X -A -t -q -U ${quote([spec.dbUser])} -d postgres -c 'SELECT pg_last_xact_replay_timestamp()' 2> /dev/null || true)`,
        'say "restored $base_name${target_time:+ up to $target_time} in $seconds s (last replayed transaction: ${restored_to:-unknown}); rows per table:"',
        `podman exec -i "$container" psql -X -q -At -F " " -U ${quote([spec.dbUser])} -d ${quote([spec.dbName])} <<'SQL'`,
        ...LIVE_ROW_COUNTS_SQL,
        "SQL",
        'if [ "$into_stack" = no ]; then',
        `    say "the restore runs in $container (no network); look: podman exec -it $container psql -U ${spec.dbUser} -d ${spec.dbName}; remove it: podman rm -f $container && podman volume rm $volume"`,
        "else",
        `    say "take a base backup of the restored database: systemctl ${user}start ${baseBackupUnitName(env)}.service"`,
        "fi",
        "",
    ].join("\n");
}
