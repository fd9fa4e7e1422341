#!/bin/sh
# Restores a stack from a named backup (installed as restore-<stack>.sh; lib/backup.ts): stops
# the app's unit, restores the database (and, with --uploads, the uploads volume), starts the
# app again and prints each table's row count. Refuses, before it changes anything: prod
# without --yes-overwrite-prod, and another stack's backup unless --copy-from-<that>-into-<this>
# names both.
# Usage: sh restore-<stack>.sh BACKUP.dump [--uploads] [--yes-overwrite-prod] [--copy-from-ENV-into-ENV] | --list
# Parameters:
#   environment           the stack: prod, dev or test
#   environments          the project's environments, space-separated: whose backups may be copied in
#   confirm               yes: a restore needs --yes-overwrite-prod (prod); no: it needs none
#   db_container          its database container
#   app                   its app container; empty: no app
#   app_unit              the app container's unit
#   app_volume            the app's uploads volume
#   backup_dir            the stack's backup folder (backupDir, a folder per stack); a leading $HOME/ is the user's home
: "${environment:?}" "${environments:?}" "${confirm:?}" "${db_container:?}" "${app?}" "${app_unit?}" "${app_volume?}" "${backup_dir:?}"
set -eu
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
dir=$(at_home "$backup_dir")
usage() { echo "usage: $0 BACKUP.dump [--uploads] [--yes-overwrite-prod] [--copy-from-ENV-into-ENV] | --list" >&2; exit 2; }
refuse() { echo "rezept-tagebuch restore $environment: $*" >&2; exit 2; }
[ $# -ge 1 ] || usage
# --list: every backup of this stack, oldest first, with its time, tag and size.
if [ "$1" = --list ]; then
    echo "UTC time          tag                              size  file"
    for file in "$dir"/*.dump; do
        [ -f "$file" ] || continue
        name=${file##*/}
        printf "%s  %-30s %6s  %s\n" "$(echo "$name" | cut -d- -f2)" "$(echo "${name%.dump}" | cut -d- -f3-)" "$(du -h "$file" | cut -f1)" "$name"
    done
    exit 0
fi
file=$1; shift
uploads=no confirmed=no copy_from=
for arg in "$@"; do
    case "$arg" in
        --uploads) uploads=yes ;;
        --yes-overwrite-prod) [ "$confirm" = yes ] || refuse "unknown argument $arg; $(usage 2>&1)"; confirmed=yes ;;
        --copy-from-*-into-*)
            copy_from=
            for other in $environments; do
                if [ "$other" != "$environment" ] && [ "$arg" = "--copy-from-$other-into-$environment" ]; then copy_from=$other; fi
            done
            [ -n "$copy_from" ] || refuse "unknown argument $arg; $(usage 2>&1)" ;;
        *) refuse "unknown argument $arg; $(usage 2>&1)" ;;
    esac
done
case "$file" in */*) ;; *) file="$dir/$file" ;; esac
[ -f "$file" ] || refuse "no backup $file; list them: ls -l $dir"
name=$(basename "$file")
from=$(printf "%s" "$name" | sed -n -E 's/^(prod|dev|test)-[0-9]{8}T[0-9]{6}Z-.*[.]dump$/\1/p')
[ -n "$from" ] || refuse "$name is not a backup file (<env>-<UTC time>-<tag>.dump)"
if [ "$from" != "$environment" ] && [ "$copy_from" != "$from" ]; then
    refuse "$name is a backup of $from, not of $environment; to copy $from data into $environment, add --copy-from-$from-into-$environment"
fi
[ "$confirm" = no ] || [ "$confirmed" = yes ] || refuse "this overwrites the prod database; add --yes-overwrite-prod to confirm"
[ -n "$app" ] || [ "$uploads" = no ] || refuse "$environment has no app, so no uploads to restore"
uploads_file="${file%.dump}.uploads.tar"
[ "$uploads" = no ] || [ -f "$uploads_file" ] || refuse "no uploads archive $uploads_file beside the backup"
if [ -n "$app" ]; then
    echo "rezept-tagebuch restore $environment: stopping the app"
    scope_systemctl stop "$app_unit"
    # Start the app again whatever happens from here.
    start_app() { scope_systemctl start "$app_unit"; }
    trap start_app EXIT
fi
podman exec -i "$db_container" sh -c 'exec pg_restore --clean --if-exists --no-owner --single-transaction -U "$POSTGRES_USER" -d "$POSTGRES_DB"' < "$file"
if [ -n "$app" ]; then [ "$uploads" = no ] || podman volume import "$app_volume" "$uploads_file"; fi
echo "rezept-tagebuch restore $environment: restored $name; rows per table:"
podman exec -i "$db_container" sh -c 'exec psql -X -q -At -F " " -U "$POSTGRES_USER" -d "$POSTGRES_DB"' <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \gexec
SQL
