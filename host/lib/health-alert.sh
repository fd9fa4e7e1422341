# shellcheck shell=sh
# What the health check and its self-watch share (lib/healthUnits.ts): where things are, the
# alert state (key=value lines; a missing or damaged file is no state: it alerts once too many
# rather than never), and the delivery of an alert to the alert command (its text on stdin) and
# the webhook (JSON; the URL read from its 0600 file into curl's config on stdin, or wget's URL
# list on stdin: never a command line).
# Parameters:
#   alert_command         the operator's command, run by sh -c with the alert's text on stdin; empty: none
#   state_file            the alert state's file, in the config folder
#   webhook_file          the webhook URL's file (0600), in the config folder; no file: no webhook
: "${environment:?}" "${alert_command?}" "${state_file:?}" "${webhook_file:?}"
set -u
umask 077
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
find_user_manager
health_dir=$config_dir
state_file="$health_dir/$state_file"
webhook_file="$health_dir/$webhook_file"
host=$(uname -n)
# make_tmp CODE: $tmp, a private folder removed when the script ends, also when a signal ends it (the unit's
# timeout or a shutdown sends SIGTERM; dash runs no EXIT trap for a script a signal ends). Then the signal
# again, so the script still ends by it: systemd counts SIGTERM as a clean end of a stopped unit, and an
# exit code 143 as a failure, which would start the self-watch's alert at every shutdown during a run.
make_tmp() {
    tmp=$(mktemp -d) || exit "$1"
    trap 'rm -rf "$tmp"' EXIT
    for signal in HUP INT TERM; do
        # shellcheck disable=SC2064 # the signal's name now, $tmp and $$ when it comes
        trap "rm -rf \"\$tmp\"; trap - $signal EXIT; kill -$signal \$\$" "$signal"
    done
}
state_get() { sed -n "s/^$1=\([0-9]*\)$/\1/p" "$state_file" 2>/dev/null | tail -n 1; }
state_write() {
    mkdir -p "$health_dir"
    printf 'failing=%s\nlast_alert=%s\nlast_success=%s\ncheck_failed=%s\nlast_healthy=%s\n' "$1" "$2" "$3" "$4" "$5" > "$state_file.tmp.$$"
    mv -f "$state_file.tmp.$$" "$state_file"
}
# awk's js(s): s as a JSON string (backslash, quote, tab and newline escaped); awk has no replace-all
# without regex pitfalls, so rep replaces literally. For the alert's JSON text and the report's rows.
# shellcheck disable=SC2034 # also for the script that sources this
awk_json='
        function rep(s, from, to,   out, i) { out = ""; while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + length(from)) } return out s }
        function js(s) { return "\"" rep(rep(rep(rep(s, "\\", "\\\\"), "\"", "\\\""), "\t", "\\t"), "\n", "\\n") "\"" }'
# A JSON string of stdin's lines (newline-joined); control characters other than tab and newline are dropped.
json_string() {
    tr -d '\000-\010\013-\037' | awk "$awk_json"'
        { all = (NR > 1 ? all "\n" : "") $0 }
        END { printf "%s", js(all) }'
}
# deliver KIND TEXT_FILE FAILED_JSON_ARRAY: a failed delivery is reported, never fatal.
deliver() {
    if [ -n "$alert_command" ]; then
        sh -c "$alert_command" < "$2" || echo "health: alertCommand failed (exit $?)" >&2
    fi
    [ -f "$webhook_file" ] || return 0
    body="$2.json"
    printf '{"kind":"%s","environment":"%s","host":%s,"text":%s,"failed":%s}' "$1" "$environment" "$(printf '%s' "$host" | json_string)" "$(json_string < "$2")" "$3" > "$body"
    url=$(cat "$webhook_file")
    if command -v curl >/dev/null 2>&1; then
        # curl's config: a quoted value takes \\ and \" escapes.
        printf 'url = "%s"\n' "$(printf '%s' "$url" | sed 's/[\\"]/\\&/g')" |
            curl -sS -f -o /dev/null -m 15 -K - -H "content-type: application/json" --data-binary @"$body" ||
            echo "health: alert webhook ($webhook_file) failed (curl exit $?)" >&2
    elif command -v wget >/dev/null 2>&1; then
        printf '%s\n' "$url" | wget -q -O /dev/null -T 15 --header="content-type: application/json" --post-file="$body" -i - ||
            echo "health: alert webhook ($webhook_file) failed (wget exit $?)" >&2
    else
        echo "health: alert webhook ($webhook_file) not sent: neither curl nor wget is on the host (apt-get install curl)" >&2
    fi
}
