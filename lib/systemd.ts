import { EnvironmentName, PROJECT, unitName } from "./environments";
import { renderHostScript } from "./hostScript";

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

/**
 * The timer of a oneshot service of the stack: at a systemd calendar `schedule`, `Persistent=true`,
 * so a run the host was off for is caught up at boot.
 */
export function renderCalendarTimer(spec: Pick<BootSpec, "environment" | "scope">, name: string, description: string, schedule: string): string {
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
        `# Check: systemctl ${spec.scope === "user" ? "--user " : ""}list-timers ${name}.timer`,
        "[Unit]",
        `Description=${description}`,
        "",
        "[Timer]",
        `OnCalendar=${schedule}`,
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
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
        // Only while `podman wait` runs (systemd sets MAINPID then, and unsets it once the main process has
        // exited): a container that stopped on its own, or that a deploy is replacing, is left alone; a plain
        // `podman stop <name>` here would stop the replacement a deploy has just created under the same name.
        `ExecStop=/bin/sh -c '[ -z "$$MAINPID" ] || exec ${PODMAN} stop --time ${STOP_SECONDS} ${container}'`,
        // systemd signals only `podman wait` and a running ExecStartPre/ExecStop, never conmon or the container: only
        // `podman stop` stops a container. Podman leaves conmon in this unit's cgroup (it makes no scope of its own when
        // INVOCATION_ID is set, libpod/oci_conmon_linux.go:118-121 at v4.3.1), so the default KillMode, after a start
        // that failed once `podman start` had run (or after `podman wait` failed), SIGTERMed and 45 s later SIGKILLed
        // conmon; a container whose conmon was killed stays "running" in Podman (4.3 and 5.4: only conmon's exit file
        // ends it): `podman start` does nothing, `podman wait` exits 125 ("no such exit code (container in state
        // running)"), the healthcheck fails, at every restart (seen in the e2e scenario db-first-start-fails). With
        // KillMode=process the container keeps running and the unit's next start picks it up. Not Quadlet's `mixed`:
        // there conmon is the main process; here a failed start would go straight to SIGKILL of the cgroup.
        "KillMode=process",
        "Restart=always",
        // A crash costs this plus systemd's timer slack (250 ms, sd-event's default accuracy) before `podman start`.
        // Not less: with StartLimitIntervalSec=0 a unit that keeps failing restarts at this pace forever, and a
        // second between attempts keeps that to about two podman processes a second.
        "RestartSec=1",
        `TimeoutStartSec=${extra.startSeconds}`,
        `TimeoutStopSec=${STOP_SECONDS + 15}`,
        "",
        "[Install]",
        `WantedBy=${spec.scope === "user" ? "default.target" : "multi-user.target"}`,
        "",
    ].join("\n");
}

/**
 * How often the app unit asks whether its database is healthy: the app starts at most this long after the
 * database is ready (each ask is one `podman healthcheck run`, a podman process and an exec).
 */
const WAIT_POLL_SECONDS = 0.25;

/** The command an app unit runs first: wait, bounded, until the database's healthcheck passes. */
export function waitForHealthyCommand(spec: BootSpec): string {
    const seconds = spec.dbHealthTimeoutSeconds;
    const journal = `journalctl ${spec.scope === "user" ? "--user " : ""}-u ${unitName(spec.dbContainer)}`;
    // No '$' or '%' here: systemd would expand them. Container names are [a-z0-9-].
    return `/bin/sh -c 'timeout ${seconds} sh -c "until ${PODMAN} healthcheck run ${spec.dbContainer} >/dev/null 2>&1; do sleep ${WAIT_POLL_SECONDS}; done" ` +
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

/**
 * How the app unit depends on its database unit (systemd 252, Debian 12's).
 * Not Requires=: when the database's start job fails once (a timeout at boot),
 * systemd fails the app's start job with result `dependency`, and Restart= never
 * applies to a job that did not run, so the app stayed down while the database
 * recovered through its own Restart=always. Not BindsTo=: it fails the start the
 * same way, and an app bound to a crashed database stays stopped after it recovers.
 * Wants= pulls the database in without failing the app's start; After= keeps the
 * order; the app's own bounded wait for a healthy database (and its Restart=always
 * when that wait runs out) then brings it up once the database does. Not PartOf=:
 * a database's restart, automatic or by a deploy that replaces its container, is a
 * restart job that PartOf= passes on to the app (the app's second outage in a
 * database deploy, measured in issue 21). A running app keeps running while its
 * database restarts, answers 500 for what needs the database, and serves again once
 * it is back, as the app connects per request.
 */
function databaseDependency(dbUnit: string): string[] {
    return [`Wants=${dbUnit}`, `After=${dbUnit}`];
}

/** How long systemd lets the database unit start, and the app unit, which first waits for the database's health. */
const DB_START_SECONDS = 120;
const appStartSeconds = (spec: BootSpec) => spec.dbHealthTimeoutSeconds + 60;

/**
 * How long after a boot the stack may still be coming up: its units' start timeouts one after the
 * other, as the app's start waits for the database's. The health check does not page before.
 */
export function bootGraceSeconds(spec: BootSpec): number {
    return DB_START_SECONDS + (spec.appContainer !== undefined ? appStartSeconds(spec) : 0);
}

/** Every unit file the stack installs: its containers' and `extra` (the backups' timers and services). What BootUnits installs and the health check expects. */
export function stackUnitFiles(spec: BootSpec, extra?: UnitFiles): UnitFiles {
    return { ...renderUnits(spec), ...extra };
}

/** Renders the units of one stack. */
export function renderUnits(spec: BootSpec): UnitFiles {
    const ordering = baseOrdering(spec.scope);
    const units: Record<string, string> = {
        [unitName(spec.dbContainer)]: renderContainerUnit(spec, spec.dbContainer, "PostgreSQL", {
            unit: ordering, preStart: [], startSeconds: DB_START_SECONDS,
        }),
    };
    if (spec.appContainer !== undefined) {
        const dbUnit = unitName(spec.dbContainer);
        units[unitName(spec.appContainer)] = renderContainerUnit(spec, spec.appContainer, "app", {
            unit: [...ordering, ...databaseDependency(dbUnit)],
            preStart: [waitForHealthyCommand(spec)],
            startSeconds: appStartSeconds(spec),
        });
    }
    return units;
}

/** Where a scope's scripts live (the backup and restore scripts the timers and the operator run); `$HOME` is expanded on the host (host/lib/scope.sh). */
export function scriptDirectory(scope: SystemdScope): string {
    return scope === "user" ? `$HOME/.local/lib/${PROJECT}` : `/usr/local/lib/${PROJECT}`;
}

/** The same directory as a unit names it: `%h` is the user's home in a user unit. */
export function scriptPathInUnit(scope: SystemdScope, file: string): string {
    return scope === "user" ? `%h/.local/lib/${PROJECT}/${file}` : `/usr/local/lib/${PROJECT}/${file}`;
}

/** Units that are enabled and started: those with an [Install] section (containers, timers), not the oneshots a timer runs. */
function enabledUnits(units: UnitFiles): string[] {
    return Object.keys(units).filter((name) => /^\[Install\]$/m.test(units[name]));
}

/**
 * Where the install script lists what it installed (`unit NAME` and `script NAME` lines), in the
 * script folder, so that the next install can remove what it no longer installs.
 */
const installedList = (env: string) => `.installed-${env}`;

/**
 * The install script (host/install-units.sh): removes what an earlier install of the stack put
 * there and this one does not (a unit stopped and disabled first), writes the units and scripts
 * atomically (temp file, then rename), reloads systemd, enables and starts the units that have an
 * [Install] section, database first, and lists what it installed. Idempotent; it touches only the
 * files it names and those it listed before. So a setting that adds or drops files (off-host
 * backups, the app) is an update in place: the containers that stay keep running.
 */
export function renderInstallScript(spec: BootSpec, units: UnitFiles, scripts: Readonly<Record<string, string>> = {}): string {
    return renderHostScript("install-units.sh", {
        environment: spec.environment, units, scripts, enabled: enabledUnits(units).join("\n"), installed_list: installedList(spec.environment), scope: spec.scope,
    });
}

/** The remove script (host/remove-units.sh): stops and disables this stack's units and deletes their files and scripts; volumes, backups and other stacks are untouched. */
export function renderRemoveScript(spec: BootSpec, units: UnitFiles, scripts: Readonly<Record<string, string>> = {}): string {
    // Timers and the app before the database: the reverse of start.
    const enabled = enabledUnits(units).reverse();
    return renderHostScript("remove-units.sh", {
        environment: spec.environment,
        disable: enabled.join("\n"),
        others: Object.keys(units).filter((name) => !enabled.includes(name)).join("\n"),
        scripts: Object.keys(scripts).join("\n"),
        installed_list: installedList(spec.environment),
        scope: spec.scope,
    });
}
