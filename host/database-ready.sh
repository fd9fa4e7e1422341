#!/bin/sh
# Health gate and password of a database container: pulumi up runs it after it created the
# container (lib/readiness.ts), and fails the update unless the container gets healthy and
# has the configured password.
#
# The postgres image reads POSTGRES_PASSWORD only when it initialises an empty data directory,
# so an adopted volume or a changed dbPassword would leave the app with a password the database
# does not know. psql runs inside the container, over its local socket (trust in the postgres
# image), and takes the password from the container's own environment (`\getenv`, psql 15+): it
# is on no command line, in no script and in no log, and the session keeps the statement out of
# the server log even if it fails.
set -eu
# shellcheck source=lib/health-gate.sh
. "$(dirname "$0")/lib/health-gate.sh"
# As the image's superuser (POSTGRES_USER, read inside the container); a user the volume does not know fails to connect.
podman exec -i "$container" sh -c 'exec psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres' <<'SQL' || {
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
\getenv role POSTGRES_USER
\getenv configured_password POSTGRES_PASSWORD
ALTER ROLE :"role" PASSWORD :'configured_password';
SQL
    gate_failed "rezept-tagebuch: could not set the configured password in $container (is dbUser the user its volume was initialised with?); the app could not log in. Look: podman logs --tail 50 $container"
}
echo "rezept-tagebuch: $container has the configured password"
