#!/bin/sh
# The health check of a stack (installed as health-<stack>.sh in the config folder, run by its
# timer with --alert; lib/healthUnits.ts; pulumi up installs and overwrites it). It needs only
# what the host has for the stack (sh, podman, systemctl and the coreutils); HTTP to the app
# comes from inside its container, as the image healthchecks do; curl or wget on the host only
# for the proxy check and the webhook. Nothing in it depends on the machine Pulumi ran on.
# Usage: sh health-<stack>.sh [--json] [--alert]. Exit 0: healthy; 1: a check failed; 2: could not check.
# Parameters:
#   environment           the stack: prod, dev or test
#   health_script         this script's file, in the config folder (its age: when it was installed)
#   health_unit           the check's unit, without .service or .timer
#   interval_minutes      how often the timer runs the check
#   stale_intervals       runs that may be missed before the check reports its timer not running
#   stale_seconds         that many intervals, in seconds
#   alert_repeat_seconds  while the stack stays failing, remind at most this often
#   boot_installer        the URN of the stack's unit installer, which pulumi up --replace runs again for a unit file changed by hand
#   db_container          the database container
#   db_unit               its unit
#   app                   the app container; empty: the stack runs no app
#   app_unit              its unit
#   app_port              the app's port inside its container (the direct probe runs inside it)
#   version               APP_VERSION the app must report: the stack's appImageTag
#   dev_mode              DEV_MODE the app must have; empty: it must have none
#   proxy_url             the app's /api/version behind the reverse proxy; empty: no proxy check
#   units                 the stack's units, "NAME SHA256 KIND" a line: KIND install (enabled and active) or
#                         oneshot (its timer starts it: its last run succeeded); the file as deployed
#   drill_file            the restore drill's result file (a leading $HOME/ is the user's home); empty: no drill
#   drill_max_age_days    how old the last drill may be before the check reports it missing
#   drill_unit            the drill's unit, without .service
#   nightly_stamp         the last nightly off-host copy's time (at=<epoch>; a leading $HOME/ is the user's home); empty: none
#   nightly_max_age_seconds  how old that copy may be
#   nightly_unit          the nightly backup's unit, without .service
#   wal_stamp             the last WAL upload's start (at=<epoch>; a leading $HOME/ is the user's home); empty: no PITR
#   wal_max_age_seconds   how old that upload may be: the README's RPO less archive_timeout
#   wal_unit              the WAL upload's unit, without .service
#   base_unit             the base backup's unit, without .service
#   wal_archive           the WAL archive inside the database container
#   wal_gap_file          the segments archive_command did not keep, inside the database container
#   wal_reserve_kib       the free space below which the archive keeps no segment
#   boot_grace_seconds    how long after its manager started (a boot) the stack's units may take to come up: no page before
#   window_file           the deploy window's file, in the config folder (host/health-deploy-window.sh): no page while it is open
: "${environment:?}" "${health_script:?}" "${health_unit:?}" "${interval_minutes:?}" "${stale_intervals:?}" "${stale_seconds:?}" \
    "${alert_repeat_seconds:?}" "${boot_installer:?}" "${db_container:?}" "${db_unit:?}" "${app?}" "${app_unit?}" "${app_port?}" \
    "${version?}" "${dev_mode?}" "${proxy_url?}" "${units:?}" "${drill_file?}" "${drill_max_age_days?}" "${drill_unit?}" \
    "${nightly_stamp?}" "${nightly_max_age_seconds?}" "${nightly_unit?}" "${wal_stamp?}" "${wal_max_age_seconds?}" "${wal_unit?}" "${base_unit?}" \
    "${wal_archive?}" "${wal_gap_file?}" "${wal_reserve_kib?}" "${boot_grace_seconds:?}" "${window_file:?}"
# shellcheck source=lib/health-alert.sh
. "$(dirname "$0")/lib/health-alert.sh"
up="npm run stack -- up $environment"
reinstall_fix="$up --replace '$boot_installer'"
now=$(date +%s)
# The deploy window's end time (host/health-deploy-window.sh), also as the run starts: a run that started during a
# deploy saw its changes, even when the deploy closed the window before the run's end.
window_until() { sed -n 's/^until=\([0-9]*\)$/\1/p' "$health_dir/$window_file" 2>/dev/null | tail -n 1; }
window_at_start=$(window_until)
json=0
alert=0
for arg in "$@"; do
    case $arg in
        --json) json=1 ;;
        --alert) alert=1 ;;
        *) echo "health: unknown argument '$arg'; usage: sh $0 [--json] [--alert]" >&2; exit 2 ;;
    esac
done
command -v podman >/dev/null 2>&1 || { echo "health: podman is not on PATH ($PATH)" >&2; exit 2; }
make_tmp 2
rows="$tmp/rows"
: > "$rows"
# One row per check: ok, name, detail, fix; tabs and newlines in what was seen become spaces.
clean() { printf '%s' "$1" | tr '\t\n\r' '   ' | tr -d '\000-\010\013-\037'; }
pass() { printf '1\t%s\t%s\t\n' "$1" "$(clean "$2")" >> "$rows"; }
fail() { printf '0\t%s\t%s\t%s\n' "$1" "$(clean "$2")" "$(clean "$3")" >> "$rows"; }

# container_checks NAME ROLE UNIT: exists, runs, passes its healthcheck.
container_checks() {
    if ! seen=$(podman container inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$1" 2>/dev/null); then
        fail "$2 $1 exists" "no such container" "$up"
        return
    fi
    pass "$2 $1 exists" "present"
    status=${seen% *}
    if [ "$status" = running ]; then pass "$2 $1 runs" "$status"
    elif [ "$status" = exited ]; then fail "$2 $1 runs" "exited (exit code ${seen##* })" "systemctl ${user_opt}restart $3; journalctl ${user_opt}-u $3 -n 50"
    else fail "$2 $1 runs" "$status" "systemctl ${user_opt}restart $3; journalctl ${user_opt}-u $3 -n 50"; fi
    podman healthcheck run "$1" > /dev/null 2>&1
    code=$?
    if [ "$code" -eq 0 ]; then pass "$2 $1 healthy" "healthcheck passes"
    else fail "$2 $1 healthy" "healthcheck exit code $code" "podman logs --tail 50 $1; podman healthcheck run $1"; fi
}

# An /api/version answer: HTTP status on the last line, the body before; the version a JSON field or the plain body.
version_check() {
    status=$(tail -n 1 "$2")
    body=$(sed '$d' "$2")
    case $body in
        "{"*) reported=$(printf '%s' "$body" | sed -nE 's/.*"(version|appVersion|APP_VERSION)"[[:space:]]*:[[:space:]]*"([^"]*)".*/\2/p' | head -n 1) ;;
        \"*) reported=$(printf '%s' "$body" | sed -e 's/^"//' -e 's/"$//') ;;
        *) reported=$body ;;
    esac
    reported=$(printf '%s' "$reported" | cut -c 1-80)
    if [ "$status" = 200 ] && [ "$reported" = "$version" ]; then pass "$1" "HTTP 200, version \"$reported\""
    elif [ "$status" = 200 ]; then fail "$1" "HTTP 200, version \"$reported\", expected 200 and \"$version\"" "npm run stack -- output $environment appImageTag; $up"
    else fail "$1" "HTTP $status, version \"$reported\", expected 200 and \"$version\"" "$3"; fi
}

container_checks "$db_container" database "$db_unit"
if [ -n "$app" ]; then
    # The app's environment holds its passwords: kept in a variable, never in a file. A file in $tmp outlived a
    # check ended by its unit's timeout: dash runs no EXIT trap for a script a signal ends.
    if app_env=$(podman container inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$app" 2>/dev/null); then have_env=1; else have_env=0; fi
    env_value() { printf '%s\n' "$app_env" | sed -n "s/^$1=//p" | head -n 1; }
    env_has() { printf '%s\n' "$app_env" | grep -q "^$1="; }
    db_status=$(podman container inspect --format '{{.State.Status}}' "$db_container" 2>/dev/null)
    # A query as the app logs in: to its POSTGRES_HOST over the network, its user, its password (in the
    # environment only). psql runs in the database container, whose image has it; the name resolves
    # there to the container's network address, not loopback, which the postgres image trusts.
    if [ "$have_env" -eq 1 ] && [ "$db_status" = running ]; then
        PGPASSWORD=$(env_value POSTGRES_PASSWORD) PGCONNECT_TIMEOUT=10 podman exec --env PGPASSWORD --env PGCONNECT_TIMEOUT "$db_container" psql -X -q \
            -h "$(env_value POSTGRES_HOST)" -p "$(env_value POSTGRES_PORT)" -U "$(env_value POSTGRES_USER)" -d "$(env_value POSTGRES_DB)" -c 'select 1' > /dev/null 2> "$tmp/psql.err"
        code=$?
        if [ "$code" -eq 0 ]; then pass "database $db_container accepts the app's login" "login and query succeed"
        # psql's own words (FATAL: password authentication failed ...), never the password.
        else fail "database $db_container accepts the app's login" "login failed (exit code $code): $(tail -n 1 "$tmp/psql.err" | cut -c 1-200)" "podman logs --tail 50 $db_container"; fi
    else
        fail "database $db_container accepts the app's login" "not checked (no app environment to log in with)" "podman logs --tail 50 $db_container"
    fi
    container_checks "$app" app "$app_unit"
    # Inside the container, with whichever HTTP client it has; wget fails on anything but 2xx, so its success is a 200.
    probe_url="http://127.0.0.1:$app_port/api/version"
    probe="if command -v curl >/dev/null; then curl -sS -w '\\n%{http_code}' $probe_url; else body=\$(wget -q -O - $probe_url) && printf '%s\\n200' \"\$body\"; fi"
    if [ "$(podman container inspect --format '{{.State.Status}}' "$app" 2>/dev/null)" = running ]; then
        if podman exec "$app" sh -c "$probe" > "$tmp/direct" 2> "$tmp/direct.err" || [ -s "$tmp/direct" ]; then
            version_check "app $app /api/version" "$tmp/direct" "podman logs --tail 50 $app"
        else fail "app $app /api/version" "no answer from $probe_url inside $app: $(head -n 1 "$tmp/direct.err")" "podman logs --tail 50 $app"; fi
    else fail "app $app /api/version" "$app is not running" "podman logs --tail 50 $app"; fi
    if [ -n "$proxy_url" ]; then
        proxy_fix="curl -sS -i $proxy_url (then the reverse proxy's configuration and logs)"
        if command -v curl >/dev/null 2>&1; then
            if curl -sS -m 10 -w '\n%{http_code}' "$proxy_url" > "$tmp/proxy" 2> "$tmp/proxy.err"; then version_check "app $app /api/version via the proxy" "$tmp/proxy" "$proxy_fix"
            else fail "app $app /api/version via the proxy" "$proxy_url: $(head -n 1 "$tmp/proxy.err")" "$proxy_fix"; fi
        elif command -v wget >/dev/null 2>&1; then
            if body=$(wget -q -O - -T 10 "$proxy_url" 2> "$tmp/proxy.err"); then printf '%s\n200' "$body" > "$tmp/proxy"; version_check "app $app /api/version via the proxy" "$tmp/proxy" "$proxy_fix"
            else fail "app $app /api/version via the proxy" "$proxy_url: no 2xx answer (wget)" "$proxy_fix"; fi
        else fail "app $app /api/version via the proxy" "not checked: neither curl nor wget is on the host" "apt-get install curl"; fi
    fi
    # The incident: dev's app pointed at prod's database. Names only the variables, never other values.
    if [ "$have_env" -eq 1 ]; then
        problems=
        pg_host=$(env_value POSTGRES_HOST)
        env_has POSTGRES_HOST || problems="POSTGRES_HOST is unset, not the $environment database ($db_container)"
        [ -z "$problems" ] && [ "$pg_host" != "$db_container" ] && problems="POSTGRES_HOST is \"$pg_host\", not the $environment database ($db_container)"
        if [ -z "$dev_mode" ]; then
            env_has DEV_MODE && problems="${problems:+$problems; }DEV_MODE is set in $environment; it belongs to dev only"
        else
            current_dev_mode=$(env_value DEV_MODE)
            if ! env_has DEV_MODE; then problems="${problems:+$problems; }DEV_MODE is unset in $environment, expected \"$dev_mode\""
            elif [ "$current_dev_mode" != "$dev_mode" ]; then problems="${problems:+$problems; }DEV_MODE is \"$current_dev_mode\" in $environment, expected \"$dev_mode\""; fi
        fi
        # A refresh finds the stack's container gone and the next up creates it, once the name is free.
        if [ -z "$problems" ]; then pass "app $app uses the $environment database" "POSTGRES_HOST=$db_container"
        else fail "app $app uses the $environment database" "$problems" "podman rm -f $app; $up --refresh"; fi
    fi
fi

# unit_checks UNIT SHA256 KIND: enabled and active (KIND install), or its last run succeeded (a oneshot its timer starts); the file as deployed.
unit_checks() {
    if [ "$3" = install ]; then
        enabled=$(scope_systemctl is-enabled "$1" 2>/dev/null)
        active=$(scope_systemctl is-active "$1" 2>/dev/null)
        if [ "$enabled" = enabled ]; then pass "unit $1 enabled" "$enabled"; else fail "unit $1 enabled" "${enabled:-unknown}" "systemctl ${user_opt}enable $1"; fi
        if [ "$active" = active ]; then pass "unit $1 active" "$active"; else fail "unit $1 active" "${active:-unknown}" "systemctl ${user_opt}start $1; journalctl ${user_opt}-u $1 -n 50"; fi
    else
        result=$(scope_systemctl show --property=Result --value "$1" 2>/dev/null)
        if [ "$result" = success ]; then pass "unit $1 last run succeeded" "$result"; else fail "unit $1 last run succeeded" "${result:-unknown}" "journalctl ${user_opt}-u $1 -n 50; then: systemctl ${user_opt}start $1"; fi
    fi
    if [ ! -f "$unit_dir/$1" ]; then fail "unit $1 file as deployed" "missing" "$reinstall_fix"
    elif [ "$(sha256sum < "$unit_dir/$1" | cut -d ' ' -f 1)" = "$2" ]; then pass "unit $1 file as deployed" "identical"
    # Re-installing overwrites a hand edit; `systemctl cat` shows it first.
    else fail "unit $1 file as deployed" "changed by hand (systemctl ${user_opt}cat $1)" "$reinstall_fix"; fi
}
while read -r unit sha kind <&3; do
    [ -n "$unit" ] && unit_checks "$unit" "$sha" "$kind"
done 3<<UNITS
$units
UNITS

if [ -n "$drill_file" ]; then
    # The last restore drill: its result and age (its unit's row tells whether the last run failed).
    drill_file=$(at_home "$drill_file")
    drill_get() { sed -n "s/^$1=//p" "$drill_file" 2>/dev/null | head -n 1; }
    drill_name="restore drill passed in the last $drill_max_age_days days"
    drill_fix="journalctl ${user_opt}-u $drill_unit.service -n 50; then: systemctl ${user_opt}start $drill_unit.service"
    drill_max_age_seconds=$((drill_max_age_days * 86400))
    drill_at=$(drill_get at)
    if [ -z "$drill_at" ]; then
        installed=$(stat -c %Y "$health_dir/$health_script" 2>/dev/null || echo "$now")
        if [ $((now - installed)) -le "$drill_max_age_seconds" ]; then pass "$drill_name" "none yet (the first runs within a week)"
        else fail "$drill_name" "no drill has run" "$drill_fix"; fi
    else
        drill_age="$(((now - drill_at) / 3600)) h ago"
        if [ "$(drill_get result)" != passed ]; then fail "$drill_name" "failed $drill_age: $(drill_get reason)" "$drill_fix"
        elif [ $((now - drill_at)) -gt "$drill_max_age_seconds" ]; then fail "$drill_name" "the last one passed $drill_age" "$drill_fix"
        else pass "$drill_name" "passed $drill_age: $(drill_get backup) restored in $(drill_get rto_seconds) s, $(drill_get tables) tables, $(drill_get rows) rows as in the backup"; fi
    fi
fi

# The age of the last successful off-host copy, not its unit's last Result: a run that hangs, or is killed and started
# again, never fails, and a unit that never starts never fails either. Before the first copy since the check was
# installed, none yet, for as long as one may be old.
# stamp_age_check NAME STAMP MAX_AGE_SECONDS FIX WHAT
stamp_age_check() {
    stamp_at=$(sed -n 's/^at=//p' "$(at_home "$2")" 2>/dev/null | head -n 1)
    if [ -z "$stamp_at" ]; then
        installed=$(stat -c %Y "$health_dir/$health_script" 2>/dev/null || echo "$now")
        if [ $((now - installed)) -le "$3" ]; then pass "$1" "none yet (the check was installed $((now - installed)) s ago)"
        else fail "$1" "no successful $5 since the check was installed $(((now - installed) / 60)) min ago" "$4"; fi
    else
        stamp_age=$((now - stamp_at))
        if [ "$stamp_age" -ge 7200 ]; then stamp_ago="$((stamp_age / 3600)) h"; elif [ "$stamp_age" -ge 120 ]; then stamp_ago="$((stamp_age / 60)) min"; else stamp_ago="$stamp_age s"; fi
        if [ "$stamp_age" -le "$3" ]; then pass "$1" "the last $stamp_ago ago"
        else fail "$1" "the last $stamp_ago ago ($(date -u -d "@$stamp_at" '+%F %T UTC')); what changed since is on this host only" "$4"; fi
    fi
}
if [ -n "$nightly_stamp" ]; then
    stamp_age_check "nightly backup off the host in the last $((nightly_max_age_seconds / 3600)) h" "$nightly_stamp" "$nightly_max_age_seconds" \
        "journalctl ${user_opt}-u $nightly_unit.service -n 50; then: systemctl ${user_opt}start $nightly_unit.service" "nightly copy"
fi
if [ -n "$wal_stamp" ]; then
    stamp_age_check "WAL off the host in the last $wal_max_age_seconds s" "$wal_stamp" "$wal_max_age_seconds" \
        "journalctl ${user_opt}-u $wal_unit.service -n 50; systemctl ${user_opt}list-timers $wal_unit.timer" "WAL upload"
    # The archive's disk and gap, read inside the database (the volume's files are its user's); a stopped one is its own row.
    # shellcheck disable=SC2016 # expanded in the container
    if archive=$(podman exec "$db_container" sh -c 'df -Pk "$1" | awk "NR == 2 { print \$4 }"; du -sk "$1" | cut -f 1; printf "%s\\n" "$(tail -n 1 "$2" 2>/dev/null)" "$(cat "$2" 2>/dev/null | wc -l)"' sh "$wal_archive" "$wal_gap_file" 2>/dev/null); then
        free_kib=$(printf '%s\n' "$archive" | sed -n 1p); archive_kib=$(printf '%s\n' "$archive" | sed -n 2p)
        gap_last=$(printf '%s\n' "$archive" | sed -n 3p); gap_count=$(printf '%s\n' "$archive" | sed -n 4p | tr -d ' ')
        disk="$((free_kib / 1024)) MiB free, the archive $((archive_kib / 1024)) MiB"
        # Twice the reserve: a day at a segment a minute is 22.5 GiB, so with the default reserve hours before the archive stops.
        if [ "$free_kib" -gt $((wal_reserve_kib * 2)) ]; then pass "disk of the WAL archive has room" "$disk"
        else fail "disk of the WAL archive has room" "$disk; below $((wal_reserve_kib / 1024)) MiB free the archive keeps no more WAL (a gap in point-in-time recovery, the database serves on)" \
            "df -h; the archive is cleaned after a base backup went off the host: journalctl ${user_opt}-u $base_unit.service -n 50; then: systemctl ${user_opt}start $base_unit.service"; fi
        if [ -z "$gap_last" ]; then pass "WAL archive whole since the last base backup" "no segment left out"
        else fail "WAL archive whole since the last base backup" "$gap_count segments left out for want of disk, the last $gap_last: no point in time after the gap's start until a base backup after it" \
            "free disk space, then: systemctl ${user_opt}start $base_unit.service"; fi
    fi
fi

failing=$(state_get failing)
last_alert=$(state_get last_alert)
last_success=$(state_get last_success)
last_healthy=$(state_get last_healthy)
check_failed=$(state_get check_failed)
# The operator's run asks whether the timer's runs are happening; the timer's own run is one.
if [ "$alert" -eq 0 ]; then
    installed=$(stat -c %Y "$health_dir/$health_script" 2>/dev/null || echo 0)
    since=${last_success:-0}
    [ "$installed" -gt "$since" ] && since=$installed
    if [ $((now - since)) -le "$stale_seconds" ]; then pass "check $health_unit.timer ran in the last $stale_intervals intervals" "last run $(((now - since) / 60)) min ago (every $interval_minutes min)"
    else fail "check $health_unit.timer ran in the last $stale_intervals intervals" "no successful run for $(((now - since) / 60)) min (every $interval_minutes min)" "systemctl ${user_opt}status $health_unit.timer $health_unit.service; journalctl ${user_opt}-u $health_unit.service -n 50"; fi
fi

ok=1; grep -q "^0" "$rows" && ok=0
# The report: a table (✓/✗, and for a failure the command to run) or JSON, from the rows.
render() {
    awk -F '\t' -v mode="$1" -v env="$environment" -v host="$host" -v ok="$ok" -v kind="${2:-}" "$awk_json"'
        { n++; okv[n] = $1; name[n] = $2; detail[n] = $3; fix[n] = $4; if (length($2) > width) width = length($2) }
        END {
            if (mode == "table") {
                printf "rezept-tagebuch %s on %s: %s\n", env, host, (ok ? "healthy" : "FAILING")
                for (i = 1; i <= n; i++) {
                    printf "  %s %-" width "s  %s\n", (okv[i] ? "✓" : "✗"), name[i], detail[i]
                    if (!okv[i] && fix[i] != "") printf "      fix: %s\n", fix[i]
                }
            } else if (mode == "json") {
                printf "{\n  \"host\": %s,\n  \"ok\": %s,\n  \"environments\": [\n    {\n      \"environment\": %s,\n      \"ok\": %s,\n      \"checks\": [", js(host), (ok ? "true" : "false"), js(env), (ok ? "true" : "false")
                for (i = 1; i <= n; i++) {
                    printf "%s\n        {\"name\": %s, \"ok\": %s, \"detail\": %s", (i > 1 ? "," : ""), js(name[i]), (okv[i] ? "true" : "false"), js(detail[i])
                    if (!okv[i] && fix[i] != "") printf ", \"fix\": %s", js(fix[i])
                    printf "}"
                }
                printf "\n      ]\n    }\n  ]\n}\n"
            } else if (mode == "alert") {
                failed = ""; count = 0
                for (i = 1; i <= n; i++) if (!okv[i]) failed = failed (count++ ? ", " : "") name[i]
                if (kind == "recovered") printf "rezept-tagebuch %s on %s recovered: all %d checks pass\n", env, host, n
                else printf "rezept-tagebuch %s on %s %s: %s\n", env, host, (kind == "reminder" ? "still failing" : "FAILING"), failed
                for (i = 1; i <= n; i++) if (!okv[i]) { printf "✗ %s: %s\n", name[i], detail[i]; if (fix[i] != "") printf "  fix: %s\n", fix[i] }
            } else {
                printf "["; count = 0
                for (i = 1; i <= n; i++) if (!okv[i]) printf "%s%s", (count++ ? "," : ""), js(name[i])
                printf "]"
            }
        }' "$rows"
}

if [ "$alert" -eq 1 ]; then
    # What fails while the host boots or a deploy changes the stack is no outage yet: no page until the boot has
    # had its time (the timer runs the check once it is over) or the stack was healthy once since, or the deploy
    # has ended (it closes the window, or the window's end time passes). The manager's start: the boot's, or the
    # user manager's, which lingering starts at boot.
    quiet=
    started=$(scope_systemctl show --timestamp=unix --property=UserspaceTimestamp --value 2>/dev/null | tr -d '@')
    case $started in
        ''|*[!0-9]*) ;;
        *) if [ $((now - started)) -lt "$boot_grace_seconds" ] && [ "${last_healthy:-0}" -lt "$started" ]; then
               quiet="the host started $((now - started)) s ago (its units have $boot_grace_seconds s)"
           fi ;;
    esac
    for until in "$window_at_start" "$(window_until)"; do
        if [ -n "$until" ] && [ "$now" -lt "$until" ]; then quiet="a deploy is under way (for at most $((until - now)) s more)"; fi
    done
    # Alert on the change to failing, once on recovery, and while failing a reminder every alert_repeat_seconds.
    kind=
    failing_now=$((1 - ok))
    if [ "$ok" -eq 1 ]; then
        [ "${failing:-0}" = 1 ] && kind=recovered
        last_alert=
    # The state stays as it was: once the quiet ends, a stack still failing is a change to failing, and alerts.
    elif [ -n "$quiet" ]; then failing_now=${failing:-0}; echo "health: $(render failed) failing, no alert: $quiet"
    elif [ "${failing:-0}" != 1 ]; then kind=failing; last_alert=$now
    elif [ -z "$last_alert" ] || [ $((now - last_alert)) -ge "$alert_repeat_seconds" ]; then kind=reminder; last_alert=$now; fi
    if [ -n "$kind" ]; then
        render alert "$kind" > "$tmp/alert"
        deliver "$kind" "$tmp/alert" "$(render failed)"
    fi
    # The self-watch's recovery: the check that failed to run (health-<stack>-failed.sh) runs again.
    if [ "${check_failed:-0}" = 1 ]; then
        printf '%s\n' "rezept-tagebuch $environment on $host: the health check runs again ($health_unit.service)" > "$tmp/check"
        deliver check-recovered "$tmp/check" '[]'
    fi
    [ "$ok" -eq 1 ] && last_healthy=$now
    state_write "$failing_now" "$last_alert" "$now" 0 "${last_healthy:-}"
fi
if [ "$json" -eq 1 ]; then render json; else render table; fi
[ "$ok" -eq 1 ] || exit 1
