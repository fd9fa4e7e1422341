#!/bin/sh
# Stand-in for the official postgres:16-alpine image's entrypoint (no registry here), Debian's PostgreSQL
# run as the real one runs its own. Each step names its original in docker-library/postgres 6edb0a8,
# 16/alpine3.23/docker-entrypoint.sh (the real one is bash; this is sh, run by BusyBox's sh in the image,
# e2e/host.ts postgresImageTar). Left out, as this project uses none of them: *_FILE variables,
# POSTGRES_INITDB_ARGS/WALDIR, POSTGRES_HOST_AUTH_METHOD, /docker-entrypoint-initdb.d, nss_wrapper for
# an arbitrary --user (docs/standins.md).
set -eu

# _main, :326-330: a first argument starting with "-" means `postgres` with those options.
case "${1:-}" in
    -*) set -- postgres "$@" ;;
esac
# _pg_want_help, :311-324: options after which postgres exits are run as they are, without initialising.
want_help() {
    for arg; do
        case "$arg" in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
    done
    return 1
}
# _main, :332 and :377: anything but `postgres ARGS...` (or help) is run as it is; nothing at all, nothing.
[ "$#" -gt 0 ] || exit 0
if [ "$1" != postgres ] || want_help "$@"; then exec "$@"; fi

# docker_setup_env, :234-240: the defaults (PGDATA is the image's ENV, e2e/host.ts importImages).
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"

if [ "$(id -u)" = 0 ]; then
    # docker_create_db_directories, :36-61: the data directory 0700, the socket directory 03775, and only the
    # owner (not the group) of whatever postgres does not own yet changed, by find (BusyBox's in the image).
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql || :
    chmod 03775 /var/run/postgresql || :
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    # _main, :336-339: the script again as postgres (gosu there; util-linux's setpriv here, by its path, as
    # BusyBox's applet of that name is first on PATH).
    exec /usr/bin/setpriv --reuid=postgres --regid=postgres --init-groups /bin/sh "$0" "$@"
fi

# Each argument single-quoted for a shell: pg_ctl -o hands its options to /bin/sh (the real one: printf '%q ').
quote() {
    for arg; do printf "'%s' " "$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")"; done
}

# docker_setup_env, :246: initialise only when PG_VERSION is missing.
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # docker_verify_minimum_env, :105-120.
    if [ -z "$POSTGRES_PASSWORD" ]; then
        echo "Error: Database is uninitialized and superuser password is not specified." >&2
        exit 1
    fi
    # docker_init_database_dir, :91-92: initdb without --auth (initdb's default trusts the socket and loopback;
    # src/bin/initdb/initdb.c), the password from a file ending in a newline.
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile"
    rm -f "$pwfile"
    shift # "postgres": what follows are the server's options, as in pg_setup_hba_conf and docker_temp_server_start
    # pg_setup_hba_conf, :263-281: every other address with the server's password_encryption (scram-sha-256 on
    # 14+), read with the container's options.
    auth=$(postgres -C password_encryption "$@")
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
    # docker_temp_server_start, :285-301: the container's own options, then no TCP listener and PGPORT, so
    # pg_isready on 127.0.0.1 does not report ready during initialisation; archive_command and the rest of
    # a container's -c options are in force on this server too.
    NOTIFY_SOCKET='' PGUSER="${PGUSER:-$POSTGRES_USER}" \
        pg_ctl -D "$PGDATA" -o "$(quote "$@" -c listen_addresses= -p "${PGPORT:-5432}")" -w start
    # docker_setup_db, :217-230: the database unless it exists (POSTGRES_DB=postgres).
    query() { PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname postgres --set db="$POSTGRES_DB" "$@"; }
    if [ -z "$(echo "SELECT 1 FROM pg_database WHERE datname = :'db' ;" | query --tuples-only)" ]; then
        echo "CREATE DATABASE :\"db\" ;" | query
    fi
    # docker_temp_server_stop, :304-307.
    PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
    set -- postgres "$@"
else
    echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi
# _main, :377.
exec "$@"
