#!/bin/sh
# Stand-in for the official postgres image's entrypoint (no registry here): the
# same environment (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGPORT), the
# same data directory, initialised on first start only. Debian's PostgreSQL.
set -eu
# Its arguments as the official entrypoint takes them (docker-library/postgres docker-entrypoint.sh,
# _main): a first argument starting with "-" means `postgres` with those options; `postgres ARGS...`
# initialises on first start and runs the server with ARGS; anything else is run as it is.
case "${1:-postgres}" in
    -*) set -- postgres "$@" ;;
esac
if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
[ $# -eq 0 ] || shift
PGDATA=/var/lib/postgresql/data
BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    # pg_hba.conf as the official image leaves it (docker-library/postgres 6edb0a8, 16/alpine3.23/
    # docker-entrypoint.sh:92 runs initdb without --auth; pg_setup_hba_conf, :263-281, appends the one
    # line below, scram-sha-256 being PostgreSQL 14+'s password_encryption): initdb's defaults trust the
    # socket and 127.0.0.1/::1 (src/bin/initdb/initdb.c check_authmethod_unspecified: no --auth is
    # "trust", with a warning; pg_hba.conf.sample's local and loopback lines), so inside the container
    # any password passes there; only other addresses, such as the app's, are asked for one.
    as_postgres "$BIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" >/dev/null
    rm -f "$pwfile"
    printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    # As the official image does: a temporary server on the socket only, so
    # pg_isready on 127.0.0.1 does not report ready during initialisation.
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    as_postgres psql -q -v ON_ERROR_STOP=1 -h /run/postgresql -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
