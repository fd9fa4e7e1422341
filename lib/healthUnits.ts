import { createHash } from "node:crypto";
import { quote } from "shell-quote";
import { expectedDevMode } from "./appEnv";
import { EnvironmentName, PROJECT, unitName } from "./environments";
import { scriptPrelude, shellWord, SystemdScope, UnitFiles, unitDirectory } from "./systemd";

/**
 * The installed health check: a POSIX sh script per stack, rendered here and written to
 * the host by components/healthCheck.ts with the stack's own command resource (local or
 * SSH). It needs only what the host has for the stack (sh, podman, systemctl and the
 * coreutils); HTTP to the app comes from inside its container, as the image healthchecks
 * do; curl or wget on the host only for the proxy check and the webhook. Nothing in it
 * depends on the machine Pulumi ran on.
 */

/** What one stack deployed and how its check alerts (no secret: the webhook URL is apart, the password is read from the app). */
export interface HealthSettings {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    /** How the stack reaches the host: names the boot installer's resource type in a fix. */
    readonly connection: "local" | "ssh";
    readonly dbContainer: string;
    readonly appContainer?: string;
    /** APP_VERSION the app must report: the stack's appImageTag. */
    readonly version?: string;
    /** The app's port inside its container (the direct probe runs inside it). */
    readonly appPort?: number;
    /** The app behind the reverse proxy, e.g. http://host/rezept-tagebuch-dev/; absent: no proxy check. */
    readonly proxyUrl?: string;
    /** Unit file name to the content the stack installed. */
    readonly units: UnitFiles;
    readonly alertCommand?: string;
    readonly alertRepeatMinutes: number;
    /** The timer's period; a check that has not run for three of them is reported. */
    readonly intervalMinutes: number;
    /** The restore drill's result file (`$HOME` expanded on the host), where the stack has off-host backups. */
    readonly drillResultFile?: string;
}

/** A weekly drill may be this many days old before the check reports it missing: a week and a day's slack. */
export const DRILL_MAX_AGE_DAYS = 8;

/** Runs that may be missed before `npm run health` reports that the timer's check is not running. */
export const STALE_INTERVALS = 3;

/** Where the check, its webhook file (0600) and its alert state live; `$HOME` is expanded on the host. */
export function healthDirectory(scope: SystemdScope): string {
    return scope === "user" ? `\${XDG_CONFIG_HOME:-$HOME/.config}/${PROJECT}` : `/etc/${PROJECT}`;
}

export const healthUnitName = (env: EnvironmentName) => `${PROJECT}-health-${env}`;
export const healthScriptFile = (env: EnvironmentName) => `health-${env}.sh`;
export const checkFailedScriptFile = (env: EnvironmentName) => `health-${env}-failed.sh`;
export const webhookFile = (env: EnvironmentName) => `health-${env}.webhook`;
export const stateFile = (env: EnvironmentName) => `health-${env}.state`;
const checkFailedUnit = (env: EnvironmentName) => `${healthUnitName(env)}-failed.service`;

/** The check's path as a unit names it: `%h` is the user's home in a user unit. */
function pathInUnit(scope: SystemdScope, file: string): string {
    return scope === "user" ? `%h/.config/${PROJECT}/${file}` : `/etc/${PROJECT}/${file}`;
}

/**
 * awk's `js(s)`: s as a JSON string (backslash, quote, tab and newline escaped); awk has no
 * replace-all without regex pitfalls, so `rep` replaces literally. One definition for both the
 * alert's JSON text and the report's rows.
 */
const AWK_JSON_STRING = String.raw`function rep(s, from, to,   out, i) { out = ""; while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + length(from)) } return out s }
        function js(s) { return "\"" rep(rep(rep(rep(s, "\\", "\\\\"), "\"", "\\\""), "\t", "\\t"), "\n", "\\n") "\"" }`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const q = shellWord;

/**
 * The shell both scripts share: where things are, the state file, and the delivery of an
 * alert to the alert command (text on stdin) and the webhook (JSON; the URL read from its
 * 0600 file into curl's config on stdin, or wget's URL list on stdin: never a command line).
 */
function commonShell(settings: HealthSettings): string[] {
    const env = settings.environment;
    const user = settings.scope === "user";
    return [
        "set -u",
        "umask 077",
        ...(user ? ['XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"', "export XDG_RUNTIME_DIR"] : []),
        `environment=${q(env)}`,
        "# shellcheck disable=SC2016 # the operator's command, run by sh -c as given",
        `alert_command=${q(settings.alertCommand ?? "")}`,
        `health_dir="${healthDirectory(settings.scope)}"`,
        `state_file="$health_dir/${stateFile(env)}"`,
        `webhook_file="$health_dir/${webhookFile(env)}"`,
        "host=$(uname -n)",
        // key=value lines; a missing or damaged file is no state (it alerts once too many rather than never).
        'state_get() { sed -n "s/^$1=\\([0-9]*\\)$/\\1/p" "$state_file" 2>/dev/null | tail -n 1; }',
        "state_write() {",
        '    mkdir -p "$health_dir"',
        "    printf 'failing=%s\\nlast_alert=%s\\nlast_success=%s\\ncheck_failed=%s\\n' \"$1\" \"$2\" \"$3\" \"$4\" > \"$state_file.tmp.$$\"",
        '    mv -f "$state_file.tmp.$$" "$state_file"',
        "}",
        // A JSON string of stdin's lines (newline-joined); control characters other than tab and newline are dropped.
        String.raw`json_string() {
    tr -d '\000-\010\013-\037' | awk '
        ${AWK_JSON_STRING}
        { all = (NR > 1 ? all "\n" : "") $0 }
        END { printf "%s", js(all) }'
}`,
        "# deliver KIND TEXT_FILE FAILED_JSON_ARRAY: a failed delivery is reported, never fatal.",
        "deliver() {",
        '    if [ -n "$alert_command" ]; then',
        '        sh -c "$alert_command" < "$2" || echo "health: alertCommand failed (exit $?)" >&2',
        "    fi",
        '    [ -f "$webhook_file" ] || return 0',
        '    body="$2.json"',
        '    printf \'{"kind":"%s","environment":"%s","host":%s,"text":%s,"failed":%s}\' "$1" "$environment" "$(printf \'%s\' "$host" | json_string)" "$(json_string < "$2")" "$3" > "$body"',
        '    url=$(cat "$webhook_file")',
        "    if command -v curl >/dev/null 2>&1; then",
        "        # curl's config: a quoted value takes \\\\ and \\\" escapes.",
        "        printf 'url = \"%s\"\\n' \"$(printf '%s' \"$url\" | sed 's/[\\\\\"]/\\\\&/g')\" |",
        '            curl -sS -f -o /dev/null -m 15 -K - -H "content-type: application/json" --data-binary @"$body" ||',
        '            echo "health: alert webhook ($webhook_file) failed (curl exit $?)" >&2',
        "    elif command -v wget >/dev/null 2>&1; then",
        "        printf '%s\\n' \"$url\" | wget -q -O /dev/null -T 15 --header=\"content-type: application/json\" --post-file=\"$body\" -i - ||",
        '            echo "health: alert webhook ($webhook_file) failed (wget exit $?)" >&2',
        "    else",
        '        echo "health: alert webhook ($webhook_file) not sent: neither curl nor wget is on the host (apt-get install curl)" >&2',
        "    fi",
        "}",
    ];
}

/** The check of one stack: the table or `--json`, exit 0 healthy, 1 failing, 2 could not check; `--alert` alerts (the timer's). */
export function renderHealthScript(settings: HealthSettings): string {
    const env = settings.environment;
    const user = settings.scope === "user" ? "--user " : "";
    const up = `npm run stack -- up ${env}`;
    const db = settings.dbContainer;
    const app = settings.appContainer;
    const unit = healthUnitName(env);
    const connection = settings.connection === "ssh" ? "remote" : "local";
    const reinstall = `npm run stack -- up ${env} --replace 'urn:pulumi:${env}::${PROJECT}::${PROJECT}:index:BootUnits$command:${connection}:Command::${env}-boot-install'`;
    const devMode = expectedDevMode(env);
    const proxyUrl = settings.proxyUrl && new URL("api/version", settings.proxyUrl.endsWith("/") ? settings.proxyUrl : `${settings.proxyUrl}/`).toString();
    const probeInside = (port: number) => {
        const url = `http://127.0.0.1:${port}/api/version`;
        // wget fails on anything but 2xx, so its success is a 200.
        return `if command -v curl >/dev/null; then curl -sS -w '\\n%{http_code}' ${url}; else body=$(wget -q -O - ${url}) && printf '%s\\n200' "$body"; fi`;
    };
    const containerChecks = (container: string, role: string) => `container_checks ${q(container)} ${role} ${q(unitName(container))}`;
    return [
        "#!/bin/sh",
        `# The health check of the Pulumi stack ${PROJECT}/${env}; pulumi up installs and overwrites it.`,
        `# Usage: sh ${healthScriptFile(env)} [--json] [--alert]. Exit 0: healthy; 1: a check failed; 2: could not check.`,
        ...commonShell(settings),
        `alert_repeat_seconds=${settings.alertRepeatMinutes * 60}`,
        `stale_seconds=${settings.intervalMinutes * 60 * STALE_INTERVALS}`,
        `unit_dir="${unitDirectory(settings.scope)}"`,
        "# shellcheck disable=SC2016 # the $ is the URN's own",
        `reinstall_fix=${q(reinstall)}`,
        "now=$(date +%s)",
        "json=0",
        "alert=0",
        'for arg in "$@"; do',
        '    case $arg in',
        "        --json) json=1 ;;",
        "        --alert) alert=1 ;;",
        `        *) echo "health: unknown argument '$arg'; usage: sh $0 [--json] [--alert]" >&2; exit 2 ;;`,
        "    esac",
        "done",
        'command -v podman >/dev/null 2>&1 || { echo "health: podman is not on PATH ($PATH)" >&2; exit 2; }',
        'tmp=$(mktemp -d) || exit 2',
        "trap 'rm -rf \"$tmp\"' EXIT",
        'rows="$tmp/rows"',
        ': > "$rows"',
        // One row per check: ok, name, detail, fix; tabs and newlines in what was seen become spaces.
        "clean() { printf '%s' \"$1\" | tr '\\t\\n\\r' '   ' | tr -d '\\000-\\010\\013-\\037'; }",
        "pass() { printf '1\\t%s\\t%s\\t\\n' \"$1\" \"$(clean \"$2\")\" >> \"$rows\"; }",
        "fail() { printf '0\\t%s\\t%s\\t%s\\n' \"$1\" \"$(clean \"$2\")\" \"$(clean \"$3\")\" >> \"$rows\"; }",
        "",
        "# container_checks NAME ROLE UNIT: exists, runs, passes its healthcheck.",
        "container_checks() {",
        "    if ! seen=$(podman container inspect --format '{{.State.Status}} {{.State.ExitCode}}' \"$1\" 2>/dev/null); then",
        `        fail "$2 $1 exists" "no such container" ${q(up)}`,
        "        return",
        "    fi",
        '    pass "$2 $1 exists" "present"',
        '    status=${seen% *}',
        '    if [ "$status" = running ]; then pass "$2 $1 runs" "$status"',
        '    elif [ "$status" = exited ]; then fail "$2 $1 runs" "exited (exit code ${seen##* })" "systemctl ' + user + 'restart $3; journalctl ' + user + '-u $3 -n 50"',
        '    else fail "$2 $1 runs" "$status" "systemctl ' + user + 'restart $3; journalctl ' + user + '-u $3 -n 50"; fi',
        '    podman healthcheck run "$1" > /dev/null 2>&1',
        "    code=$?",
        '    if [ "$code" -eq 0 ]; then pass "$2 $1 healthy" "healthcheck passes"',
        '    else fail "$2 $1 healthy" "healthcheck exit code $code" "podman logs --tail 50 $1; podman healthcheck run $1"; fi',
        "}",
        "",
        "# An /api/version answer: HTTP status on the last line, the body before; the version a JSON field or the plain body.",
        "version_check() {",
        '    status=$(tail -n 1 "$2")',
        '    body=$(sed \'$d\' "$2")',
        '    case $body in',
        `        "{"*) reported=$(printf '%s' "$body" | sed -nE 's/.*"(version|appVersion|APP_VERSION)"[[:space:]]*:[[:space:]]*"([^"]*)".*/\\2/p' | head -n 1) ;;`,
        `        \\"*) reported=$(printf '%s' "$body" | sed -e 's/^"//' -e 's/"$//') ;;`,
        "        *) reported=$body ;;",
        "    esac",
        '    reported=$(printf \'%s\' "$reported" | cut -c 1-80)',
        `    if [ "$status" = 200 ] && [ "$reported" = ${q(settings.version ?? "")} ]; then pass "$1" "HTTP 200, version \\"$reported\\""`,
        `    elif [ "$status" = 200 ]; then fail "$1" "HTTP 200, version \\"$reported\\", expected 200 and \\"${settings.version ?? ""}\\"" ${q(`npm run stack -- output ${env} appImageTag; ${up}`)}`,
        `    else fail "$1" "HTTP $status, version \\"$reported\\", expected 200 and \\"${settings.version ?? ""}\\"" "$3"; fi`,
        "}",
        "",
        containerChecks(db, "database"),
        ...(app === undefined ? [] : [
            `app=${q(app)}`,
            "app_env=\"$tmp/app.env\"",
            "if podman container inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \"$app\" > \"$app_env\" 2>/dev/null; then have_env=1; else have_env=0; fi",
            'env_value() { sed -n "s/^$1=//p" "$app_env" | head -n 1; }',
            "db_status=$(podman container inspect --format '{{.State.Status}}' " + q(db) + " 2>/dev/null)",
            // A query as the app logs in: to its POSTGRES_HOST over the network, its user, its password (in the
            // environment only). psql runs in the database container, whose image has it; the name resolves
            // there to the container's network address, not loopback, which the postgres image trusts.
            'if [ "$have_env" -eq 1 ] && [ "$db_status" = running ]; then',
            "    PGPASSWORD=$(env_value POSTGRES_PASSWORD) PGCONNECT_TIMEOUT=10 podman exec --env PGPASSWORD --env PGCONNECT_TIMEOUT " + q(db) + " psql -X -q \\",
            `        -h "$(env_value POSTGRES_HOST)" -p "$(env_value POSTGRES_PORT)" -U "$(env_value POSTGRES_USER)" -d "$(env_value POSTGRES_DB)" -c 'select 1' > /dev/null 2> "$tmp/psql.err"`,
            "    code=$?",
            `    if [ "$code" -eq 0 ]; then pass "database ${db} accepts the app's login" "login and query succeed"`,
            // psql's own words (FATAL: password authentication failed ...), never the password.
            `    else fail "database ${db} accepts the app's login" "login failed (exit code $code): $(tail -n 1 "$tmp/psql.err" | cut -c 1-200)" ${q(`podman logs --tail 50 ${db}`)}; fi`,
            "else",
            `    fail "database ${db} accepts the app's login" "not checked (no app environment to log in with)" ${q(`podman logs --tail 50 ${db}`)}`,
            "fi",
            containerChecks(app, "app"),
            `if [ "$(podman container inspect --format '{{.State.Status}}' "$app" 2>/dev/null)" = running ]; then`,
            `    if podman exec "$app" sh -c ${q(probeInside(settings.appPort ?? 80))} > "$tmp/direct" 2> "$tmp/direct.err" || [ -s "$tmp/direct" ]; then`,
            `        version_check "app $app /api/version" "$tmp/direct" ${q(`podman logs --tail 50 ${app}`)}`,
            `    else fail "app $app /api/version" "no answer from http://127.0.0.1:${settings.appPort ?? 80}/api/version inside $app: $(head -n 1 "$tmp/direct.err")" ${q(`podman logs --tail 50 ${app}`)}; fi`,
            `else fail "app $app /api/version" "$app is not running" ${q(`podman logs --tail 50 ${app}`)}; fi`,
            ...(proxyUrl === undefined ? [] : [
                `proxy_url=${q(proxyUrl)}`,
                `proxy_fix=${q(`curl -sS -i ${proxyUrl} (then the reverse proxy's configuration and logs)`)}`,
                "if command -v curl >/dev/null 2>&1; then",
                `    if curl -sS -m 10 -w '\\n%{http_code}' "$proxy_url" > "$tmp/proxy" 2> "$tmp/proxy.err"; then version_check "app $app /api/version via the proxy" "$tmp/proxy" "$proxy_fix"`,
                '    else fail "app $app /api/version via the proxy" "$proxy_url: $(head -n 1 "$tmp/proxy.err")" "$proxy_fix"; fi',
                "elif command -v wget >/dev/null 2>&1; then",
                `    if body=$(wget -q -O - -T 10 "$proxy_url" 2> "$tmp/proxy.err"); then printf '%s\\n200' "$body" > "$tmp/proxy"; version_check "app $app /api/version via the proxy" "$tmp/proxy" "$proxy_fix"`,
                '    else fail "app $app /api/version via the proxy" "$proxy_url: no 2xx answer (wget)" "$proxy_fix"; fi',
                'else fail "app $app /api/version via the proxy" "not checked: neither curl nor wget is on the host" "apt-get install curl"; fi',
            ]),
            // The incident: dev's app pointed at prod's database. Names only the variables, never other values.
            'if [ "$have_env" -eq 1 ]; then',
            "    problems=",
            '    pg_host=$(env_value POSTGRES_HOST)',
            `    grep -q '^POSTGRES_HOST=' "$app_env" || problems="POSTGRES_HOST is unset, not the ${env} database (${db})"`,
            `    [ -z "$problems" ] && [ "$pg_host" != ${q(db)} ] && problems="POSTGRES_HOST is \\"$pg_host\\", not the ${env} database (${db})"`,
            ...(devMode === undefined ? [
                `    grep -q '^DEV_MODE=' "$app_env" && problems="\${problems:+$problems; }DEV_MODE is set in ${env}; it belongs to dev only"`,
            ] : [
                '    dev_mode=$(env_value DEV_MODE)',
                `    if ! grep -q '^DEV_MODE=' "$app_env"; then problems="\${problems:+$problems; }DEV_MODE is unset in ${env}, expected \\"${devMode}\\""`,
                `    elif [ "$dev_mode" != ${q(devMode)} ]; then problems="\${problems:+$problems; }DEV_MODE is \\"$dev_mode\\" in ${env}, expected \\"${devMode}\\""; fi`,
            ]),
            // A refresh finds the stack's container gone and the next up creates it, once the name is free.
            `    if [ -z "$problems" ]; then pass "app $app uses the ${env} database" "POSTGRES_HOST=${db}"`,
            `    else fail "app $app uses the ${env} database" "$problems" ${q(`podman rm -f ${app}; npm run stack -- up ${env} --refresh`)}; fi`,
            "fi",
        ]),
        "",
        "# unit_checks UNIT SHA256 KIND: enabled and active (KIND install), or its last run succeeded (a oneshot its timer starts); the file as deployed.",
        "unit_checks() {",
        '    if [ "$3" = install ]; then',
        `        enabled=$(systemctl ${user}is-enabled "$1" 2>/dev/null)`,
        `        active=$(systemctl ${user}is-active "$1" 2>/dev/null)`,
        `        if [ "$enabled" = enabled ]; then pass "unit $1 enabled" "$enabled"; else fail "unit $1 enabled" "\${enabled:-unknown}" "systemctl ${user}enable $1"; fi`,
        `        if [ "$active" = active ]; then pass "unit $1 active" "$active"; else fail "unit $1 active" "\${active:-unknown}" "systemctl ${user}start $1; journalctl ${user}-u $1 -n 50"; fi`,
        "    else",
        `        result=$(systemctl ${user}show --property=Result --value "$1" 2>/dev/null)`,
        `        if [ "$result" = success ]; then pass "unit $1 last run succeeded" "$result"; else fail "unit $1 last run succeeded" "\${result:-unknown}" "journalctl ${user}-u $1 -n 50; then: systemctl ${user}start $1"; fi`,
        "    fi",
        '    if [ ! -f "$unit_dir/$1" ]; then fail "unit $1 file as deployed" "missing" "$reinstall_fix"',
        `    elif [ "$(sha256sum < "$unit_dir/$1" | cut -d ' ' -f 1)" = "$2" ]; then pass "unit $1 file as deployed" "identical"`,
        // Re-installing overwrites a hand edit; `systemctl cat` shows it first.
        `    else fail "unit $1 file as deployed" "changed by hand (systemctl ${user}cat $1)" "$reinstall_fix"; fi`,
        "}",
        ...Object.entries(settings.units).map(([name, content]) => `unit_checks ${q(name)} ${sha256(content)} ${/^\[Install\]$/m.test(content) ? "install" : "oneshot"}`),
        ...(settings.drillResultFile === undefined ? [] : [
            "",
            // The last restore drill: its result and age (its unit's row tells whether the last run failed).
            `drill_file="${settings.drillResultFile}"`,
            "drill_get() { sed -n \"s/^$1=//p\" \"$drill_file\" 2>/dev/null | head -n 1; }",
            `drill_name="restore drill passed in the last ${DRILL_MAX_AGE_DAYS} days"`,
            `drill_fix=${q(`journalctl ${user}-u ${PROJECT}-restore-drill-${env}.service -n 50; then: systemctl ${user}start ${PROJECT}-restore-drill-${env}.service`)}`,
            'drill_at=$(drill_get at)',
            'if [ -z "$drill_at" ]; then',
            `    installed=$(stat -c %Y "$health_dir/${healthScriptFile(env)}" 2>/dev/null || echo "$now")`,
            `    if [ $((now - installed)) -le ${DRILL_MAX_AGE_DAYS * 86400} ]; then pass "$drill_name" "none yet (the first runs within a week)"`,
            '    else fail "$drill_name" "no drill has run" "$drill_fix"; fi',
            'else',
            '    drill_age="$(((now - drill_at) / 3600)) h ago"',
            '    if [ "$(drill_get result)" != passed ]; then fail "$drill_name" "failed $drill_age: $(drill_get reason)" "$drill_fix"',
            `    elif [ $((now - drill_at)) -gt ${DRILL_MAX_AGE_DAYS * 86400} ]; then fail "$drill_name" "the last one passed $drill_age" "$drill_fix"`,
            '    else pass "$drill_name" "passed $drill_age: $(drill_get backup) restored in $(drill_get rto_seconds) s, $(drill_get tables) tables, $(drill_get rows) rows as in the backup"; fi',
            "fi",
        ]),
        "",
        "failing=$(state_get failing)",
        "last_alert=$(state_get last_alert)",
        "last_success=$(state_get last_success)",
        "check_failed=$(state_get check_failed)",
        // The operator's run asks whether the timer's runs are happening; the timer's own run is one.
        'if [ "$alert" -eq 0 ]; then',
        `    installed=$(stat -c %Y "$health_dir/${healthScriptFile(env)}" 2>/dev/null || echo 0)`,
        '    since=${last_success:-0}',
        '    [ "$installed" -gt "$since" ] && since=$installed',
        `    if [ $((now - since)) -le "$stale_seconds" ]; then pass "check ${unit}.timer ran in the last ${STALE_INTERVALS} intervals" "last run $(((now - since) / 60)) min ago (every ${settings.intervalMinutes} min)"`,
        `    else fail "check ${unit}.timer ran in the last ${STALE_INTERVALS} intervals" "no successful run for $(((now - since) / 60)) min (every ${settings.intervalMinutes} min)" "systemctl ${user}status ${unit}.timer ${unit}.service; journalctl ${user}-u ${unit}.service -n 50"; fi`,
        "fi",
        "",
        'ok=1; grep -q "^0" "$rows" && ok=0',
        "# The report: a table (✓/✗, and for a failure the command to run) or JSON, from the rows.",
        String.raw`render() {
    awk -F '\t' -v mode="$1" -v env="$environment" -v host="$host" -v ok="$ok" -v kind="${"${2:-}"}" '
        ${AWK_JSON_STRING}
        { n++; okv[n] = $1; name[n] = $2; detail[n] = $3; fix[n] = $4; if (length($2) > width) width = length($2) }
        END {
            if (mode == "table") {
                printf "${PROJECT} %s on %s: %s\n", env, host, (ok ? "healthy" : "FAILING")
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
                if (kind == "recovered") printf "${PROJECT} %s on %s recovered: all %d checks pass\n", env, host, n
                else printf "${PROJECT} %s on %s %s: %s\n", env, host, (kind == "reminder" ? "still failing" : "FAILING"), failed
                for (i = 1; i <= n; i++) if (!okv[i]) { printf "✗ %s: %s\n", name[i], detail[i]; if (fix[i] != "") printf "  fix: %s\n", fix[i] }
            } else {
                printf "["; count = 0
                for (i = 1; i <= n; i++) if (!okv[i]) printf "%s%s", (count++ ? "," : ""), js(name[i])
                printf "]"
            }
        }' "$rows"
}`,
        "",
        'if [ "$alert" -eq 1 ]; then',
        // Alert on the change to failing, once on recovery, and while failing a reminder every alertRepeatMinutes.
        "    kind=",
        '    if [ "$ok" -eq 1 ]; then',
        '        [ "${failing:-0}" = 1 ] && kind=recovered',
        "        last_alert=",
        '    elif [ "${failing:-0}" != 1 ]; then kind=failing; last_alert=$now',
        '    elif [ -z "$last_alert" ] || [ $((now - last_alert)) -ge "$alert_repeat_seconds" ]; then kind=reminder; last_alert=$now; fi',
        '    if [ -n "$kind" ]; then',
        '        render alert "$kind" > "$tmp/alert"',
        '        deliver "$kind" "$tmp/alert" "$(render failed)"',
        "    fi",
        // The self-watch's recovery: the check that failed to run (health-*-failed.sh) runs again.
        '    if [ "${check_failed:-0}" = 1 ]; then',
        `        printf '%s\\n' "${PROJECT} ${env} on $host: the health check runs again (${unit}.service)" > "$tmp/check"`,
        "        deliver check-recovered \"$tmp/check\" '[]'",
        "    fi",
        '    state_write "$((1 - ok))" "$last_alert" "$now" 0',
        "fi",
        'if [ "$json" -eq 1 ]; then render json; else render table; fi',
        '[ "$ok" -eq 1 ] || exit 1',
        "",
    ].join("\n");
}

/**
 * The self-watch: run by systemd when the check's service failed (its script missing,
 * crashing or timing out; a failing check exits 1, which the service counts as success).
 * One alert per failure streak; the check's next run sends the recovery.
 */
export function renderCheckFailedScript(settings: HealthSettings): string {
    const env = settings.environment;
    const unit = healthUnitName(env);
    const user = settings.scope === "user" ? "--user " : "";
    return [
        "#!/bin/sh",
        `# Alerts when the health check of the Pulumi stack ${PROJECT}/${env} did not run; pulumi up installs and overwrites it.`,
        ...commonShell(settings),
        'if [ "$(state_get check_failed)" = 1 ]; then exit 0; fi',
        'tmp=$(mktemp -d) || exit 1',
        "trap 'rm -rf \"$tmp\"' EXIT",
        // systemd gives an OnFailure= unit the failed unit's result (systemd.exec(5), $MONITOR_SERVICE_RESULT).
        `printf '%s\\n%s\\n' "${PROJECT} ${env} on $host: the health check did not run (${unit}.service: \${MONITOR_SERVICE_RESULT:-failed}, exit \${MONITOR_EXIT_STATUS:-unknown})" \\`,
        `    "  fix: journalctl ${user}-u ${unit}.service -n 50; then: npm run stack -- up ${env} (re-installs the check)" > "$tmp/check"`,
        "deliver check-failed \"$tmp/check\" '[]'",
        'state_write "$(state_get failing)" "$(state_get last_alert)" "$(state_get last_success)" 1',
        "",
    ].join("\n");
}

/** The oneshot service the timer starts: the check with alerts; its own failure starts the self-watch. */
export function renderHealthService(settings: HealthSettings): string {
    const env = settings.environment;
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${env}; pulumi up overwrites it.`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${env} health check`,
        `OnFailure=${checkFailedUnit(env)}`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=/bin/sh ${pathInUnit(settings.scope, healthScriptFile(env))} --alert`,
        // A failing stack is the check's finding, sent as an alert; only a check that could not run fails the unit.
        "SuccessExitStatus=1",
        "TimeoutStartSec=300",
        "",
    ].join("\n");
}

/** The self-watch's service, started by systemd when the check's service fails. */
export function renderCheckFailedService(settings: HealthSettings): string {
    const env = settings.environment;
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${env}; pulumi up overwrites it.`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${env} health check failed to run: alert`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=/bin/sh ${pathInUnit(settings.scope, checkFailedScriptFile(env))}`,
        "TimeoutStartSec=120",
        "",
    ].join("\n");
}

/** Every `intervalMinutes`, and after a boot that missed a run (Persistent=true needs OnCalendar). */
export function renderHealthTimer(settings: HealthSettings): string {
    const minutes = settings.intervalMinutes;
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${settings.environment}; pulumi up overwrites it.`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${settings.environment} health check every ${minutes} min`,
        "",
        "[Timer]",
        `OnCalendar=${minutes === 60 ? "hourly" : `*:0/${minutes}`}`,
        "Persistent=true",
        "AccuracySec=10s",
        `Unit=${healthUnitName(settings.environment)}.service`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

/**
 * Installs or updates the check in place: scripts and units written atomically; the
 * webhook URL read from stdin into a 0600 file (never a unit, a script or a command
 * line); the alert state left as it is; the timer enabled and restarted, and one run
 * started, so the first report does not wait for the timer.
 */
export function renderHealthInstallScript(settings: HealthSettings): string {
    const env = settings.environment;
    const unit = healthUnitName(env);
    const files: [string, string, string][] = [
        ["$unit_dir", `${unit}.service`, renderHealthService(settings)],
        ["$unit_dir", checkFailedUnit(env), renderCheckFailedService(settings)],
        ["$unit_dir", `${unit}.timer`, renderHealthTimer(settings)],
        ["$health_dir", healthScriptFile(env), renderHealthScript(settings)],
        ["$health_dir", checkFailedScriptFile(env), renderCheckFailedScript(settings)],
    ];
    return [
        ...scriptPrelude(settings, "Installs the health check of"),
        `health_dir="${healthDirectory(settings.scope)}"`,
        'mkdir -p "$unit_dir" "$health_dir"',
        "write_file() {",
        '    tmp="$1/.$2.tmp.$$"',
        "    printf '%s' \"$3\" > \"$tmp\"",
        '    chmod "$4" "$tmp"',
        '    mv -f "$tmp" "$1/$2"',
        "}",
        ...files.map(([dir, name, content]) => `write_file "${dir}" ${name} ${quote([content])} ${name.endsWith(".sh") ? 755 : 644}`),
        "umask 077",
        "webhook=$(cat)",
        `if [ -n "$webhook" ]; then write_file "$health_dir" ${webhookFile(env)} "$webhook" 600; else rm -f "$health_dir"/${webhookFile(env)}; fi`,
        "reload",
        `unit_ctl ${unit}.timer enable`,
        `unit_ctl ${unit}.timer restart`,
        `unit_ctl ${unit}.service start --no-block`,
        `echo "${PROJECT}: installed ${unit}.timer (every ${settings.intervalMinutes} min)"`,
        "",
    ].join("\n");
}

/** Removes the check of this stack: timer, services, scripts and webhook file; the alert state is the stack's (renderHealthStateRemoveScript). */
export function renderHealthRemoveScript(spec: Pick<HealthSettings, "environment" | "scope">): string {
    const unit = healthUnitName(spec.environment);
    const env = spec.environment;
    return [
        ...scriptPrelude(spec, "Removes the health check of"),
        `health_dir="${healthDirectory(spec.scope)}"`,
        `if [ -e "$unit_dir"/${unit}.timer ]; then unit_ctl ${unit}.timer disable --now; fi`,
        `rm -f "$unit_dir"/${unit}.timer "$unit_dir"/${unit}.service "$unit_dir"/${checkFailedUnit(env)} "$health_dir"/${healthScriptFile(env)} "$health_dir"/${checkFailedScriptFile(env)} "$health_dir"/${webhookFile(env)}`,
        "reload",
        `echo "${PROJECT}: removed ${unit}.timer"`,
        "",
    ].join("\n");
}

/** Deletes the alert state: run only when the stack itself is removed, never by a re-install. */
export function renderHealthStateRemoveScript(spec: Pick<HealthSettings, "environment" | "scope">): string {
    return [
        "#!/bin/sh",
        `# Removes the health check's alert state of the Pulumi stack ${PROJECT}/${spec.environment}. Generated: do not edit.`,
        "set -eu",
        `rm -f "${healthDirectory(spec.scope)}/${stateFile(spec.environment)}"`,
        "",
    ].join("\n");
}
