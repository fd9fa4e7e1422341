#!/bin/sh
# Takes a base backup of a stack's database for point-in-time recovery (installed as
# pitr-base-<stack>.sh, run nightly by a timer; lib/pitr.ts): pg_basebackup as a tar on stdout
# (one tar: no tablespaces; -X none, its WAL is in the archive) into the backup folder, then into
# the repository with a file naming its cluster; then the local clean-up: only the newest base tar
# stays, the archive keeps the segments from the previous base backup's first one on (each base
# backup's first segment, from its backup_label, is recorded in .pitr-base-starts), and the
# repository forgets what is older than max_age_days, always keeping the newest base and WAL
# snapshot of each cluster.
# Parameters:
#   environment           the stack: prod, dev or test
#   max_age_days          for how many days base backups are kept, and a daily WAL snapshot
#   wal_script            the WAL upload's script, beside this one
: "${environment:?}" "${max_age_days:?}" "${wal_script:?}"
set -eu
umask 077
what="base backup"
# shellcheck source=lib/restic.sh
. "$(dirname "$0")/lib/restic.sh"
# shellcheck source=lib/pitr.sh
. "$(dirname "$0")/lib/pitr.sh"
[ "$(podman inspect --format '{{.State.Running}}' "$db_container" 2> /dev/null)" = true ] || fail "$db_container is not running; start it: systemctl ${user_opt}start $db_unit"
cluster=$(cluster_id)
podman exec --user postgres "$db_container" mkdir -p "$wal_archive"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
base="base-$stamp"
podman exec "$db_container" sh -c 'exec pg_basebackup -D - -F tar -X none --checkpoint=fast -U "$POSTGRES_USER"' > "$dir/$base.tar.partial" || { rm -f "$dir/$base.tar.partial"; fail "pg_basebackup in $db_container failed"; }
[ -s "$dir/$base.tar.partial" ] || fail "pg_basebackup wrote nothing"
mv "$dir/$base.tar.partial" "$dir/$base.tar"
# Its first WAL segment (backup_label's START WAL LOCATION): what a restore of it needs first.
start=$(base_start "$dir/$base.tar")
[ -n "$start" ] || fail "$base.tar holds no backup_label with a START WAL LOCATION"
printf "%s\n" "$cluster" > "$dir/$base.cluster"
restic_creating backup --quiet --host "$restic_host" --tag base --tag "cluster-$cluster" "/backup/$base.tar" "/backup/$base.cluster" || fail "the copy of $base.tar to $repository failed: $restic_error"
say "$base.tar ($(wc -c < "$dir/$base.tar") bytes) copied to $repository"
# At once the WAL it needs (pg_basebackup waited until its last segment and the .backup file were archived): a
# base backup newer than every WAL snapshot of its cluster cannot be restored (its start checkpoint is missing).
sh "$(dirname "$0")/$wal_script" || fail "the copy of the WAL archive after $base failed"
for file in "$dir"/base-*.tar "$dir"/base-*.cluster; do
    case "${file##*/}" in "$base".*) ;; *) rm -f "$file" ;; esac
done
# The archive keeps what the previous base backup of this cluster needs and everything after it, and what this one
# needs: the lower of the two first segments, compared without the timeline (its first 8 characters) as
# pg_archivecleanup compares. Not the archive's .backup files by name: they sort by timeline first, and after a
# restore into the stack an abandoned timeline's newer one would win, cleaning away the new base backup's start.
printf "%s %s\n" "$cluster" "$start" >> "$dir/.pitr-base-starts"
previous=$(awk -v c="$cluster" '$1 == c { previous = last; last = $2 } END { print previous }' "$dir/.pitr-base-starts")
if [ -n "$previous" ]; then
    keep_from=$(printf "%s\n%s\n" "$previous" "$start" | LC_ALL=C sort -k 1.9 | head -n 1)
    podman exec --user postgres "$db_container" pg_archivecleanup "$wal_archive" "$keep_from" || fail "pg_archivecleanup of $wal_archive failed"
    say "archive: removed the segments before $keep_from"
fi
# A gap in the archive (segments not kept for want of disk, lib/pitr.ts) ends with a base backup that starts after
# it: from this one on the WAL is whole again. Compared without the timeline, as above.
gap_last=$(podman exec "$db_container" tail -n 1 "$wal_gap_file" 2> /dev/null) || gap_last=
if [ -n "$gap_last" ] && [ "$(printf "%s\n%s\n" "$gap_last" "$start" | LC_ALL=C sort -k 1.9 | tail -n 1)" = "$start" ] && [ "$gap_last" != "$start" ]; then
    podman exec --user postgres "$db_container" rm -f "$wal_gap_file" || fail "cannot remove $wal_gap_file"
    say "archive: the gap up to $gap_last is closed by $base"
fi
# Per cluster (group by tags): the newest of each is kept whatever its age; WAL: one snapshot a day, which holds
# every segment from the base backup before it, so each kept base backup can be rolled forward.
restic forget --quiet --host "$restic_host" --tag base --group-by host,tags --keep-last 1 --keep-within "${max_age_days}d" > /dev/null || fail "restic forget of the base backups failed"
restic forget --quiet --host "$restic_host" --tag wal --group-by host,tags --keep-last 1 --keep-hourly 24 --keep-daily "$max_age_days" > /dev/null || fail "restic forget of the WAL snapshots failed"
restic prune --quiet > /dev/null || fail "restic prune failed"
