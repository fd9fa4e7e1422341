#!/bin/sh
# Installs or updates a stack's health check in place (lib/healthUnits.ts): scripts and units
# written atomically; the webhook URL read from stdin into a 0600 file (never a unit, a script or
# a command line); the alert state left as it is; the timer enabled and restarted, and one run
# started, so the first report does not wait for the timer.
# Parameters:
#   units                 the check's unit files: names, one a line, and their texts in units_<n>
#   scripts               the check's scripts, in the config folder: names, and their texts in scripts_<n>
#   webhook_file          the webhook URL's file, in the config folder
#   health_unit           the check's unit, without .service or .timer
#   interval_minutes      how often the timer runs the check
: "${units:?}" "${scripts:?}" "${webhook_file:?}" "${health_unit:?}" "${interval_minutes:?}"
# shellcheck source=lib/units.sh
. "$(dirname "$0")/lib/units.sh"
health_dir=$config_dir
mkdir -p "$unit_dir" "$health_dir"
write_files "$unit_dir" 644 units
write_files "$health_dir" 755 scripts
umask 077
webhook=$(cat)
if [ -n "$webhook" ]; then write_file "$health_dir" "$webhook_file" "$webhook" 600; else rm -f "$health_dir/$webhook_file"; fi
reload
unit_ctl "$health_unit.timer" enable
unit_ctl "$health_unit.timer" restart
unit_ctl "$health_unit.service" start --no-block
echo "rezept-tagebuch: installed $health_unit.timer (every $interval_minutes min)"
