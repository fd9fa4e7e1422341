import { quote } from "shell-quote";
import { EnvironmentName, PROJECT, unitName } from "./environments";

export type SystemdScope = "user" | "system";

/** What the units of one stack start: its database and, where it has one, its app. */
export interface BootSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    readonly dbContainer: string;
    readonly appContainer?: string;
    /** How long the app unit waits for the database to be healthy before it fails. */
    readonly dbHealthTimeoutSeconds: number;
}

/** Unit file name to content. */
export type UnitFiles = Readonly<Record<string, string>>;

export const PODMAN = "/usr/bin/podman";
const STOP_SECONDS = 30;

/** Where a scope's unit files live; `$HOME` is expanded by the install script. */
export function unitDirectory(scope: SystemdScope): string {
    return scope === "user" ? "${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user" : "/etc/systemd/system";
}

/**
 * Renders one unit that supervises an existing, named container. The unit does
 * not create the container (Pulumi does): `podman start` starts it, `podman wait`
 * holds the unit active while it runs, so a crash or a clean exit (the incident's
 * `Exited (0)`) ends the unit and `Restart=always` starts the container again.
 * Nothing refers to the container id, so a container Pulumi replaces under the
 * same name is picked up without re-rendering.
 */
function renderContainerUnit(spec: BootSpec, container: string, role: string, extra: { unit: string[]; preStart: string[]; startSeconds: number }): string {
    const where = spec.scope === "user" ? "--user " : "";
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
        `# Check: systemctl ${where}status ${unitName(container)}`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${spec.environment} ${role} (podman container ${container})`,
        ...extra.unit,
        // Never give up: a database that stays down is the incident this exists for.
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        ...extra.preStart.map((line) => `ExecStartPre=${line}`),
        `ExecStartPre=${PODMAN} start ${container}`,
        `ExecStart=${PODMAN} wait ${container}`,
        `ExecStop=${PODMAN} stop --time ${STOP_SECONDS} ${container}`,
        "Restart=always",
        "RestartSec=5",
        `TimeoutStartSec=${extra.startSeconds}`,
        `TimeoutStopSec=${STOP_SECONDS + 15}`,
        "",
        "[Install]",
        `WantedBy=${spec.scope === "user" ? "default.target" : "multi-user.target"}`,
        "",
    ].join("\n");
}

/** The command an app unit runs first: wait, bounded, until the database's healthcheck passes. */
export function waitForHealthyCommand(spec: BootSpec): string {
    const seconds = spec.dbHealthTimeoutSeconds;
    const journal = `journalctl ${spec.scope === "user" ? "--user " : ""}-u ${unitName(spec.dbContainer)}`;
    // No '$' or '%' here: systemd would expand them. Container names are [a-z0-9-].
    return `/bin/sh -c 'timeout ${seconds} sh -c "until ${PODMAN} healthcheck run ${spec.dbContainer} >/dev/null 2>&1; do sleep 2; done" ` +
        `|| { echo "${spec.appContainer}: database ${spec.dbContainer} not healthy after ${seconds}s; see ${journal}" >&2; exit 1; }'`;
}

/**
 * Ordering without systemd's default dependencies. Podman before 4.4 (Debian 12
 * ships 4.3) stops a container's healthcheck timer inside `podman stop` and waits
 * for it; the default After=basic.target orders the unit after timers.target, so at
 * shutdown that timer's stop queues behind the unit itself and the shutdown hangs
 * until TimeoutStopSec (podman#14531, fixed in 4.4). Measured in the e2e suite.
 */
function baseOrdering(scope: SystemdScope): string[] {
    return [
        "DefaultDependencies=no",
        ...(scope === "system"
            ? ["Wants=network-online.target", "After=sysinit.target sockets.target paths.target network-online.target"]
            : ["After=sockets.target paths.target"]),
        "Conflicts=shutdown.target",
        "Before=shutdown.target",
    ];
}

/** Renders the units of one stack. */
export function renderUnits(spec: BootSpec): UnitFiles {
    const ordering = baseOrdering(spec.scope);
    const units: Record<string, string> = {
        [unitName(spec.dbContainer)]: renderContainerUnit(spec, spec.dbContainer, "PostgreSQL", {
            unit: ordering, preStart: [], startSeconds: 120,
        }),
    };
    if (spec.appContainer !== undefined) {
        const dbUnit = unitName(spec.dbContainer);
        units[unitName(spec.appContainer)] = renderContainerUnit(spec, spec.appContainer, "app", {
            unit: [...ordering, `Requires=${dbUnit}`, `After=${dbUnit}`],
            preStart: [waitForHealthyCommand(spec)],
            startSeconds: spec.dbHealthTimeoutSeconds + 60,
        });
    }
    return units;
}

/** Lines every script starts with: strict mode, the scope's systemctl and a loud failure naming the unit. */
export function scriptPrelude(spec: Pick<BootSpec, "environment" | "scope">, purpose: string): string[] {
    const user = spec.scope === "user";
    return [
        "#!/bin/sh",
        `# ${purpose} the systemd units of the Pulumi stack ${PROJECT}/${spec.environment}. Generated: do not edit.`,
        "set -eu",
        ...(user ? ['XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"', "export XDG_RUNTIME_DIR"] : []),
        `unit_dir="${unitDirectory(spec.scope)}"`,
        "unit_ctl() {",
        `    unit=$1; shift`,
        `    if ! systemctl ${user ? "--user " : ""}"$@" "$unit"; then`,
        `        echo "${PROJECT}: systemctl ${user ? "--user " : ""}$* $unit failed; see: journalctl ${user ? "--user " : ""}-u $unit" >&2`,
        "        exit 1",
        "    fi",
        "}",
        "reload() {",
        `    systemctl ${user ? "--user " : ""}daemon-reload || { echo "${PROJECT}: systemctl daemon-reload failed" >&2; exit 1; }`,
        "}",
    ];
}

/** Lingering keeps a user's units running without a login, and starts them at boot. */
const ENSURE_LINGER = [
    'me=$(id -un)',
    'if [ ! -e "/var/lib/systemd/linger/$me" ]; then',
    '    loginctl enable-linger "$me" || { echo "' + PROJECT + ': cannot enable lingering for $me, so the units would not start at boot; run as root: loginctl enable-linger $me" >&2; exit 1; }',
    "fi",
];

/**
 * The install script: writes the units atomically (temp file, then rename), reloads
 * systemd, enables them for boot and starts them, database first. Idempotent, and
 * it touches only the units it names.
 */
export function renderInstallScript(spec: BootSpec, units: UnitFiles): string {
    const names = Object.keys(units);
    return [
        ...scriptPrelude(spec, "Installs"),
        ...(spec.scope === "user" ? ENSURE_LINGER : []),
        'mkdir -p "$unit_dir"',
        "write_unit() {",
        '    tmp="$unit_dir/.$1.tmp.$$"',
        "    printf '%s' \"$2\" > \"$tmp\"",
        '    mv -f "$tmp" "$unit_dir/$1"',
        "}",
        ...names.map((name) => `write_unit ${quote([name])} ${quote([units[name]])}`),
        "reload",
        ...names.map((name) => `unit_ctl ${quote([name])} enable`),
        ...names.map((name) => `unit_ctl ${quote([name])} start`),
        `echo "${PROJECT}: installed ${names.join(" ")}"`,
        "",
    ].join("\n");
}

/** The remove script: stops and disables this stack's units and deletes their files; volumes and other stacks are untouched. */
export function renderRemoveScript(spec: BootSpec, units: UnitFiles): string {
    // App before database, the reverse of start.
    const names = Object.keys(units).reverse();
    return [
        ...scriptPrelude(spec, "Removes"),
        ...names.flatMap((name) => [
            `if [ -e "$unit_dir"/${quote([name])} ]; then`,
            `    unit_ctl ${quote([name])} disable --now`,
            `    rm -f "$unit_dir"/${quote([name])}`,
            "fi",
        ]),
        "reload",
        `echo "${PROJECT}: removed ${names.join(" ")}"`,
        "",
    ].join("\n");
}
