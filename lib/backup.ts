import { EnvironmentName, ENVIRONMENTS, PROJECT, unitName } from "./environments";
import { renderHostScript } from "./hostScript";
import { OFFSITE_TIMEOUT } from "./offsite";
import { renderCalendarTimer, SystemdScope } from "./systemd";

/** What one environment backs up, where to, and how many it keeps. */
export interface BackupSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    readonly dbContainer: string;
    /** The app, whose image tag names the backup, and its uploads volume; absent where there is no app. */
    readonly app?: { readonly container: string; readonly volume: string };
    /** The directory of this environment's backups on the host; `$HOME` is expanded there. */
    readonly directory: string;
    /** How many backups to keep at most, and how old one may be; the newest good backup is never deleted. */
    readonly keep: number;
    readonly maxAgeDays: number;
}

/** The backup and restore scripts' files, installed beside the others (lib/systemd.ts scriptDirectory). */
export const backupScriptFile = (env: EnvironmentName) => `backup-${env}.sh`;
export const restoreScriptFile = (env: EnvironmentName) => `restore-${env}.sh`;

/** Where backups go unless backupDir says otherwise: under the container user's home, outside anything a stack owns. */
export function defaultBackupDirectory(environment: EnvironmentName): string {
    return `$HOME/${PROJECT}-backups/${environment}`;
}

/**
 * A backup is `<env>-<UTC time>-<outgoing app tag>.dump` (pg_dump's custom format),
 * with `.uploads.tar` beside it where the environment has an app, and `.rows`, the rows of
 * each table the dump holds (what the restore drill checks against). The UTC time
 * sorts as text, so the newest is last.
 */
export const BACKUP_FILE = /^(prod|dev|test)-(\d{8}T\d{6}Z)-([A-Za-z0-9_.-]+)\.dump$/;

/** The script that backs one environment up (host/backup.sh): before a risky deploy, and nightly from a timer. */
export function renderBackupScript(spec: BackupSpec): string {
    return renderHostScript("backup.sh", {
        environment: spec.environment, db_container: spec.dbContainer, db_unit: unitName(spec.dbContainer),
        app: spec.app?.container ?? "", app_volume: spec.app?.volume ?? "",
        keep: spec.keep, max_age_minutes: spec.maxAgeDays * 1440, backup_dir: spec.directory, scope: spec.scope,
        ready_seconds: DB_READY_SECONDS,
    });
}

/**
 * How long the backup waits for a database that is still starting (crash recovery replays the WAL since the last
 * checkpoint, checkpoint_timeout 5 min by default: seconds, or minutes on a slow disk). Bounded: a database that
 * never gets ready fails the backup, and the health check reports it.
 */
export const DB_READY_SECONDS = 300;

/**
 * The script that restores one environment from a named backup (host/restore.sh): stops the
 * app's unit, restores the database (and, with --uploads, the uploads volume), starts the app
 * again and prints each table's row count. Refuses, before it changes anything: prod without
 * --yes-overwrite-prod, and another environment's backup unless --copy-from-<that>-into-<this>
 * names both.
 */
export function renderRestoreScript(spec: BackupSpec): string {
    return renderHostScript("restore.sh", {
        environment: spec.environment, environments: ENVIRONMENTS.join(" "), confirm: spec.environment === "prod" ? "yes" : "no",
        db_container: spec.dbContainer, app: spec.app?.container ?? "", app_unit: spec.app ? unitName(spec.app.container) : "", app_volume: spec.app?.volume ?? "",
        backup_dir: spec.directory, scope: spec.scope,
    });
}

/** The nightly backup: a oneshot service and its timer; Persistent=true catches up a night the host was off. */
export function renderBackupUnits(spec: BackupSpec & { readonly scriptPath: string; readonly schedule: string; readonly offsiteScriptPath?: string }): Record<string, string> {
    const name = `${PROJECT}-backup-${spec.environment}`;
    return {
        [`${name}.service`]: [
            `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
            "[Unit]",
            `Description=Rezept-Tagebuch ${spec.environment} backup (database${spec.app ? " and uploads" : ""}${spec.offsiteScriptPath ? ", then off the host" : ""})`,
            `After=${unitName(spec.dbContainer)}`,
            "",
            "[Service]",
            "Type=oneshot",
            // The script keeps its backups under $HOME, which a system unit does not set.
            "Environment=HOME=%h",
            `ExecStart=/bin/sh ${spec.scriptPath}`,
            // Then off the host: a failed copy fails this unit, which the health check reports.
            ...(spec.offsiteScriptPath ? [`ExecStart=/bin/sh ${spec.offsiteScriptPath} upload`] : []),
            // A oneshot has no start timeout by default: a copy hung on a silent network would hold the unit (and
            // every later night) forever, with no failure to alert on.
            ...(spec.offsiteScriptPath ? [`TimeoutStartSec=${OFFSITE_TIMEOUT}`] : []),
            "",
        ].join("\n"),
        [`${name}.timer`]: renderCalendarTimer(spec, name, `Nightly backup of Rezept-Tagebuch ${spec.environment}`, spec.schedule),
    };
}
