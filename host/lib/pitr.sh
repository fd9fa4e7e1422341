# shellcheck shell=sh
# What the point-in-time recovery scripts share (lib/pitr.ts): the database's cluster and a base
# backup's first WAL segment.
#   cluster_id      the database's system identifier (pg_control_system(), PostgreSQL 9.6+): which
#                   cluster a base backup and a WAL archive belong to. Each snapshot is tagged with
#                   its cluster (cluster-<id>): after a disk loss the fresh database a deploy makes
#                   archives segments of the same names (timeline 1 from the start) into the same
#                   repository, and a restore must take the WAL of the base backup's own cluster.
#                   Recorded while the database runs, so the archive's last segments still go
#                   off the host while it is stopped.
#   base_start TAR  the first WAL segment of the base backup TAR: its backup_label's
#                   START WAL LOCATION: 0/2000028 (file 000000010000000000000002) (written by
#                   pg_basebackup as the tar's first member; --occurrence=1: GNU tar stops there
#                   instead of reading the whole database)
# Parameters:
#   db_container          the stack's database container
#   db_unit               its unit
#   wal_archive           the WAL archive folder inside the database container (in the WAL volume)
#   wal_gap_file          the segments archive_command did not keep for want of disk, inside the database container
: "${db_container:?}" "${db_unit:?}" "${wal_archive:?}" "${wal_gap_file:?}" "${dir:?}" "${user_opt?}"
cluster_id() {
    cluster_file="$dir/.pitr-cluster"
    if id=$(podman exec "$db_container" sh -c 'exec psql -X -A -t -q -U "$POSTGRES_USER" -d postgres -c "SELECT system_identifier FROM pg_control_system()"' 2> /dev/null) && [ -n "$id" ]; then
        printf "%s\n" "$id" > "$cluster_file"
    elif [ -s "$cluster_file" ]; then
        id=$(cat "$cluster_file")
    else
        fail "cannot read the system identifier of $db_container, and none is recorded in $cluster_file; start it: systemctl ${user_opt}start $db_unit"
    fi
    printf "%s" "$id"
}
base_start() {
    tar -xOf "$1" --occurrence=1 backup_label 2> /dev/null | sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]\{24\}\))$/\1/p'
}
