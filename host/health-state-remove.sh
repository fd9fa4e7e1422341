#!/bin/sh
# Deletes a stack's health check alert state (lib/healthUnits.ts): run only when the stack itself
# is removed, never by a re-install, so a re-install never loses an open alert.
# Parameters:
#   state_file            the alert state's file, in the config folder
: "${state_file:?}"
set -eu
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
rm -f "$config_dir/$state_file"
