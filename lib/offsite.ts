import { EnvironmentName, PROJECT, unitName } from "./environments";
import { renderCalendarTimer, shellWord, SystemdScope } from "./systemd";

/**
 * Off-host copies of one environment's backups with restic, run from its official image
 * (`restic/restic`, whose ENTRYPOINT is restic itself), so the host needs nothing but Podman.
 * The repository's password is a Pulumi secret that reaches the host on a command's stdin
 * into a 0600 file (components/backups.ts); restic reads it from that file, mounted into its
 * container (RESTIC_PASSWORD_FILE): never a command line, a unit, a script or a log.
 */
export interface OffsiteSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    /** The restic repository: `sftp:user@host:/path`, `rest:https://host/path` or a path on another disk. */
    readonly repository: string;
    /** The pinned restic image. */
    readonly image: string;
    /** The local backup directory (`$HOME` expanded on the host), whose newest backup goes off-host. */
    readonly directory: string;
    /** How many snapshots to keep at least, and for how many days every snapshot is kept (restic forget's --keep-last and --keep-within). */
    readonly keep: number;
    readonly maxAgeDays: number;
    /** The database, whose image the restore drill runs a throwaway copy of. */
    readonly dbContainer: string;
    readonly dbImage: string;
}

/** Where the repository's password lives on the host (0600), beside the health check's webhook file. */
export function offsiteSecretDirectory(scope: SystemdScope): string {
    return scope === "user" ? `\${XDG_CONFIG_HOME:-$HOME/.config}/${PROJECT}` : `/etc/${PROJECT}`;
}
export const offsitePasswordFile = (env: EnvironmentName) => `offsite-${env}.password`;
/** The drill's last result, in the backup directory: `key=value` lines the health check reads. */
export const DRILL_RESULT_FILE = "restore-drill.last";
/** restic's host name for a stack's snapshots: each stack selects, restores and forgets its own only. */
export const resticHost = (env: EnvironmentName) => `${PROJECT}-${env}`;
export const offsiteScriptFile = (env: EnvironmentName) => `offsite-${env}.sh`;

/** How the off-host script is used, as the README shows it. */
export const OFFSITE_USAGE = "upload | check | list | fetch [SNAPSHOT] | drill";

/** Row counts per table of a running database, named as pg_dump names them in COPY (quote_ident), sorted. */
export const LIVE_ROW_COUNTS_SQL = [
    "SELECT format('SELECT %L, count(*) FROM %I.%I', quote_ident(schemaname) || '.' || quote_ident(tablename), schemaname, tablename)",
    "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec",
];

/**
 * The shell every script that talks to the repository starts with: where things are, `say` and
 * `fail` under `what`'s name, `restic ARGS` (restic in its container: the backup directory at
 * /backup, its cache at /cache, the password file read-only, the user's SSH key and known_hosts
 * for an sftp: repository, a repository on another disk at its own path, and `$restic_mount`, a
 * further `SOURCE:DEST[:ro]` volume, where a caller sets one; tried again while the repository is
 * locked by another run), and `restic_creating ARGS`, which makes a
 * repository that does not exist yet first (each restic run is a container start: no separate
 * look whether it exists).
 */
export function resticShell(spec: Pick<OffsiteSpec, "environment" | "scope" | "repository" | "image" | "directory">, what: string): string[] {
    const env = spec.environment;
    return [
        `dir="${spec.directory}"`,
        `password_file="${offsiteSecretDirectory(spec.scope)}/${offsitePasswordFile(env)}"`,
        // Made once the repository answered: from then on a missing repository is a fault, never made anew.
        `created_file="${offsiteSecretDirectory(spec.scope)}/offsite-${env}.created"`,
        `repository=${shellWord(spec.repository)}`,
        `say() { echo "${PROJECT} ${what} ${env}: $*"; }`,
        `fail() { echo "${PROJECT} ${what} ${env}: $*" >&2; exit 1; }`,
        '[ -f "$password_file" ] || fail "no repository password at $password_file; install it: npm run stack -- up ' + env + '"',
        // restic's cache (index and snapshot files, encrypted): without it every run reads every index file of the
        // repository, and a WAL upload every 30 s adds one, so each upload of a day would take longer than the last.
        `cache_dir="\${XDG_CACHE_HOME:-$HOME/.cache}/${PROJECT}/restic-${env}"`,
        'mkdir -p "$dir" "$cache_dir" && chmod 700 "$dir"',
        "restic_once() {",
        `    set -- ${shellWord(spec.image)} --cache-dir=/cache --repo "$repository" "$@"`,
        // A path on another disk is made only before the first success (podman needs a volume's source to exist).
        '    case $repository in /*) { [ -f "$created_file" ] || mkdir -p "$repository"; } && set -- --volume "$repository:$repository" "$@" ;; esac',
        '    if [ -d "$HOME/.ssh" ]; then set -- --volume "$HOME/.ssh:/root/.ssh:ro" "$@"; fi',
        '    if [ -n "${restic_mount:-}" ]; then set -- --volume "$restic_mount" "$@"; fi',
        '    podman run --rm -i --volume "$dir:/backup" --volume "$cache_dir:/cache" --volume "$password_file:/run/secrets/restic-password:ro" \\',
        '        --env RESTIC_PASSWORD_FILE=/run/secrets/restic-password "$@"',
        "}",
        // restic ARGS, again 5 s after each try, 60 tries (with each try's two container starts about 10 minutes) while
        // another run holds the repository's lock: restic takes it
        // once and gives up (cmd/restic/lock.go at v0.14.0; --retry-lock only from 0.16), and with a WAL upload every 30 s
        // an exclusive lock (forget, prune, check) would often meet one. `unlock` between tries removes only stale locks
        // (older than 30 minutes: a run killed by its unit's timeout, internal/restic/lock.go).
        "restic() {",
        '    restic_lock_err=$(mktemp "$dir/.restic-lock.XXXXXX")',
        "    restic_tries=0",
        "    while :; do",
        "        restic_status=0",
        '        restic_once "$@" 2> "$restic_lock_err" || restic_status=$?',
        '        if [ "$restic_status" -eq 0 ] || [ "$restic_tries" -ge 60 ] || ! grep -q "repository is already locked" "$restic_lock_err"; then break; fi',
        "        restic_tries=$((restic_tries + 1))",
        "        restic_once unlock > /dev/null 2>&1 || true",
        "        sleep 5",
        "    done",
        '    cat "$restic_lock_err" >&2; rm -f "$restic_lock_err"',
        '    return "$restic_status"',
        "}",
        // restic ARGS, the repository made first where it does not exist yet (restic: "Is there a repository at the
        // following location?"); on any other error (unreachable, wrong password) restic's last lines are in $restic_error.
        // Its error file is its own: the WAL upload and the nightly copy run side by side in one backup directory.
        "restic_creating() {",
        '    restic_err=$(mktemp "$dir/.restic-err.XXXXXX")',
        '    if restic "$@" 2> "$restic_err"; then rm -f "$restic_err"; touch "$created_file"; return 0; fi',
        // Only before the first success: restic says this for any failed look at its config, also of a disk that is not
        // mounted (cmd/restic/global.go open()), and a repository made there would keep the copies on this host.
        '    if [ ! -f "$created_file" ] && grep -q "Is there a repository at the following location" "$restic_err"; then',
        '        restic init > /dev/null 2> "$restic_err" && say "created the repository $repository" && touch "$created_file" && restic "$@" 2> "$restic_err" && rm -f "$restic_err" && return 0',
        "    fi",
        `    restic_error=$(tail -n 3 "$restic_err" | tr '\\n' ' '); rm -f "$restic_err"`,
        "    return 1",
        "}",
    ];
}

/**
 * The script of one environment's off-host copies:
 * - `upload`: the newest local backup (dump, uploads, row counts) into the repository, then
 *   retention (`forget --prune`) of this stack's dump snapshots; run after the nightly backup.
 * - `check`: `restic check --read-data-subset` of a tenth of the data, another tenth each week.
 * - `list`: this stack's snapshots.
 * - `fetch [SNAPSHOT]`: a backup from the repository back into the local backup directory,
 *   where the restore script takes it; prints the dump's file name.
 * - `drill`: restores the newest off-host dump into a throwaway database container and
 *   compares its row counts with the dump's; records the result and the time it took (RTO).
 * A failure exits non-zero, so its unit fails and the health check alerts.
 */
export function renderOffsiteScript(spec: OffsiteSpec): string {
    const env = spec.environment;
    const host = resticHost(env);
    const scratch = `${spec.dbContainer}-restore-drill`;
    return [
        "#!/bin/sh",
        `# Off-host copies of the ${env} backups with restic (Pulumi stack ${PROJECT}/${env}). Generated: do not edit.`,
        `# Usage: sh $0 ${OFFSITE_USAGE}`,
        "set -eu",
        "umask 077",
        ...resticShell(spec, "offsite"),
        "newest_backup() {",
        "    newest=",
        `    for file in "$dir"/${env}-*.dump; do`,
        `        case "\${file##*/}" in ${env}-[0-9]*T[0-9]*Z-*.dump) newest=$file ;; esac`,
        "    done",
        '    printf "%s" "$newest"',
        "}",
        "",
        "upload() {",
        '    file=$(newest_backup)',
        '    [ -n "$file" ] || fail "no backup in $dir to copy; make one: sh ' + `$(dirname "$0")/backup-${env}.sh"`,
        '    name=${file##*/}; base=${name%.dump}',
        '    set -- "/backup/$name"',
        '    [ -f "$dir/$base.uploads.tar" ] && set -- "$@" "/backup/$base.uploads.tar"',
        '    [ -f "$dir/$base.rows" ] && set -- "$@" "/backup/$base.rows"',
        `    restic_creating backup --quiet --host ${host} --tag dump "$@" || fail "the copy of $name to $repository failed: $restic_error"`,
        '    say "copied $name to $repository"',
        // Retention as the local backups have it: at least `keep`, and everything of the last `maxAgeDays` days.
        // --group-by host,tags: restic's default groups by host and paths (cmd_forget.go), and each night's file names differ,
        // so every snapshot would be a group of its own and none ever forgotten. `unlock` first: it removes only stale locks
        // (a run killed mid-way leaves its own, which restic never skips).
        '    restic unlock > /dev/null 2>&1 || true',
        `    restic forget --quiet --host ${host} --tag dump --group-by host,tags --keep-last ${spec.keep} --keep-within ${spec.maxAgeDays}d --prune > /dev/null || fail "restic forget --prune failed"`,
        "}",
        "",
        "check() {",
        // Week of the year: over ten weeks every pack is read back once.
        '    part=$(( $(date -u +%V | sed "s/^0//") % 10 + 1 ))',
        '    restic check --read-data-subset="$part/10" || fail "restic check of $repository found a problem"',
        '    say "checked $repository (data part $part/10)"',
        "}",
        "",
        "# fetch_into DIR [SNAPSHOT]: the dump snapshot into DIR (inside the backup directory); prints the dump's path.",
        "fetch_into() {",
        // Its output to stderr: restic 0.17 prints a summary even with --quiet (internal/ui/restore/text.go), and stdout is the path.
        `    restic restore --quiet --host ${host} --tag dump --target "/backup/\${1#"$dir"/}" "\${2:-latest}" >&2 || fail "cannot restore snapshot \${2:-latest} from $repository"`,
        '    for file in "$1"/backup/*.dump; do [ -f "$file" ] && printf "%s" "$file" && return 0; done',
        '    fail "snapshot ${2:-latest} holds no dump"',
        "}",
        "",
        "fetch() {",
        '    work=$(mktemp -d "$dir/.fetch.XXXXXX")',
        "    trap 'rm -rf \"$work\"' EXIT",
        '    file=$(fetch_into "$work" "${1:-}")',
        '    name=${file##*/}',
        '    for part in "$work"/backup/*; do mv -f "$part" "$dir/"; done',
        '    say "fetched $name into $dir; restore it: sh $(dirname "$0")/restore-' + env + '.sh $name --uploads' + (env === "prod" ? " --yes-overwrite-prod" : "") + '"',
        "}",
        "",
        "record() {",
        `    printf '%s\\n' "$@" > "$dir/.${DRILL_RESULT_FILE}.tmp" && mv -f "$dir/.${DRILL_RESULT_FILE}.tmp" "$dir/${DRILL_RESULT_FILE}"`,
        "}",
        "drill_fail() {",
        '    record result=failed "at=$(date +%s)" "reason=$*"',
        '    fail "restore drill: $*"',
        "}",
        "drill() {",
        "    started=$(date +%s)",
        `    scratch=${shellWord(scratch)}`,
        '    work=$(mktemp -d "$dir/.drill.XXXXXX")',
        `    trap 'podman rm --force --volumes --time 0 "$scratch" > /dev/null 2>&1; rm -rf "$work"' EXIT`,
        '    file=$(fetch_into "$work") || drill_fail "cannot fetch the newest backup from $repository"',
        '    name=${file##*/}',
        '    [ -f "${file%.dump}.rows" ] || drill_fail "$name has no row counts beside it (a backup made before restore drills)"',
        `    podman rm --force --volumes --time 0 "$scratch" > /dev/null 2>&1 || true`,
        // A throwaway database without a network: its password is random, and never leaves this process's environment.
        '    POSTGRES_PASSWORD=$(od -An -N 18 -tx1 /dev/urandom | tr -d " \\n")',
        "    export POSTGRES_PASSWORD",
        `    podman run --detach --name "$scratch" --network none --env POSTGRES_PASSWORD --env POSTGRES_USER=postgres --env POSTGRES_DB=drill ${shellWord(spec.dbImage)} > /dev/null \\`,
        `        || drill_fail "cannot start a scratch database from ${spec.dbImage}"`,
        "    unset POSTGRES_PASSWORD",
        // 127.0.0.1, not the socket: the image's entrypoint runs a socket-only server while it initialises.
        "    waited=0",
        `    until podman exec "$scratch" pg_isready -q -h 127.0.0.1 -U postgres; do`,
        '        waited=$((waited + 1)); [ "$waited" -le 240 ] || drill_fail "the scratch database did not start in 120 s"',
        "        sleep 0.5",
        "    done",
        // As restore-<env>.sh restores: a dump that restores there restores here.
        `    podman exec -i "$scratch" pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction -U postgres -d drill < "$file" \\`,
        '        || drill_fail "pg_restore of $name failed"',
        `    podman exec -i "$scratch" psql -X -q -At -F " " -v ON_ERROR_STOP=1 -U postgres -d drill > "$work/restored.rows" <<'SQL' || drill_fail "cannot count the restored rows"`,
        ...LIVE_ROW_COUNTS_SQL,
        "SQL",
        '    LC_ALL=C sort -o "$work/restored.rows" "$work/restored.rows"',
        '    if ! diff "${file%.dump}.rows" "$work/restored.rows" > "$work/diff"; then',
        `        drill_fail "the restored rows differ from $name's: $(grep '^[<>]' "$work/diff" | head -n 5 | tr '\\n' ';')"`,
        "    fi",
        "    seconds=$(( $(date +%s) - started ))",
        '    tables=$(wc -l < "$work/restored.rows" | tr -d " ")',
        `    rows=$(awk '{ n += $2 } END { print n + 0 }' "$work/restored.rows")`,
        '    record result=passed "at=$(date +%s)" "rto_seconds=$seconds" "backup=$name" "tables=$tables" "rows=$rows"',
        '    say "restore drill passed: $name restored in $seconds s, $tables tables, $rows rows as in the backup"',
        "}",
        "",
        'case "${1:-}" in',
        "    upload) upload ;;",
        "    check) check ;;",
        `    list) restic snapshots --host ${host} ;;`,
        '    fetch) fetch "${2:-}" ;;',
        "    drill) drill ;;",
        `    *) echo "usage: sh $0 ${OFFSITE_USAGE}" >&2; exit 2 ;;`,
        "esac",
        "",
    ].join("\n");
}

/** The weekly check of the repository and restore drill: a oneshot service and its timer. */
export function renderDrillUnits(spec: Pick<OffsiteSpec, "environment" | "scope"> & { readonly scriptPath: string; readonly schedule: string; readonly dbContainer: string }): Record<string, string> {
    const name = drillUnitName(spec.environment);
    return {
        [`${name}.service`]: [
            `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
            "[Unit]",
            `Description=Rezept-Tagebuch ${spec.environment} off-host check and restore drill`,
            // restic check locks the repository exclusively, and restic gives up at once on a lock: not while the nightly copy runs.
            `After=${unitName(spec.dbContainer)} ${PROJECT}-backup-${spec.environment}.service`,
            "",
            "[Service]",
            "Type=oneshot",
            "Environment=HOME=%h",
            `ExecStart=/bin/sh ${spec.scriptPath} check`,
            `ExecStart=/bin/sh ${spec.scriptPath} drill`,
            `TimeoutStartSec=${OFFSITE_TIMEOUT}`,
            "",
        ].join("\n"),
        [`${name}.timer`]: renderCalendarTimer(spec, name, `Weekly off-host check and restore drill of Rezept-Tagebuch ${spec.environment}`, spec.schedule),
    };
}

/** How long a unit that talks to the repository may run before systemd stops it and it counts as failed (a hung connection). */
export const OFFSITE_TIMEOUT = "6h";

export const drillUnitName = (env: EnvironmentName) => `${PROJECT}-restore-drill-${env}`;

/**
 * Writes the repository's password from stdin into its 0600 file (the install), or removes
 * it (the stack's removal); nothing of it on a command line or in the script.
 */
export function renderOffsitePasswordInstall(spec: Pick<OffsiteSpec, "environment" | "scope">): string {
    const file = `"$secret_dir"/${offsitePasswordFile(spec.environment)}`;
    return [
        "#!/bin/sh",
        "set -eu",
        "umask 077",
        `secret_dir="${offsiteSecretDirectory(spec.scope)}"`,
        'mkdir -p "$secret_dir"',
        `cat > ${file}.tmp`,
        `[ -s ${file}.tmp ] || { rm -f ${file}.tmp; echo "${PROJECT}: the offsite password reached the host empty" >&2; exit 1; }`,
        `chmod 600 ${file}.tmp && mv -f ${file}.tmp ${file}`,
        "",
    ].join("\n");
}

export function renderOffsitePasswordRemove(spec: Pick<OffsiteSpec, "environment" | "scope">): string {
    return `rm -f "${offsiteSecretDirectory(spec.scope)}"/${offsitePasswordFile(spec.environment)}\n`;
}
