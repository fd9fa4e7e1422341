import { EnvironmentName, PROJECT, unitName } from "./environments";
import { backupScriptFile, restoreScriptFile } from "./backup";
import { renderHostScript } from "./hostScript";
import { renderCalendarTimer, SystemdScope } from "./systemd";

/**
 * Off-host copies of one environment's backups with restic, run from its official image
 * (`restic/restic`, whose ENTRYPOINT is restic itself), so the host needs nothing but Podman.
 * The repository's password is a Pulumi secret that reaches the host on a command's stdin
 * into a 0600 file (components/backups.ts); restic reads it from that file, mounted into its
 * container (RESTIC_PASSWORD_FILE): never a command line, a unit, a script or a log.
 */
export interface OffsiteSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    /** The restic repository: `sftp:user@host:/path`, `rest:https://host/path` or a path on another disk. */
    readonly repository: string;
    /** The pinned restic image. */
    readonly image: string;
    /** The local backup directory (`$HOME` expanded on the host), whose newest backup goes off-host. */
    readonly directory: string;
    /** How many snapshots to keep at least, and for how many days every snapshot is kept (restic forget's --keep-last and --keep-within). */
    readonly keep: number;
    readonly maxAgeDays: number;
    /** The database, whose image the restore drill runs a throwaway copy of. */
    readonly dbContainer: string;
    readonly dbImage: string;
}

/** The repository's password file (0600), in the config folder beside the health check's webhook file (host/lib/scope.sh). */
export const offsitePasswordFile = (env: EnvironmentName) => `offsite-${env}.password`;
/** The drill's last result, in the backup directory: `key=value` lines the health check reads. */
export const DRILL_RESULT_FILE = "restore-drill.last";
/** The last successful nightly copy's time (`at=<epoch>`), in the backup directory: what the health check ages. */
export const OFFSITE_UPLOAD_STAMP = "offsite-upload.last";
/** restic's host name for a stack's snapshots: each stack selects, restores and forgets its own only. */
export const resticHost = (env: EnvironmentName) => `${PROJECT}-${env}`;
export const offsiteScriptFile = (env: EnvironmentName) => `offsite-${env}.sh`;

/**
 * Row counts per table of a running database, named as pg_dump names them in COPY (quote_ident), sorted:
 * the SQL the restore drill and the point-in-time restore run (host/offsite.sh, host/pitr.sh), for the
 * e2e suite to count alike.
 */
export const LIVE_ROW_COUNTS_SQL = [
    "SELECT format('SELECT %L, count(*) FROM %I.%I', quote_ident(schemaname) || '.' || quote_ident(tablename), schemaname, tablename)",
    "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec",
];

/**
 * The parameters of host/lib/restic.sh, which every script that talks to the repository starts with:
 * restic in its container (the backup folder at /backup, the password file read-only, a repository on
 * another disk at its own path), tried again while another run holds the repository's lock, and a
 * repository that does not exist yet made first.
 */
export function resticParams(spec: Pick<OffsiteSpec, "environment" | "scope" | "repository" | "image" | "directory">) {
    const env = spec.environment;
    return {
        repository: spec.repository, restic_image: spec.image, restic_host: resticHost(env),
        // Names the repository it stands for: another repository (offsiteRepository moved) is made anew.
        password_file: offsitePasswordFile(env), created_file: `offsite-${env}.created`, restic_cache: `restic-${env}`,
        backup_dir: spec.directory, scope: spec.scope,
    };
}

/**
 * The script of one environment's off-host copies (host/offsite.sh): `upload` the newest local
 * backup and forget what retention lets go, `check` a tenth of the repository's data, `list`,
 * `fetch [SNAPSHOT]` back into the backup folder, and `drill`: the newest off-host dump restored
 * into a throwaway database, its row counts compared with the dump's, the result and the time it
 * took recorded for the health check. A failure exits non-zero, so its unit fails and the health
 * check alerts.
 */
export function renderOffsiteScript(spec: OffsiteSpec): string {
    const env = spec.environment;
    return renderHostScript("offsite.sh", {
        environment: env, keep: spec.keep, max_age_days: spec.maxAgeDays,
        backup_script: backupScriptFile(env), restore_script: restoreScriptFile(env), confirm: env === "prod" ? "yes" : "no",
        drill_result: DRILL_RESULT_FILE, scratch: `${spec.dbContainer}-restore-drill`, db_image: spec.dbImage, upload_stamp: OFFSITE_UPLOAD_STAMP,
        ...resticParams(spec),
    });
}

/** The weekly check of the repository and restore drill: a oneshot service and its timer. */
export function renderDrillUnits(spec: Pick<OffsiteSpec, "environment" | "scope"> & { readonly scriptPath: string; readonly schedule: string; readonly dbContainer: string }): Record<string, string> {
    const name = drillUnitName(spec.environment);
    return {
        [`${name}.service`]: [
            `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
            "[Unit]",
            `Description=Rezept-Tagebuch ${spec.environment} off-host check and restore drill`,
            // restic check locks the repository exclusively, and restic gives up at once on a lock: not while the nightly copy runs.
            `After=${unitName(spec.dbContainer)} ${PROJECT}-backup-${spec.environment}.service`,
            "",
            "[Service]",
            "Type=oneshot",
            "Environment=HOME=%h",
            `ExecStart=/bin/sh ${spec.scriptPath} check`,
            `ExecStart=/bin/sh ${spec.scriptPath} drill`,
            `TimeoutStartSec=${OFFSITE_TIMEOUT}`,
            "",
        ].join("\n"),
        [`${name}.timer`]: renderCalendarTimer(spec, name, `Weekly off-host check and restore drill of Rezept-Tagebuch ${spec.environment}`, spec.schedule),
    };
}

/** How long a unit that talks to the repository may run before systemd stops it and it counts as failed (a hung connection). */
export const OFFSITE_TIMEOUT = "6h";

export const drillUnitName = (env: EnvironmentName) => `${PROJECT}-restore-drill-${env}`;

/**
 * Writes the repository's password from stdin into its 0600 file (host/offsite-password-install.sh,
 * the install), changing the repository's key to it first where it changed (offsitePassword rotated);
 * or removes it (the stack's removal); nothing of it on a command line or in the script.
 */
export function renderOffsitePasswordInstall(spec: Pick<OffsiteSpec, "environment" | "scope" | "repository" | "image" | "directory">): string {
    return renderHostScript("offsite-password-install.sh", { offsite_script: offsiteScriptFile(spec.environment), environment: spec.environment, ...resticParams(spec) });
}

export function renderOffsitePasswordRemove(spec: Pick<OffsiteSpec, "environment" | "scope">): string {
    return renderHostScript("offsite-password-remove.sh", { password_file: offsitePasswordFile(spec.environment), scope: spec.scope });
}
