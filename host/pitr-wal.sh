#!/bin/sh
# Copies a stack database's WAL archive off the host for point-in-time recovery (installed as
# pitr-wal-<stack>.sh, run by a timer every 30 s; lib/pitr.ts): the archive folder (the WAL volume,
# read-only) into the repository as one snapshot, tagged wal and with its cluster. restic stores
# only what is new, so a run is a few new segments.
# Parameters:
#   environment           the stack: prod, dev or test
#   wal_volume            the stack's WAL volume, which holds the archive
#   wal_stamp             the last successful upload's start (at=<epoch>), in the backup folder: the health check ages it
: "${environment:?}" "${wal_volume:?}" "${wal_stamp:?}"
set -eu
umask 077
# Before anything is read: what was archived by now is in this snapshot once it succeeds.
started=$(date +%s)
what=wal
# shellcheck source=lib/restic.sh
. "$(dirname "$0")/lib/restic.sh"
# shellcheck source=lib/pitr.sh
. "$(dirname "$0")/lib/pitr.sh"
cluster=$(cluster_id)
# The archive directory exists before the first segment is archived, owned by postgres (archive_command writes there).
podman exec --user postgres "$db_container" mkdir -p "$wal_archive" 2> /dev/null || true
# Whether the archiver is failing now (its last failure after its last success): a full volume, or a segment of
# another cluster under the same name, which archive_command never overwrites. The WAL then stops at PostgreSQL
# while this upload would go on copying an archive that no longer grows; nothing running to ask: no verdict.
archiver_failing=$(podman exec -i "$db_container" sh -c 'exec psql -X -A -t -q -U "$POSTGRES_USER" -d postgres' 2> /dev/null <<'SQL'
SELECT last_failed_wal || ' at ' || last_failed_time FROM pg_stat_archiver WHERE last_failed_time > coalesce(last_archived_time, '-infinity')
SQL
) || archiver_failing=
restic_mount="$wal_volume:/wal:ro"
restic_creating backup --quiet --host "$restic_host" --tag wal --tag "cluster-$cluster" /wal/wal-archive || fail "the copy of the WAL archive to $repository failed: $restic_error"
[ -z "$archiver_failing" ] || fail "PostgreSQL cannot archive its WAL (pg_stat_archiver: $archiver_failing failed); what was archived is off the host, nothing after it: podman logs --tail 50 $db_container"
# A temporary file of its own: the base backup runs this script too, maybe beside the timer's run.
printf 'at=%s\n' "$started" > "$dir/$wal_stamp.$$" && mv -f "$dir/$wal_stamp.$$" "$dir/$wal_stamp"
