#!/bin/sh
# Opens or closes a stack's deploy window (lib/healthUnits.ts), which keeps the health check from
# paging while pulumi up changes what it checks: opened before any container or unit of the stack
# changes, closed once the check expecting the new state is installed. A deploy that fails leaves
# it open until its end time, then the check alerts as usual.
# Parameters:
#   action                open or close
#   window_file           the window's file, in the config folder: until=EPOCH
#   window_seconds        how long an opened window lasts at most
: "${action:?}" "${window_file:?}" "${window_seconds:?}"
set -eu
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
mkdir -p "$config_dir"
case $action in
    open)
        printf 'until=%s\n' "$(($(date +%s) + window_seconds))" > "$config_dir/$window_file.tmp.$$"
        mv -f "$config_dir/$window_file.tmp.$$" "$config_dir/$window_file"
        echo "rezept-tagebuch: deploy under way, the health check does not page for it (at most $window_seconds s)" ;;
    close)
        rm -f "$config_dir/$window_file"
        echo "rezept-tagebuch: deploy done, the health check pages again" ;;
    *) echo "rezept-tagebuch: action is '$action', not open or close" >&2; exit 2 ;;
esac
