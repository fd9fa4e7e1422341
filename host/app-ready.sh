#!/bin/sh
# Health gate of an app container: pulumi up runs it after it created the container
# (lib/readiness.ts), and fails the update unless the container gets healthy. Only then does
# the new container join the reverse proxy's network under its name, and the standby copy that
# answered there while the deploy replaced the app (host/standby.sh) stops, once the proxy can
# have looked the name up again (lib/switchover.ts). Idempotent.
# Parameters:
#   network               the reverse proxy's network; empty: the gate only
#   standby               the standby copy's container
#   proxy_cache_seconds   how long the proxy may keep an address it looked up
set -eu
# shellcheck source=lib/health-gate.sh
. "$(dirname "$0")/lib/health-gate.sh"
[ -n "$network" ] || exit 0
: "${standby:?}" "${proxy_cache_seconds:?}"
on_network() { podman inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$1" | tr ' ' '\n' | grep -qxF "$network"; }
if ! on_network "$container"; then podman network connect "$network" "$container"; fi
echo "rezept-tagebuch: $container answers on $network"
if podman container exists "$standby"; then
    sleep "$proxy_cache_seconds"
    podman rm --force --time 30 "$standby" >/dev/null
    echo "rezept-tagebuch: $standby stopped"
fi
