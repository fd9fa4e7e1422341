#!/bin/sh
# Keeps an app container answering on the reverse proxy's network while a deploy replaces it
# (lib/switchover.ts): pulumi up runs it before the old container goes. A copy of the app
# (`podman container clone`: same image, environment and volumes, no secret on a command line)
# starts as the standby, carrying the app's name as an alias on the proxy network, and this
# returns once it answers and the proxy can know its address. A standby left by a deploy whose
# new version failed its gate serves the version before: it is kept.
# Parameters:
#   app                   the app container's fixed name: the name the proxy uses
#   standby               the standby copy's container
#   network               the reverse proxy's network
#   probe                 the app's health probe, run inside a container with sh -c
#   timeout_seconds       how long the standby may take to answer before the deploy stops
#   proxy_cache_seconds   how long the proxy may keep an address it looked up
set -eu
: "${app:?}" "${standby:?}" "${network:?}" "${probe:?}" "${timeout_seconds:?}" "${proxy_cache_seconds:?}"
answers() { podman exec "$1" sh -c "$probe" >/dev/null 2>&1; }
running() { [ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
on_network() { podman inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$1" | tr ' ' '\n' | grep -qxF "$network"; }
if podman container exists "$standby"; then
    if running "$standby" && answers "$standby"; then
        echo "rezept-tagebuch: $standby (the version before) goes on answering as $app"
        exit 0
    fi
    podman rm --force --time 0 "$standby" >/dev/null
fi
if ! podman container exists "$app" || ! running "$app" || ! answers "$app"; then
    echo "rezept-tagebuch: $app is not answering, so there is nothing to keep serving during this deploy"
    exit 0
fi
podman container clone "$app" "$standby" >/dev/null
# The clone has the app's networks, under its own name; on the proxy network it takes the app's. (An app
# a deploy stopped before its gate never joined the proxy network; the standby joins it all the same.)
if on_network "$standby"; then podman network disconnect "$network" "$standby"; fi
podman network connect --alias "$app" "$network" "$standby"
podman start "$standby" >/dev/null
deadline=$(( $(date +%s) + timeout_seconds ))
until answers "$standby"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        podman rm --force --time 0 "$standby" >/dev/null 2>&1 || true
        echo "rezept-tagebuch: the standby copy of $app did not answer within $timeout_seconds s; nothing was replaced. Look: podman logs $app" >&2
        exit 1
    fi
    sleep 0.25
done
# The proxy must know the standby's address before the old container's goes.
sleep "$proxy_cache_seconds"
echo "rezept-tagebuch: $standby answers as $app on $network while $app is replaced"
