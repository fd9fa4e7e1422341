#!/bin/sh
# Removes a stack's health check (lib/healthUnits.ts): timer, services, scripts and webhook file;
# the alert state is the stack's (host/health-state-remove.sh).
# Parameters:
#   health_unit           the check's unit, without .service or .timer
#   units                 the check's unit files, one a line
#   files                 its files in the config folder (scripts, webhook), one a line
: "${health_unit:?}" "${units:?}" "${files:?}"
# shellcheck source=lib/units.sh
. "$(dirname "$0")/lib/units.sh"
health_dir=$config_dir
if [ -e "$unit_dir/$health_unit.timer" ]; then unit_ctl "$health_unit.timer" disable --now; fi
for name in $units; do rm -f "$unit_dir/$name"; done
for name in $files; do rm -f "$health_dir/$name"; done
reload
echo "rezept-tagebuch: removed $health_unit.timer"
