#!/bin/sh
# Backs up a stack's database, and its uploads where it has an app (lib/backup.ts): before a
# risky deploy (pulumi up runs it) and nightly from a timer (installed as backup-<stack>.sh).
# A backup is <stack>-<UTC time>-<outgoing app tag>.dump (pg_dump's custom format), with
# .uploads.tar beside it where the stack has an app, and .rows, the rows of each table the dump
# holds (what the restore drill checks against). Only the owner may read a backup: it holds every row.
# Parameters:
#   environment           the stack: prod, dev or test
#   db_container          its database container
#   db_unit               the database container's unit, named in a fix
#   app                   its app container, whose image tag names the backup; empty: no app
#   app_volume            the app's uploads volume; empty: no app
#   keep                  how many backups to keep at most; the newest good backup is never deleted
#   max_age_minutes       how old a backup may be before it is deleted (except the newest good one)
#   backup_dir            the stack's backup folder (backupDir, a folder per stack); a leading $HOME/ is the user's home
#   ready_seconds         how long a database that is still starting may take to accept connections
: "${environment:?}" "${db_container:?}" "${db_unit:?}" "${app?}" "${app_volume?}" "${keep:?}" "${max_age_minutes:?}" "${backup_dir:?}" "${ready_seconds:?}"
set -eu
umask 077
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
dir=$(at_home "$backup_dir")
say() { echo "rezept-tagebuch backup $environment: $*"; }
fail() { echo "rezept-tagebuch backup $environment: $*" >&2; rm -f "$dir"/*.partial "$dir"/*.unsorted; exit 1; }
if ! podman container exists "$db_container"; then
    say "nothing to back up: $db_container does not exist yet (a first deploy)"
    exit 0
fi
[ "$(podman inspect --format '{{.State.Running}}' "$db_container")" = true ] || fail "$db_container is not running, so it cannot be dumped; start it: systemctl ${user_opt}start $db_unit"
# A night missed while the host was off runs at boot (Persistent=true) once the database's unit has started, which is
# when `podman start` returned, not when PostgreSQL accepts connections: pg_dump would meet "the database system is
# starting up" (crash recovery after a power loss takes as long as its WAL). pg_isready over the local socket exits 0
# once the server accepts connections, 1 while it rejects them (starting up), 2 without an answer (pg_isready(1)).
waited=0
until podman exec "$db_container" pg_isready -q > /dev/null 2>&1; do
    [ "$waited" -lt "$ready_seconds" ] || fail "$db_container does not accept connections after $ready_seconds s; see: podman logs --tail 50 $db_container"
    [ "$(podman inspect --format '{{.State.Running}}' "$db_container")" = true ] || fail "$db_container stopped while it started; see: journalctl ${user_opt}-u $db_unit -n 50"
    sleep 1; waited=$((waited + 1))
done
[ "$waited" -eq 0 ] || say "$db_container accepts connections after $waited s"
if ! { mkdir -p "$dir" && chmod 700 "$dir"; }; then fail "cannot create $dir"; fi
# The tag of the image the app runs now: the one a deploy is about to leave.
tag=none
if [ -n "$app" ] && podman container exists "$app"; then
    image=$(podman inspect --format '{{.ImageName}}' "$app")
    tag=$(printf "%s" "${image##*[:@]}" | tr -c "A-Za-z0-9_.-" "_")
fi
base="$dir/$environment-$(date -u +%Y%m%dT%H%M%SZ)-$tag"
# pg_dump inside the container, as the image's superuser over the local socket: no password anywhere.
podman exec "$db_container" sh -c 'exec pg_dump --format=custom -U "$POSTGRES_USER" -d "$POSTGRES_DB"' > "$base.dump.partial" || fail "pg_dump in $db_container failed; see: podman logs --tail 50 $db_container"
[ -s "$base.dump.partial" ] || fail "pg_dump wrote nothing"
# The rows of each table as the dump holds them: what a restore drill checks a restore against. Read from
# the dump itself (its COPY blocks, a line per row in COPY's text format): what the database held at the
# dump's own snapshot, which a count taken beside pg_dump is not while the app writes. In the database
# container, whose image has pg_restore. --file=-: since PostgreSQL 12 pg_restore writes to stdout only when
# told (pg_restore.c: "one of -d/--dbname and -f/--file must be specified"). It fails unless pg_restore got
# to the end ("dump complete"), as a pipeline's status would not tell.
# shellcheck disable=SC2016 # awk's $0, not the shell's
row_counts='
    /^COPY / { table = $0; sub(/^COPY /, "", table); sub(/ [(].*$/, "", table); sub(/ FROM stdin;$/, "", table); rows = 0; next }
    table != "" && /^\\[.]$/ { print table, rows; table = ""; next }
    table != "" { rows++; next }
    /^-- PostgreSQL database dump complete/ { complete = 1 }
    END { exit complete ? 0 : 1 }'
podman exec -i "$db_container" sh -c "pg_restore --data-only --file=- | awk '$row_counts'" < "$base.dump.partial" > "$base.rows.unsorted" || fail "cannot read the row counts of the new dump"
LC_ALL=C sort "$base.rows.unsorted" > "$base.rows.partial" && rm -f "$base.rows.unsorted"
if [ -n "$app" ]; then
    podman volume export "$app_volume" > "$base.uploads.tar.partial" || fail "cannot export the uploads volume $app_volume"
    mv "$base.uploads.tar.partial" "$base.uploads.tar"
fi
# The dump last: a .dump file is a complete backup.
mv "$base.rows.partial" "$base.rows"
mv "$base.dump.partial" "$base.dump"
say "$base.dump ($(wc -c < "$base.dump") bytes)"
# Retention, newest first (the UTC time in the name sorts): beyond keep, or older than the maximum age,
# a backup goes with its uploads; the newest good backup never does.
backups() {
    for file in "$dir"/"$environment"-*.dump; do
        case "${file##*/}" in "$environment"-[0-9]*T[0-9]*Z-*.dump) echo "$file" ;; esac
    done
}
total=$(backups | wc -l)
rank=$((total + 1))
for file in $(backups); do
    rank=$((rank - 1))
    [ "$rank" -eq 1 ] && continue
    if [ "$rank" -gt "$keep" ] || [ -n "$(find "$file" -mmin +"$max_age_minutes")" ]; then
        rm -f "$file" "${file%.dump}.uploads.tar" "${file%.dump}.rows"
        say "deleted ${file##*/} (retention)"
    fi
done
