#!/bin/sh
# Off-host copies of a stack's backups with restic (installed as offsite-<stack>.sh; lib/offsite.ts):
#   upload           the newest local backup (dump, uploads, row counts) into the repository, then
#                    retention (forget --prune) of this stack's dump snapshots; run after the nightly backup
#   check            restic check --read-data-subset of a tenth of the data, another tenth each week
#   list             this stack's snapshots
#   fetch [SNAPSHOT] a backup from the repository back into the local backup folder, where the
#                    restore script takes it; prints the dump's file name
#   drill            restores the newest off-host dump into a throwaway database container and
#                    compares its row counts with the dump's; records the result and the time it took (RTO)
# A failure exits non-zero, so its unit fails and the health check alerts.
# Usage: sh offsite-<stack>.sh upload | check | list | fetch [SNAPSHOT] | drill
# Parameters:
#   environment           the stack: prod, dev or test
#   keep                  how many dump snapshots to keep at least
#   max_age_days          for how many days every dump snapshot is kept
#   backup_script         the backup script's file, beside this one
#   restore_script        the restore script's file, beside this one
#   confirm               yes: a restore needs --yes-overwrite-prod (prod); no: it needs none
#   drill_result          the drill's last result, in the backup folder: key=value lines the health check reads
#   scratch               the drill's throwaway database container
#   db_image              the database's image, which the drill runs a throwaway copy of
#   upload_stamp          the last successful upload's time (at=<epoch>), in the backup folder: the health check ages it
: "${environment:?}" "${keep:?}" "${max_age_days:?}" "${backup_script:?}" "${restore_script:?}" "${confirm:?}" "${drill_result:?}" "${scratch:?}" "${db_image:?}" "${upload_stamp:?}"
set -eu
umask 077
what=offsite
# shellcheck source=lib/restic.sh
. "$(dirname "$0")/lib/restic.sh"
newest_backup() {
    newest=
    for file in "$dir"/"$environment"-*.dump; do
        case "${file##*/}" in "$environment"-[0-9]*T[0-9]*Z-*.dump) newest=$file ;; esac
    done
    printf "%s" "$newest"
}

upload() {
    file=$(newest_backup)
    [ -n "$file" ] || fail "no backup in $dir to copy; make one: sh $(dirname "$0")/$backup_script"
    name=${file##*/}; base=${name%.dump}
    set -- "/backup/$name"
    [ -f "$dir/$base.uploads.tar" ] && set -- "$@" "/backup/$base.uploads.tar"
    [ -f "$dir/$base.rows" ] && set -- "$@" "/backup/$base.rows"
    restic_creating backup --quiet --host "$restic_host" --tag dump "$@" || fail "the copy of $name to $repository failed: $restic_error"
    say "copied $name to $repository"
    printf 'at=%s\n' "$(date +%s)" > "$dir/.$upload_stamp.$$" && mv -f "$dir/.$upload_stamp.$$" "$dir/$upload_stamp"
    # Retention as the local backups have it: at least keep, and everything of the last max_age_days days.
    # --group-by host,tags: restic's default groups by host and paths (cmd_forget.go), and each night's file names differ,
    # so every snapshot would be a group of its own and none ever forgotten. `unlock` first: it removes only stale locks
    # (a run killed mid-way leaves its own, which restic never skips).
    restic unlock > /dev/null 2>&1 || true
    restic forget --quiet --host "$restic_host" --tag dump --group-by host,tags --keep-last "$keep" --keep-within "${max_age_days}d" --prune > /dev/null || fail "restic forget --prune failed"
}

check() {
    # Week of the year: over ten weeks every pack is read back once.
    part=$(( $(date -u +%V | sed "s/^0//") % 10 + 1 ))
    restic check --read-data-subset="$part/10" || fail "restic check of $repository found a problem"
    say "checked $repository (data part $part/10)"
}

# fetch_into DIR [SNAPSHOT]: the dump snapshot into DIR (inside the backup directory); prints the dump's path.
fetch_into() {
    # Its output to stderr: restic 0.17 prints a summary even with --quiet (internal/ui/restore/text.go), and stdout is the path.
    restic restore --quiet --host "$restic_host" --tag dump --target "/backup/${1#"$dir"/}" "${2:-latest}" >&2 || fail "cannot restore snapshot ${2:-latest} from $repository"
    for file in "$1"/backup/*.dump; do [ -f "$file" ] && printf "%s" "$file" && return 0; done
    fail "snapshot ${2:-latest} holds no dump"
}

fetch() {
    work=$(mktemp -d "$dir/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    file=$(fetch_into "$work" "${1:-}")
    name=${file##*/}
    for part in "$work"/backup/*; do mv -f "$part" "$dir/"; done
    if [ "$confirm" = yes ]; then confirm_flag=" --yes-overwrite-prod"; else confirm_flag=""; fi
    say "fetched $name into $dir; restore it: sh $(dirname "$0")/$restore_script $name --uploads$confirm_flag"
}

record() {
    printf '%s\n' "$@" > "$dir/.$drill_result.tmp" && mv -f "$dir/.$drill_result.tmp" "$dir/$drill_result"
}
drill_fail() {
    record result=failed "at=$(date +%s)" "reason=$*"
    fail "restore drill: $*"
}
drill() {
    started=$(date +%s)
    work=$(mktemp -d "$dir/.drill.XXXXXX")
    trap 'podman rm --force --volumes --time 0 "$scratch" > /dev/null 2>&1; rm -rf "$work"' EXIT
    file=$(fetch_into "$work") || drill_fail "cannot fetch the newest backup from $repository"
    name=${file##*/}
    [ -f "${file%.dump}.rows" ] || drill_fail "$name has no row counts beside it (a backup made before restore drills)"
    podman rm --force --volumes --time 0 "$scratch" > /dev/null 2>&1 || true
    # A throwaway database without a network: its password is random, and never leaves this process's environment.
    POSTGRES_PASSWORD=$(od -An -N 18 -tx1 /dev/urandom | tr -d " \n")
    export POSTGRES_PASSWORD
    podman run --detach --name "$scratch" --network none --env POSTGRES_PASSWORD --env POSTGRES_USER=postgres --env POSTGRES_DB=drill "$db_image" > /dev/null \
        || drill_fail "cannot start a scratch database from $db_image"
    unset POSTGRES_PASSWORD
    # 127.0.0.1, not the socket: the image's entrypoint runs a socket-only server while it initialises.
    waited=0
    until podman exec "$scratch" pg_isready -q -h 127.0.0.1 -U postgres; do
        waited=$((waited + 1)); [ "$waited" -le 240 ] || drill_fail "the scratch database did not start in 120 s"
        sleep 0.5
    done
    # As restore-<stack>.sh restores: a dump that restores there restores here.
    podman exec -i "$scratch" pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction -U postgres -d drill < "$file" \
        || drill_fail "pg_restore of $name failed"
    # Row counts per table, named as pg_dump names them in COPY (quote_ident), sorted (LIVE_ROW_COUNTS_SQL in lib/offsite.ts).
    podman exec -i "$scratch" psql -X -q -At -F " " -v ON_ERROR_STOP=1 -U postgres -d drill > "$work/restored.rows" <<'SQL' || drill_fail "cannot count the restored rows"
SELECT format('SELECT %L, count(*) FROM %I.%I', quote_ident(schemaname) || '.' || quote_ident(tablename), schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \gexec
SQL
    LC_ALL=C sort -o "$work/restored.rows" "$work/restored.rows"
    if ! diff "${file%.dump}.rows" "$work/restored.rows" > "$work/diff"; then
        drill_fail "the restored rows differ from $name's: $(grep '^[<>]' "$work/diff" | head -n 5 | tr '\n' ';')"
    fi
    seconds=$(( $(date +%s) - started ))
    tables=$(wc -l < "$work/restored.rows" | tr -d " ")
    rows=$(awk '{ n += $2 } END { print n + 0 }' "$work/restored.rows")
    record result=passed "at=$(date +%s)" "rto_seconds=$seconds" "backup=$name" "tables=$tables" "rows=$rows"
    say "restore drill passed: $name restored in $seconds s, $tables tables, $rows rows as in the backup"
}

case "${1:-}" in
    upload) upload ;;
    check) check ;;
    list) restic snapshots --host "$restic_host" ;;
    fetch) fetch "${2:-}" ;;
    drill) drill ;;
    *) echo "usage: sh $0 upload | check | list | fetch [SNAPSHOT] | drill" >&2; exit 2 ;;
esac
