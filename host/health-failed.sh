#!/bin/sh
# The health check's self-watch (installed as health-<stack>-failed.sh; lib/healthUnits.ts): run
# by systemd when the check's service failed (its script missing, crashing or timing out; a
# failing check exits 1, which the service counts as success). One alert per failure streak; the
# check's next run sends the recovery.
# Parameters:
#   environment           the stack: prod, dev or test
#   health_unit           the check's unit, without .service
: "${environment:?}" "${health_unit:?}"
# shellcheck source=lib/health-alert.sh
. "$(dirname "$0")/lib/health-alert.sh"
if [ "$(state_get check_failed)" = 1 ]; then exit 0; fi
make_tmp 1
# systemd gives an OnFailure= unit the failed unit's result (systemd.exec(5), $MONITOR_SERVICE_RESULT).
printf '%s\n%s\n' "rezept-tagebuch $environment on $host: the health check did not run ($health_unit.service: ${MONITOR_SERVICE_RESULT:-failed}, exit ${MONITOR_EXIT_STATUS:-unknown})" \
    "  fix: journalctl ${user_opt}-u $health_unit.service -n 50; then: npm run stack -- up $environment (re-installs the check)" > "$tmp/check"
deliver check-failed "$tmp/check" '[]'
state_write "$(state_get failing)" "$(state_get last_alert)" "$(state_get last_success)" 1 "$(state_get last_healthy)"
