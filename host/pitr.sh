#!/bin/sh
# The point-in-time restore of a stack's database (installed as pitr-<stack>.sh; lib/pitr.ts),
# from the repository alone (what is left after the host's disk is lost): the newest base backup
# (or --base), the newest WAL snapshot of its cluster, recovery up to --time or as far as the WAL
# goes. By default into a scratch container without a network, which it leaves running; with
# --into-stack into the stack's own database: the app and the database stop (prod only with
# --yes-overwrite-prod), a running database is dumped first with the backup script, the current
# data goes into a volume of its own and the live archive is renamed in its volume (nothing is
# deleted), then the restored database starts under its unit.
# Usage: sh pitr-<stack>.sh [--time 'YYYY-MM-DD HH:MM:SS+00'] [--base SNAPSHOT] [--into-stack [--yes-overwrite-prod]] | --list
# Parameters:
#   environment           the stack: prod, dev or test
#   confirm               yes: --into-stack needs --yes-overwrite-prod (prod); no: it needs none
#   db_image              the database's image, which the restore runs
#   db_user               the database's user
#   db_name               the database
#   data_volume           the stack's data volume (PGDATA)
#   wal_volume            the stack's WAL volume (the archive)
#   pgdata                PGDATA of the database image, where the data volume is mounted
#   restored_wal_dir      where a restore puts the WAL it read, inside PGDATA (so restore_command never reads the live archive)
#   scratch               the scratch container a restore runs in by default
#   scratch_volume        its data volume
#   app                   the app container, stopped while its database is restored under it; empty: no app
#   app_unit              its unit
#   backup_script         the backup script's file, beside this one
#   wal_unit              the WAL upload's unit, without .service or .timer
#   base_unit             the base backup's unit, without .service or .timer
: "${environment:?}" "${confirm:?}" "${db_image:?}" "${db_user:?}" "${db_name:?}" "${data_volume:?}" "${wal_volume:?}" "${pgdata:?}" \
    "${restored_wal_dir:?}" "${scratch:?}" "${scratch_volume:?}" "${app?}" "${app_unit?}" "${backup_script:?}" "${wal_unit:?}" "${base_unit:?}"
set -eu
umask 077
usage() { echo "usage: sh $0 [--time YYYY-MM-DD HH:MM:SS+00] [--base SNAPSHOT] [--into-stack [--yes-overwrite-prod]] | --list" >&2; exit 2; }
refuse() { echo "rezept-tagebuch pitr $environment: $*" >&2; exit 2; }
target_time='' base=latest into_stack=no list=no confirmed=no
while [ $# -gt 0 ]; do
    case "$1" in
        --time) [ $# -ge 2 ] || usage; target_time=$2; shift 2 ;;
        --base) [ $# -ge 2 ] || usage; base=$2; shift 2 ;;
        --into-stack) into_stack=yes; shift ;;
        --yes-overwrite-prod) [ "$confirm" = yes ] || refuse "unknown argument $1; $(usage 2>&1)"; confirmed=yes; shift ;;
        --list) list=yes; shift ;;
        *) refuse "unknown argument $1; $(usage 2>&1)" ;;
    esac
done
# Checked before anything changes: the time as PostgreSQL reads a timestamptz, with its zone; a snapshot id.
case "$target_time" in
    '') ;;
    [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' '[0-2][0-9]:[0-5][0-9]:[0-5][0-9][+-][0-9][0-9]) ;;
    [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' '[0-2][0-9]:[0-5][0-9]:[0-5][0-9][+-][0-9][0-9]:[0-9][0-9]) ;;
    *) refuse "--time $target_time is not a time as YYYY-MM-DD HH:MM:SS+00 (UTC, or another zone's offset)" ;;
esac
target_epoch=; if [ -n "$target_time" ]; then target_epoch=$(date -u -d "$target_time" +%s 2> /dev/null) || refuse "--time $target_time is not a date"; fi
case "$base" in latest|[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) ;; *) refuse "--base $base is not a snapshot id (list them: sh $0 --list)" ;; esac
[ "$confirm" = no ] || [ "$into_stack" = no ] || [ "$confirmed" = yes ] || refuse "--into-stack overwrites the prod database; add --yes-overwrite-prod to confirm"
what=pitr
# shellcheck source=lib/restic.sh
. "$(dirname "$0")/lib/restic.sh"
# shellcheck source=lib/pitr.sh
. "$(dirname "$0")/lib/pitr.sh"
if [ "$list" = yes ]; then
    restic snapshots --host "$restic_host" --tag base || fail "cannot list the base backups in $repository"
    say "restore one: sh $0 --base SNAPSHOT [--time 'YYYY-MM-DD HH:MM:SS+00']"
    exit 0
fi
started=$(date +%s)
work=$(mktemp -d "$dir/.pitr.XXXXXX")
# restic restores the WAL files with their owner, postgres's uid in the container: for rootless Podman one of the
# user's subordinate ids, which only the user namespace may read or delete (podman unshare; rootful needs none).
as_container_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else podman unshare "$@"; fi; }
app_stopped=no timers_stopped=no db_stopped=no moved_aside=no recovered=no
on_exit() {
    # Into the stack, a restore that failed once the database was stopped puts back what was there and starts it again.
    if [ "$db_stopped" = yes ] && [ "$recovered" = no ]; then
        [ "$moved_aside" = no ] || put_back
        scope_systemctl start "$db_unit" || true
    fi
    # The WAL upload and base backup timers run again however the script ends, once the database is what it keeps.
    if [ "$timers_stopped" = yes ]; then scope_systemctl start "$wal_unit.timer" "$base_unit.timer" || true; fi
    rm -rf "$work" 2> /dev/null || as_container_root rm -rf "$work"
    if [ "$app_stopped" = yes ]; then scope_systemctl start "$app_unit"; fi
}
trap on_exit EXIT
# dash (Debian's sh) runs no EXIT trap for a script a signal ends: Ctrl-C or a dropped SSH session must put back too.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Folders are emptied with POSIX find (-prune, -exec +): the image's find is BusyBox's, and Debian's build of it, the
# e2e stand-in's, has no -delete (docs/standins.md).
# The data from before the restore back into the stack's volume (the failed restore's removed: the repository
# still has it), the archive too (the failed one's renamed); the volume set aside stays as it is.
put_back() {
    echo "rezept-tagebuch pitr $environment: the restore failed; putting back the data from before it, from $aside" >&2
    scope_systemctl stop "$db_unit" || true
    podman stop --time 30 "$db_container" > /dev/null 2>&1 || true
    podman run --rm --network none --entrypoint sh --user root --volume "$volume:/to" --volume "$aside:/from:ro" --volume "$wal_volume:/wal" --env ASIDE="$aside" "$db_image" -c \
        'set -eu; stamp=${ASIDE##*-}; find /to/. ! -name . -prune -exec rm -rf {} +; cp -a /from/data/. /to/; if [ -d "/wal/wal-archive.$stamp" ]; then if [ -d /wal/wal-archive ]; then mv /wal/wal-archive "/wal/wal-archive.failed-$stamp"; fi; mv "/wal/wal-archive.$stamp" /wal/wal-archive; fi' \
        || echo "rezept-tagebuch pitr $environment: cannot put it back; the data from before the restore is in the volume $aside" >&2
}
# Into $work/times, "<epoch> <id>" of each snapshot with these tags, oldest first (restic's JSON gives each
# snapshot's "time" before its "short_id"). Not in a subshell: its fail must end the script.
snapshot_times() {
    restic snapshots --json --host "$restic_host" --tag "$1" > "$work/snapshots.json" || fail "cannot list the snapshots tagged $1 in $repository"
    grep -oE '"(time|short_id)":"[^"]*"' "$work/snapshots.json" | sed 's/^"[a-z_]*":"//; s/"$//' | paste -d " " - - |
        while read -r time id; do printf "%s %s\n" "$(date -u -d "$time" +%s)" "$id"; done | sort -n > "$work/times"
}
# A base backup restores to a time after it only (PostgreSQL cannot go back: a time before it would bring later rows
# without an error): the newest finished by the time, or the one named, checked.
if [ -n "$target_time" ]; then snapshot_times base; fi
if [ -n "$target_time" ] && [ "$base" = latest ]; then
    base=$(awk -v t="$target_epoch" '$1 <= t { id = $2 } END { print id }' "$work/times")
    [ -n "$base" ] || fail "no base backup in $repository was finished by $target_time: it is older than point-in-time recovery reaches (sh $0 --list); restore a nightly dump instead"
elif [ -n "$target_time" ]; then
    base_at=$(awk -v id="$base" 'index($2, id) == 1 || index(id, $2) == 1 { print $1; exit }' "$work/times")
    [ -n "$base_at" ] || fail "no base backup $base in $repository (sh $0 --list)"
    [ "$base_at" -le "$target_epoch" ] || fail "the base backup $base was finished after $target_time, and recovery cannot go back from it: choose an older one (sh $0 --list), or leave out --base"
fi
restic restore --quiet --host "$restic_host" --tag base --target "/backup/${work#"$dir"/}" "$base" >&2 || fail "cannot restore the base backup $base from $repository"
cluster=$(cat "$work"/backup/base-*.cluster 2> /dev/null | head -n 1)
[ -n "$cluster" ] || fail "the base backup $base holds no base-*.cluster file"
base_name=; for file in "$work"/backup/base-*.tar; do [ -f "$file" ] && base_name=${file##*/}; done
[ -n "$base_name" ] || fail "the base backup $base holds no base-*.tar"
# Each WAL snapshot is the whole archive at its time, which keeps a base backup's segments until two base backups
# later. To a time: the oldest snapshot made 5 minutes after it (the archive lags by up to archive_timeout and the
# upload's period), which still holds the base backup's start; none yet, or to the end: the newest.
wal_snapshot=latest
if [ -n "$target_time" ]; then
    snapshot_times "wal,cluster-$cluster"
    later=$(awk -v t="$((target_epoch + 300))" '$1 >= t { print $2; exit }' "$work/times")
    [ -z "$later" ] || wal_snapshot=$later
fi
restic restore --quiet --host "$restic_host" --tag "wal,cluster-$cluster" --target "/backup/${work#"$dir"/}" "$wal_snapshot" >&2 || fail "cannot restore the WAL of cluster $cluster from $repository"
start=$(base_start "$work/backup/$base_name")
[ -n "$start" ] || fail "$base_name holds no backup_label with a START WAL LOCATION"
as_container_root test -f "$work/wal/wal-archive/$start" || fail "the WAL snapshot $wal_snapshot of cluster $cluster no longer holds $start, where $base_name starts: choose a newer base backup (sh $0 --list), or restore a nightly dump"
say "restoring $base_name of cluster $cluster from its segment $start with $(as_container_root find "$work/wal" -type f | wc -l | tr -d " ") archived WAL files${target_time:+ up to $target_time}"

if [ "$into_stack" = yes ]; then
    podman container exists "$db_container" || fail "$db_container does not exist; deploy the stack first: npm run stack -- up $environment"
    volume=$data_volume
    container=$db_container
    if [ -n "$app" ]; then
        scope_systemctl stop "$app_unit"
        app_stopped=yes
    fi
    if [ "$(podman inspect --format '{{.State.Running}}' "$db_container")" = true ]; then
        # Whatever the database holds now is kept as a dump before it is replaced.
        sh "$(dirname "$0")/$backup_script" || fail "the backup before the restore failed; nothing was changed"
    fi
    # No WAL upload or base backup while the data is replaced, a running one stopped: a base backup would copy the
    # restore's own WAL folder, and its clean-up would go by the timeline before.
    timers_stopped=yes
    scope_systemctl stop "$wal_unit.timer" "$wal_unit.service" "$base_unit.timer" "$base_unit.service"
    db_stopped=yes
    scope_systemctl stop "$db_unit"
    podman stop --time 30 "$db_container" > /dev/null 2>&1 || true
    # Nothing is deleted: the data goes into a volume of its own (not inside PGDATA, where every later base backup
    # would copy it), the archive is renamed inside the WAL volume.
    aside="${volume}-before-pitr-$(date -u +%Y%m%dT%H%M%SZ)"
    podman volume create "$aside" > /dev/null
    podman run --rm --network none --entrypoint sh --user root --volume "$volume:/from" --volume "$aside:/to" --volume "$wal_volume:/wal" --env ASIDE="$aside" "$db_image" -c \
        'set -eu; mkdir -p /to/data; cp -a /from/. /to/data/; find /from/. ! -name . -prune -exec rm -rf {} +; if [ -d /wal/wal-archive ]; then mv /wal/wal-archive "/wal/wal-archive.${ASIDE##*-}"; fi' \
        || fail "cannot move the current data aside into $aside"
    moved_aside=yes
    say "the data before the restore is in the volume $aside, the archive before it in $wal_volume:wal-archive.${aside##*-}"
else
    container=$scratch
    volume=$scratch_volume
    podman rm --force --time 0 "$scratch" > /dev/null 2>&1 || true
    podman volume rm --force "$volume" > /dev/null 2>&1 || true
    podman volume create "$volume" > /dev/null
fi
# In a throwaway container of the database image (as root) with the target data volume at PGDATA and the restored
# files at /restore: the base backup unpacked into the empty data directory, the restored WAL beside it, recovery.signal,
# and the recovery settings in postgresql.auto.conf (PostgreSQL docs 25.3.5 and runtime-config-wal-archive-recovery).
# PITR_TIME is empty for "as far as the WAL goes". The paths are the image's: pgdata and restored_wal_dir above.
podman run --rm -i --network none --entrypoint sh --user root --volume "$volume:$pgdata" --volume "$work:/restore:ro" --env PITR_TIME="$target_time" "$db_image" -s <<'PREPARE' || fail "cannot unpack $base_name into $volume"
set -eu
d=/var/lib/postgresql/data
if [ -n "$(ls -A "$d")" ]; then echo "the data directory is not empty" >&2; exit 1; fi
tar -x -f /restore/backup/base-*.tar -C "$d"
mkdir -p /var/lib/postgresql/data/pitr-wal
if [ -n "$(ls -A /restore/wal/wal-archive 2> /dev/null)" ]; then cp -p /restore/wal/wal-archive/* /var/lib/postgresql/data/pitr-wal/; fi
rm -f "$d/postmaster.pid"
: > "$d/recovery.signal"
printf "%s\n" "restore_command = 'cp /var/lib/postgresql/data/pitr-wal/%f %p'" "recovery_target_action = 'promote'" >> "$d/postgresql.auto.conf"
if [ -n "$PITR_TIME" ]; then printf "%s\n" "recovery_target_time = '$PITR_TIME'" >> "$d/postgresql.auto.conf"; fi
chown -R postgres:postgres "$d"
chmod 700 "$d"
PREPARE
if [ "$into_stack" = yes ]; then
    scope_systemctl start "$db_unit" || fail "$db_container did not start; see: journalctl ${user_opt}-u $db_unit"
else
    # Its password is random and never leaves this process's environment; the restored roles keep theirs.
    POSTGRES_PASSWORD=$(od -An -N 18 -tx1 /dev/urandom | tr -d " \n")
    export POSTGRES_PASSWORD
    podman run --detach --name "$scratch" --network none --volume "$volume:$pgdata" --env POSTGRES_PASSWORD --env POSTGRES_USER="$db_user" --env POSTGRES_DB="$db_name" "$db_image" > /dev/null \
        || fail "cannot start the scratch database"
    unset POSTGRES_PASSWORD
fi
# Recovery ends with the promotion (recovery_target_action); until then the server answers "t" or not at all.
waited=0
# A server that gave up (a segment missing from the WAL, a target beyond it) exits: fail then, with its reason.
until [ "$(podman exec "$container" psql -X -A -t -q -U "$db_user" -d postgres -c 'SELECT pg_is_in_recovery()' 2> /dev/null)" = f ]; do
    waited=$((waited + 1)); [ "$waited" -le 1200 ] || fail "recovery did not finish in 600 s; see: podman logs --tail 50 $container"
    if [ "$(podman inspect --format '{{.State.Running}}' "$container" 2> /dev/null)" != true ] && [ "$waited" -gt 4 ]; then
        fail "the restored server stopped during recovery: $(podman logs --tail 3 "$container" 2>&1 | tr '\n' ' ')"
    fi
    sleep 0.5
done
recovered=yes
podman exec "$container" psql -X -q -v ON_ERROR_STOP=1 -U "$db_user" -d postgres -c 'ALTER SYSTEM RESET restore_command' -c 'ALTER SYSTEM RESET recovery_target_time' -c 'ALTER SYSTEM RESET recovery_target_action' -c 'SELECT pg_reload_conf()' > /dev/null \
    || fail "cannot reset the recovery settings"
# The WAL it replayed goes into the live archive (never over a file there), so the chain from the old base backup stays whole.
if [ "$into_stack" = yes ]; then
    podman exec --user postgres "$container" sh -c 'mkdir -p "$1" && for f in "$2"/*; do [ -f "$f" ] || continue; [ -e "$1/${f##*/}" ] || cp "$f" "$1/${f##*/}"; done; rm -rf "$2"' sh "$wal_archive" "$restored_wal_dir"
    scope_systemctl start "$wal_unit.timer" "$base_unit.timer"
else
    podman exec --user postgres "$container" rm -rf "$restored_wal_dir"
fi
seconds=$(( $(date +%s) - started ))
restored_to=$(podman exec "$container" psql -X -A -t -q -U "$db_user" -d postgres -c 'SELECT pg_last_xact_replay_timestamp()' 2> /dev/null || true)
say "restored $base_name${target_time:+ up to $target_time} in $seconds s (last replayed transaction: ${restored_to:-unknown}); rows per table:"
# Row counts per table, named as pg_dump names them in COPY (quote_ident), sorted (LIVE_ROW_COUNTS_SQL in lib/offsite.ts).
podman exec -i "$container" psql -X -q -At -F " " -U "$db_user" -d "$db_name" <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', quote_ident(schemaname) || '.' || quote_ident(tablename), schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \gexec
SQL
if [ "$into_stack" = no ]; then
    say "the restore runs in $container (no network); look: podman exec -it $container psql -U $db_user -d $db_name; remove it: podman rm -f $container && podman volume rm $volume"
else
    say "take a base backup of the restored database: systemctl ${user_opt}start $base_unit.service"
fi
