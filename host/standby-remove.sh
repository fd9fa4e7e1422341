#!/bin/sh
# What the removal of a stack leaves: no standby copy of its app, as a deploy that failed its gate leaves one.
# Parameters:
#   standby               the standby copy's container
: "${standby:?}"
podman rm --force --ignore --time 30 "$standby" >/dev/null
