import { quote } from "shell-quote";
import { EnvironmentName, ENVIRONMENTS, PROJECT, unitName } from "./environments";
import { DUMP_ROW_COUNTS, OFFSITE_TIMEOUT } from "./offsite";
import { renderCalendarTimer, SystemdScope } from "./systemd";

/** What one environment backs up, where to, and how many it keeps. */
export interface BackupSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    readonly dbContainer: string;
    /** The app, whose image tag names the backup, and its uploads volume; absent where there is no app. */
    readonly app?: { readonly container: string; readonly volume: string };
    /** The directory of this environment's backups on the host; `$HOME` is expanded there. */
    readonly directory: string;
    /** How many backups to keep at most, and how old one may be; the newest good backup is never deleted. */
    readonly keep: number;
    readonly maxAgeDays: number;
}

/** Where backups go unless backupDir says otherwise: under the container user's home, outside anything a stack owns. */
export function defaultBackupDirectory(environment: EnvironmentName): string {
    return `$HOME/${PROJECT}-backups/${environment}`;
}

/**
 * A backup is `<env>-<UTC time>-<outgoing app tag>.dump` (pg_dump's custom format),
 * with `.uploads.tar` beside it where the environment has an app, and `.rows`, the rows of
 * each table the dump holds (what the restore drill checks against). The UTC time
 * sorts as text, so the newest is last.
 */
export const BACKUP_FILE = /^(prod|dev|test)-(\d{8}T\d{6}Z)-([A-Za-z0-9_.-]+)\.dump$/;

/** The script that backs one environment up: before a risky deploy, and nightly from a timer. */
export function renderBackupScript(spec: BackupSpec): string {
    const env = spec.environment;
    const db = quote([spec.dbContainer]);
    return [
        "#!/bin/sh",
        `# Backs up the ${env} database${spec.app ? " and uploads" : ""} (Pulumi stack ${PROJECT}/${env}). Generated: do not edit.`,
        "set -eu",
        // Only the owner may read a backup: it holds every row.
        "umask 077",
        `dir="${spec.directory}"`,
        `say() { echo "${PROJECT} backup ${env}: $*"; }`,
        'fail() { echo "' + PROJECT + ` backup ${env}: $*" >&2; rm -f "$dir"/*.partial "$dir"/*.unsorted; exit 1; }`,
        `if ! podman container exists ${db}; then`,
        `    say "nothing to back up: ${spec.dbContainer} does not exist yet (a first deploy)"`,
        "    exit 0",
        "fi",
        `[ "$(podman inspect --format '{{.State.Running}}' ${db})" = true ] || fail "${spec.dbContainer} is not running, so it cannot be dumped; start it: systemctl ${spec.scope === "user" ? "--user " : ""}start ${unitName(spec.dbContainer)}"`,
        `if ! { mkdir -p "$dir" && chmod 700 "$dir"; }; then fail "cannot create $dir"; fi`,
        // The tag of the image the app runs now: the one a deploy is about to leave.
        "tag=none",
        ...(spec.app ? [
            `if podman container exists ${quote([spec.app.container])}; then`,
            `    image=$(podman inspect --format '{{.ImageName}}' ${quote([spec.app.container])})`,
            '    tag=$(printf "%s" "${image##*[:@]}" | tr -c "A-Za-z0-9_.-" "_")',
            "fi",
        ] : []),
        `base="$dir/${env}-$(date -u +%Y%m%dT%H%M%SZ)-$tag"`,
        // pg_dump inside the container, as the image's superuser over the local socket: no password anywhere.
        `podman exec ${db} sh -c 'exec pg_dump --format=custom -U "$POSTGRES_USER" -d "$POSTGRES_DB"' > "$base.dump.partial" || fail "pg_dump in ${spec.dbContainer} failed; see: podman logs --tail 50 ${spec.dbContainer}"`,
        '[ -s "$base.dump.partial" ] || fail "pg_dump wrote nothing"',
        // The rows of each table as the dump holds them: what a restore drill checks a restore against.
        `podman exec -i ${db} sh -c ${quote([DUMP_ROW_COUNTS])} < "$base.dump.partial" > "$base.rows.unsorted" || fail "cannot read the row counts of the new dump"`,
        'LC_ALL=C sort "$base.rows.unsorted" > "$base.rows.partial" && rm -f "$base.rows.unsorted"',
        ...(spec.app ? [
            `podman volume export ${quote([spec.app.volume])} > "$base.uploads.tar.partial" || fail "cannot export the uploads volume ${spec.app.volume}"`,
            'mv "$base.uploads.tar.partial" "$base.uploads.tar"',
        ] : []),
        // The dump last: a .dump file is a complete backup.
        'mv "$base.rows.partial" "$base.rows"',
        'mv "$base.dump.partial" "$base.dump"',
        'say "$base.dump ($(wc -c < "$base.dump") bytes)"',
        // Retention, newest first (the UTC time in the name sorts): beyond `keep`, or older than the maximum age,
        // a backup goes with its uploads; the newest good backup never does.
        "backups() {",
        `    for file in "$dir"/${env}-*.dump; do`,
        `        case "\${file##*/}" in ${env}-[0-9]*T[0-9]*Z-*.dump) echo "$file" ;; esac`,
        "    done",
        "}",
        "total=$(backups | wc -l)",
        "rank=$((total + 1))",
        "for file in $(backups); do",
        "    rank=$((rank - 1))",
        '    [ "$rank" -eq 1 ] && continue',
        `    if [ "$rank" -gt ${spec.keep} ] || [ -n "$(find "$file" -mmin +${spec.maxAgeDays * 1440})" ]; then`,
        '        rm -f "$file" "${file%.dump}.uploads.tar" "${file%.dump}.rows"',
        '        say "deleted ${file##*/} (retention)"',
        "    fi",
        "done",
        "",
    ].join("\n");
}

/** Restore's command line, as the README shows it. */
export const RESTORE_USAGE = "restore BACKUP.dump [--uploads] [--yes-overwrite-prod] [--copy-from-ENV-into-ENV] | --list";

/**
 * The script that restores one environment from a named backup: stops the app's
 * unit, restores the database (and, with --uploads, the uploads volume), starts the
 * app again and prints each table's row count. Refuses, before it changes anything:
 * prod without --yes-overwrite-prod, and another environment's backup unless
 * --copy-from-<that>-into-<this> names both.
 */
export function renderRestoreScript(spec: BackupSpec): string {
    const env = spec.environment;
    const user = spec.scope === "user" ? "--user " : "";
    const db = quote([spec.dbContainer]);
    const others = ENVIRONMENTS.filter((other) => other !== env);
    return [
        "#!/bin/sh",
        `# Restores the ${env} environment from a backup (Pulumi stack ${PROJECT}/${env}). Generated: do not edit.`,
        "set -eu",
        `usage() { echo "usage: $0 ${RESTORE_USAGE.replace(/^restore /, "")}" >&2; exit 2; }`,
        `refuse() { echo "${PROJECT} restore ${env}: $*" >&2; exit 2; }`,
        '[ $# -ge 1 ] || usage',
        // --list: every backup of this environment, oldest first, with its time, tag and size.
        'if [ "$1" = --list ]; then',
        `    echo "UTC time          tag                              size  file"`,
        `    for file in "${spec.directory}"/*.dump; do`,
        '        [ -f "$file" ] || continue',
        '        name=${file##*/}',
        `        printf "%s  %-30s %6s  %s\n" "$(echo "$name" | cut -d- -f2)" "$(echo "\${name%.dump}" | cut -d- -f3-)" "$(du -h "$file" | cut -f1)" "$name"`,
        "    done",
        "    exit 0",
        "fi",
        'file=$1; shift',
        `uploads=no${env === "prod" ? " confirmed=no" : ""} copy_from=`,
        "for arg in \"$@\"; do",
        '    case "$arg" in',
        "        --uploads) uploads=yes ;;",
        ...(env === "prod" ? ["        --yes-overwrite-prod) confirmed=yes ;;"] : []),
        ...others.map((other) => `        --copy-from-${other}-into-${env}) copy_from='${other}' ;;`),
        '        *) refuse "unknown argument $arg; $(usage 2>&1)" ;;',
        "    esac",
        "done",
        `case "$file" in */*) ;; *) file="${spec.directory}/$file" ;; esac`,
        '[ -f "$file" ] || refuse "no backup $file; list them: ls -l ' + spec.directory + '"',
        'name=$(basename "$file")',
        `from=$(printf "%s" "$name" | sed -n -E 's/^(prod|dev|test)-[0-9]{8}T[0-9]{6}Z-.*[.]dump$/\\1/p')`,
        '[ -n "$from" ] || refuse "$name is not a backup file (<env>-<UTC time>-<tag>.dump)"',
        `if [ "$from" != ${env} ] && [ "$copy_from" != "$from" ]; then`,
        `    refuse "$name is a backup of $from, not of ${env}; to copy $from data into ${env}, add --copy-from-$from-into-${env}"`,
        "fi",
        ...(env === "prod" ? ['[ "$confirmed" = yes ] || refuse "this overwrites the prod database; add --yes-overwrite-prod to confirm"'] : []),
        ...(spec.app ? [] : ['[ "$uploads" = no ] || refuse "' + env + ' has no app, so no uploads to restore"']),
        'uploads_file="${file%.dump}.uploads.tar"',
        '[ "$uploads" = no ] || [ -f "$uploads_file" ] || refuse "no uploads archive $uploads_file beside the backup"',
        ...(spec.app ? [
            `echo "${PROJECT} restore ${env}: stopping the app"`,
            `systemctl ${user}stop ${quote([unitName(spec.app.container)])}`,
            // Start the app again whatever happens from here.
            `trap 'systemctl ${user}start ${quote([unitName(spec.app.container)])}' EXIT`,
        ] : []),
        `podman exec -i ${db} sh -c 'exec pg_restore --clean --if-exists --no-owner --single-transaction -U "$POSTGRES_USER" -d "$POSTGRES_DB"' < "$file"`,
        ...(spec.app ? [`[ "$uploads" = no ] || podman volume import ${quote([spec.app.volume])} "$uploads_file"`] : []),
        `echo "${PROJECT} restore ${env}: restored $name; rows per table:"`,
        `podman exec -i ${db} sh -c 'exec psql -X -q -At -F " " -U "$POSTGRES_USER" -d "$POSTGRES_DB"' <<'SQL'`,
        "SELECT format('SELECT %L, count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename)",
        "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec",
        "SQL",
        "",
    ].join("\n");
}

/** The nightly backup: a oneshot service and its timer; Persistent=true catches up a night the host was off. */
export function renderBackupUnits(spec: BackupSpec & { readonly scriptPath: string; readonly schedule: string; readonly offsiteScriptPath?: string }): Record<string, string> {
    const name = `${PROJECT}-backup-${spec.environment}`;
    return {
        [`${name}.service`]: [
            `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
            "[Unit]",
            `Description=Rezept-Tagebuch ${spec.environment} backup (database${spec.app ? " and uploads" : ""}${spec.offsiteScriptPath ? ", then off the host" : ""})`,
            `After=${unitName(spec.dbContainer)}`,
            "",
            "[Service]",
            "Type=oneshot",
            // The script keeps its backups under $HOME, which a system unit does not set.
            "Environment=HOME=%h",
            `ExecStart=/bin/sh ${spec.scriptPath}`,
            // Then off the host: a failed copy fails this unit, which the health check reports.
            ...(spec.offsiteScriptPath ? [`ExecStart=/bin/sh ${spec.offsiteScriptPath} upload`] : []),
            // A oneshot has no start timeout by default: a copy hung on a silent network would hold the unit (and
            // every later night) forever, with no failure to alert on.
            ...(spec.offsiteScriptPath ? [`TimeoutStartSec=${OFFSITE_TIMEOUT}`] : []),
            "",
        ].join("\n"),
        [`${name}.timer`]: renderCalendarTimer(spec, name, `Nightly backup of Rezept-Tagebuch ${spec.environment}`, spec.schedule),
    };
}
