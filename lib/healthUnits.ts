import { createHash } from "node:crypto";
import { expectedDevMode } from "./appEnv";
import { EnvironmentName, PROJECT, unitName } from "./environments";
import { renderHostScript } from "./hostScript";
import { drillUnitName, OFFSITE_TIMEOUT, OFFSITE_UPLOAD_STAMP } from "./offsite";
import { baseBackupUnitName, WAL_ARCHIVE, WAL_GAP_FILE, WAL_MAX_AGE_SECONDS, WAL_UPLOAD_STAMP, walUnitName } from "./pitr";
import { SystemdScope, UnitFiles } from "./systemd";

/**
 * The installed health check: a POSIX sh script per stack (host/health.sh), rendered here and written to
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
    /** How long the stack's units may take to come up after a boot (bootGraceSeconds): the check pages for nothing before. */
    readonly bootGraceSeconds: number;
    /**
     * The off-host copies whose age the check alerts on, where the stack has them: the nightly copy's and, with
     * point-in-time recovery, the WAL upload's, with the archive's disk (its reserve, lib/pitr.ts) and gap.
     */
    readonly offsiteCopies?: { readonly backupDirectory: string; readonly pitr?: { readonly walReserveMiB: number } };
}

/** How old the nightly off-host copy may be: a day, and the time limit of the unit that makes it (OFFSITE_TIMEOUT, hours). */
export const NIGHTLY_COPY_MAX_AGE_SECONDS = (24 + Number.parseInt(OFFSITE_TIMEOUT, 10)) * 3600;

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
export const deployWindowFile = (env: EnvironmentName) => `health-${env}.deploying`;
const checkFailedUnit = (env: EnvironmentName) => `${healthUnitName(env)}-failed.service`;

/** The check's path as a unit names it: `%h` is the user's home in a user unit. */
function pathInUnit(scope: SystemdScope, file: string): string {
    return scope === "user" ? `%h/.config/${PROJECT}/${file}` : `/etc/${PROJECT}/${file}`;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The parameters host/lib/health-alert.sh takes: where the alert state and the webhook file are, and the operator's command. */
function alertParams(settings: HealthSettings) {
    const env = settings.environment;
    return { environment: env, alert_command: settings.alertCommand ?? "", state_file: stateFile(env), webhook_file: webhookFile(env), scope: settings.scope };
}

/** host/health.sh's rows of the off-host copies' ages and the WAL archive's disk; empty where the stack has none. */
function offsiteAgeParams(settings: HealthSettings) {
    const env = settings.environment;
    const copies = settings.offsiteCopies;
    const pitr = copies?.pitr;
    return {
        nightly_stamp: copies ? `${copies.backupDirectory}/${OFFSITE_UPLOAD_STAMP}` : "",
        nightly_max_age_seconds: NIGHTLY_COPY_MAX_AGE_SECONDS,
        nightly_unit: `${PROJECT}-backup-${env}`,
        wal_stamp: copies && pitr ? `${copies.backupDirectory}/${WAL_UPLOAD_STAMP}` : "",
        wal_max_age_seconds: WAL_MAX_AGE_SECONDS,
        wal_unit: walUnitName(env),
        base_unit: baseBackupUnitName(env),
        wal_archive: WAL_ARCHIVE,
        wal_gap_file: WAL_GAP_FILE,
        wal_reserve_kib: (pitr?.walReserveMiB ?? 0) * 1024,
    };
}

/** The check of one stack (host/health.sh): the table or `--json`, exit 0 healthy, 1 failing, 2 could not check; `--alert` alerts (the timer's). */
export function renderHealthScript(settings: HealthSettings): string {
    const env = settings.environment;
    const connection = settings.connection === "ssh" ? "remote" : "local";
    const app = settings.appContainer;
    const proxyUrl = settings.proxyUrl && new URL("api/version", settings.proxyUrl.endsWith("/") ? settings.proxyUrl : `${settings.proxyUrl}/`).toString();
    return renderHostScript("health.sh", {
        health_script: healthScriptFile(env),
        health_unit: healthUnitName(env),
        interval_minutes: settings.intervalMinutes,
        stale_intervals: STALE_INTERVALS,
        stale_seconds: settings.intervalMinutes * 60 * STALE_INTERVALS,
        alert_repeat_seconds: settings.alertRepeatMinutes * 60,
        boot_installer: `urn:pulumi:${env}::${PROJECT}::${PROJECT}:index:BootUnits$command:${connection}:Command::${env}-boot-install`,
        db_container: settings.dbContainer,
        db_unit: unitName(settings.dbContainer),
        app: app ?? "",
        app_unit: app ? unitName(app) : "",
        app_port: settings.appPort ?? 80,
        version: settings.version ?? "",
        dev_mode: expectedDevMode(env) ?? "",
        proxy_url: proxyUrl ?? "",
        // The file as deployed, and whether it is enabled and active (an [Install] section) or a oneshot its timer starts.
        units: Object.entries(settings.units).map(([name, content]) => `${name} ${sha256(content)} ${/^\[Install\]$/m.test(content) ? "install" : "oneshot"}`).join("\n"),
        drill_file: settings.drillResultFile ?? "",
        drill_max_age_days: DRILL_MAX_AGE_DAYS,
        drill_unit: drillUnitName(env),
        boot_grace_seconds: settings.bootGraceSeconds,
        window_file: deployWindowFile(env),
        ...offsiteAgeParams(settings),
        ...alertParams(settings),
    });
}

/**
 * The self-watch (host/health-failed.sh): run by systemd when the check's service failed (its
 * script missing, crashing or timing out; a failing check exits 1, which the service counts as
 * success). One alert per failure streak; the check's next run sends the recovery.
 */
export function renderCheckFailedScript(settings: HealthSettings): string {
    return renderHostScript("health-failed.sh", { health_unit: healthUnitName(settings.environment), ...alertParams(settings) });
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

/**
 * Every `intervalMinutes`, and once the boot's grace is over. Not Persistent=true: the run it catches
 * up at boot came before the containers were up and paged for a boot that came up healthy; the run at
 * OnStartupSec= (after the manager's start: the boot's, or the lingering user manager's) is the first
 * that may page, and pages for a boot that did not come up.
 */
export function renderHealthTimer(settings: HealthSettings): string {
    const minutes = settings.intervalMinutes;
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${settings.environment}; pulumi up overwrites it.`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${settings.environment} health check every ${minutes} min`,
        "",
        "[Timer]",
        `OnCalendar=${minutes === 60 ? "hourly" : `*:0/${minutes}`}`,
        `OnStartupSec=${settings.bootGraceSeconds}`,
        "AccuracySec=10s",
        `Unit=${healthUnitName(settings.environment)}.service`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

/**
 * Installs or updates the check in place (host/health-install.sh): scripts and units written
 * atomically; the webhook URL read from stdin into a 0600 file (never a unit, a script or a
 * command line); the alert state left as it is; the timer enabled and restarted, and one run
 * started, so the first report does not wait for the timer.
 */
export function renderHealthInstallScript(settings: HealthSettings): string {
    const env = settings.environment;
    const unit = healthUnitName(env);
    return renderHostScript("health-install.sh", {
        units: {
            [`${unit}.service`]: renderHealthService(settings),
            [checkFailedUnit(env)]: renderCheckFailedService(settings),
            [`${unit}.timer`]: renderHealthTimer(settings),
        },
        scripts: { [healthScriptFile(env)]: renderHealthScript(settings), [checkFailedScriptFile(env)]: renderCheckFailedScript(settings) },
        webhook_file: webhookFile(env), health_unit: unit, interval_minutes: settings.intervalMinutes, scope: settings.scope,
    });
}

/**
 * The deploy window (host/health-deploy-window.sh): `open` before anything of the stack changes, `close`
 * once the check that expects the new state is installed (components/healthCheck.ts). While it is open
 * the check does not page: the installed check still expects the old tags and unit files, and a
 * database replaced for a new password is down for seconds. At most `seconds`: a deploy that failed
 * leaves it open, and the check pages once that has passed.
 */
export function renderDeployWindowScript(spec: Pick<HealthSettings, "environment" | "scope">, action: "open" | "close", seconds: number): string {
    return renderHostScript("health-deploy-window.sh", { action, window_file: deployWindowFile(spec.environment), window_seconds: seconds, scope: spec.scope });
}

/** How long a deploy window stays open at most: the backup before the deploy, both gates, the installs. */
export function deployWindowSeconds(deployTimeoutSeconds: number): number {
    return 2 * deployTimeoutSeconds + 600;
}

/** Removes the check of this stack (host/health-remove.sh): timer, services, scripts and webhook file; the alert state is the stack's (renderHealthStateRemoveScript). */
export function renderHealthRemoveScript(spec: Pick<HealthSettings, "environment" | "scope">): string {
    const unit = healthUnitName(spec.environment);
    const env = spec.environment;
    return renderHostScript("health-remove.sh", {
        health_unit: unit,
        units: [`${unit}.timer`, `${unit}.service`, checkFailedUnit(env)].join("\n"),
        files: [healthScriptFile(env), checkFailedScriptFile(env), webhookFile(env), deployWindowFile(env)].join("\n"),
        scope: spec.scope,
    });
}

/** Deletes the alert state (host/health-state-remove.sh): run only when the stack itself is removed, never by a re-install. */
export function renderHealthStateRemoveScript(spec: Pick<HealthSettings, "environment" | "scope">): string {
    return renderHostScript("health-state-remove.sh", { state_file: stateFile(spec.environment), scope: spec.scope });
}
