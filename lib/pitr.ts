import { EnvironmentName, PROJECT, unitName } from "./environments";
import { renderHostScript } from "./hostScript";
import { OFFSITE_TIMEOUT, OffsiteSpec, resticParams } from "./offsite";
import { renderCalendarTimer } from "./systemd";

/**
 * Point-in-time recovery (issue 22): the database archives its WAL continuously into a volume of
 * its own, a timer copies that archive off the host every 30 s, and a nightly base backup
 * (pg_basebackup) goes off the host beside it. Any point since the oldest kept base backup can
 * then be restored, also after the host's disk is lost.
 *
 * PostgreSQL docs 16, "25.3. Continuous Archiving and Point-in-Time Recovery (PITR)":
 * - 25.3.1: the archive command "should generally be designed to refuse to overwrite any
 *   pre-existing archive file", and may return success when the file there is identical
 *   (a segment archived once before a crash is handed to it again).
 * - 25.3.1 / runtime-config-wal: archive_timeout forces a segment switch after that many seconds
 *   with activity, which bounds how old the newest archived WAL can be.
 * - 25.3.5: recovery reads the archive through restore_command, with recovery.signal in the data
 *   directory, and stops at recovery_target_time if one is set.
 */

/** Where the WAL volume is mounted in the database container: the image's postgres-owned parent of PGDATA. */
export const WAL_MOUNT = "/var/lib/postgresql";
/** The archive directory, inside the WAL volume (not PGDATA: a base backup would copy it, and a restore would overwrite it). */
export const WAL_ARCHIVE = `${WAL_MOUNT}/wal-archive`;
/** PGDATA of the image (the official image's default), the data volume's mount point. */
export const PGDATA = `${WAL_MOUNT}/data`;
/** Seconds after which PostgreSQL switches to a new WAL segment when there was activity: the archive's lag at most. */
export const ARCHIVE_TIMEOUT_SECONDS = 60;
/** How often the archive goes off the host. */
export const WAL_UPLOAD_SECONDS = 30;
/**
 * The free space (MiB) the archive always leaves on its disk: below it, archive_command keeps no segment (it
 * notes the segment in WAL_GAP_FILE and succeeds). With archive_timeout 60 s a busy database archives up to one
 * 16 MiB segment a minute, 22.5 GiB a day, and the archive is cleaned only after a base backup went off the host:
 * with the repository away it grows on. A failing archive_command is no way out: PostgreSQL then keeps every
 * segment in pg_wal, on the data volume, and retries for ever (PostgreSQL 16 docs 25.3.1: "The pg_wal/ directory
 * will continue to fill with WAL segment files until the situation is resolved. (If the file system containing
 * pg_wal/ fills up, PostgreSQL will do a PANIC shutdown. ...)"). So the archiver never blocks: a gap in the archive costs point-in-time
 * recovery up to the next base backup, which the health check reports, never the database serving.
 */
export const DEFAULT_WAL_RESERVE_MIB = 2048;
/** The segments archive_command did not keep, a name a line: in the WAL volume beside the archive, never uploaded. */
export const WAL_GAP_FILE = `${WAL_MOUNT}/wal-archive.gap`;
/** The last successful WAL upload's start (`at=<epoch>`), in the backup folder: what the health check ages. */
export const WAL_UPLOAD_STAMP = ".pitr-wal.last";
/**
 * How old the last successful WAL upload may be before the health check alerts: what the README's RPO of 2
 * minutes leaves once archive_timeout is taken off (a row written just after a segment switch is archived up to
 * 60 s later, and is off the host with the first upload that starts after that).
 */
export const WAL_MAX_AGE_SECONDS = 120 - ARCHIVE_TIMEOUT_SECONDS;
/**
 * How long one WAL upload may run: it copies the segments archived since the last one, seconds; after an outage
 * the backlog, which may take many minutes on a slow line, and a run killed half-way leaves nothing the next can
 * build on. A stalled connection ends within a minute without it (ssh's ServerAlive, host/lib/restic.sh), and
 * the health check alerts on the upload's age whatever this is.
 */
export const WAL_UPLOAD_TIMEOUT = "30min";
/** Where a restore puts the archived WAL it read from the repository: inside PGDATA, so restore_command never reads the live archive. */
export const RESTORED_WAL_DIR = `${PGDATA}/pitr-wal`;

export const walVolumeName = (dbContainer: string) => `${dbContainer}-wal`;
export const pitrScriptFile = (env: EnvironmentName) => `pitr-${env}.sh`;
export const walUploadScriptFile = (env: EnvironmentName) => `pitr-wal-${env}.sh`;
export const baseBackupScriptFile = (env: EnvironmentName) => `pitr-base-${env}.sh`;
export const walUnitName = (env: EnvironmentName) => `${PROJECT}-wal-${env}`;
export const baseBackupUnitName = (env: EnvironmentName) => `${PROJECT}-base-backup-${env}`;
/**
 * The archive_command: copies a finished segment (%p, relative to PGDATA) into the archive as %f.
 * It never overwrites: an existing file of that name succeeds only if it is identical (cmp), so a
 * segment archived again after a crash passes and a different one fails, which keeps the archiver
 * retrying and the WAL in pg_wal rather than losing either copy. Written in a folder beside the
 * archive (the same volume) and renamed into it, so the uploader, which backs up the archive
 * folder only, never copies half a segment nor sees a file vanish mid-run (restic's exit 3,
 * "incomplete snapshot", cmd_backup.go). PostgreSQL runs it with sh (system()); `%f`/`%p` are its
 * only escapes (runtime-config-wal, archive_command).
 */
export function renderArchiveCommand(archive: string = WAL_ARCHIVE, reserveMiB: number = DEFAULT_WAL_RESERVE_MIB): string {
    // A segment is kept only while more than reserveMiB stays free after it (16 MiB); otherwise, or when the copy
    // fails (a disk full all the same), its name goes into the gap file and PostgreSQL may recycle it: see
    // DEFAULT_WAL_RESERVE_MIB. df -P: one line per file system, the 4th field free KiB (POSIX; busybox too).
    const freeKiB = `$(df -Pk ${archive} | awk 'NR == 2 { print $4 }')`;
    return `f=${archive}/%f; t=${archive}.incoming/%f; mkdir -p ${archive} ${archive}.incoming && if [ -f "$f" ]; then cmp -s %p "$f"; ` +
        `elif [ "${freeKiB}" -gt ${(reserveMiB + 16) * 1024} ] && cp %p "$t" && mv "$t" "$f"; then :; else rm -f "$t"; echo %f >> ${archive}.gap; fi`;
}

/**
 * The database container's command with archiving on. The official image's entrypoint passes a
 * first argument `postgres` on, with the rest as the server's options (docker-library/postgres
 * docker-entrypoint.sh: `if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"` and `exec "$@"` as
 * the postgres user after the first-start initialisation).
 */
export function archivingCommand(reserveMiB: number = DEFAULT_WAL_RESERVE_MIB, archive: string = WAL_ARCHIVE): string[] {
    return ["postgres", "-c", "archive_mode=on", "-c", `archive_command=${renderArchiveCommand(archive, reserveMiB)}`, "-c", `archive_timeout=${ARCHIVE_TIMEOUT_SECONDS}`];
}

/** What point-in-time recovery of one environment needs on the host. */
export interface PitrSpec extends Pick<OffsiteSpec, "environment" | "scope" | "repository" | "image" | "directory" | "maxAgeDays" | "dbImage"> {
    readonly dbContainer: string;
    readonly dbUser: string;
    readonly dbName: string;
    /** The stack's data volume (PGDATA) and WAL volume (the archive). */
    readonly dataVolume: string;
    readonly walVolume: string;
    /** The app, stopped while its database is restored under it; absent where there is none. */
    readonly appContainer?: string;
}

/** The parameters of host/lib/pitr.sh: the database, whose cluster and archive the scripts read. */
function pitrParams(spec: PitrSpec) {
    return { db_container: spec.dbContainer, db_unit: unitName(spec.dbContainer), wal_archive: WAL_ARCHIVE, wal_gap_file: WAL_GAP_FILE };
}

/**
 * The script the WAL timer runs (host/pitr-wal.sh): the archive directory (the WAL volume,
 * read-only) into the repository as one snapshot, tagged `wal` and with its cluster. restic
 * stores only what is new, so a run is a few new segments.
 */
export function renderWalUploadScript(spec: PitrSpec): string {
    return renderHostScript("pitr-wal.sh", { environment: spec.environment, wal_volume: spec.walVolume, wal_stamp: WAL_UPLOAD_STAMP, ...resticParams(spec), ...pitrParams(spec) });
}

/**
 * The nightly base backup (host/pitr-base.sh): pg_basebackup as a tar into the backup directory,
 * then into the repository with a file naming its cluster, the WAL it needs after it at once;
 * then the clean-up: only the newest base tar stays locally, the archive keeps the segments from
 * the previous base backup's first one on, and the repository forgets what is older than
 * backupMaxAgeDays, always keeping the newest base and WAL snapshot of each cluster.
 */
export function renderBaseBackupScript(spec: PitrSpec): string {
    return renderHostScript("pitr-base.sh", {
        environment: spec.environment, max_age_days: spec.maxAgeDays, wal_script: walUploadScriptFile(spec.environment), ...resticParams(spec), ...pitrParams(spec),
    });
}

/** The WAL upload every 30 s and the nightly base backup: two oneshot services and their timers. */
export function renderPitrUnits(spec: Pick<PitrSpec, "environment" | "scope" | "dbContainer"> & { readonly walScriptPath: string; readonly baseScriptPath: string; readonly schedule: string }): Record<string, string> {
    const env = spec.environment;
    const user = spec.scope === "user" ? "--user " : "";
    const head = `# Installed by the Pulumi stack ${PROJECT}/${env}; pulumi up overwrites it.`;
    // restic 0.14-0.17 gives up at once on a repository another process locked (no --retry-lock before 0.16), and
    // forget --prune and check lock it exclusively. The base backup and the weekly drill are ordered after the nightly
    // backup (a start job of a unit After= another waits while that one's start job, a oneshot's whole run, is under
    // way: systemd.unit(5), After=). Not the WAL upload: behind a run that may take hours (a stalled server) it
    // stopped the WAL going off the host for as long, the README's RPO of 2 minutes with it. It meets a lock as any
    // run does (host/lib/restic.sh tries again while one is held), and the health check alerts on its age.
    const nightly = `${PROJECT}-backup-${env}.service`;
    const service = (description: string, script: string, after: string[], timeout: string) => [
        head,
        "[Unit]",
        `Description=${description}`,
        `After=${[unitName(spec.dbContainer), ...after].join(" ")}`,
        "",
        "[Service]",
        "Type=oneshot",
        "Environment=HOME=%h",
        `ExecStart=/bin/sh ${script}`,
        // A repository that stops answering must not hold the unit for ever: a WAL upload that hangs would hold back the next.
        `TimeoutStartSec=${timeout}`,
        "",
    ].join("\n");
    return {
        [`${walUnitName(env)}.service`]: service(`Rezept-Tagebuch ${env} WAL archive off the host`, spec.walScriptPath, [], WAL_UPLOAD_TIMEOUT),
        [`${walUnitName(env)}.timer`]: [
            head,
            `# Check: systemctl ${user}list-timers ${walUnitName(env)}.timer`,
            "[Unit]",
            `Description=Rezept-Tagebuch ${env} WAL archive off the host every ${WAL_UPLOAD_SECONDS} s`,
            "",
            "[Timer]",
            // Every 30 s from the last start, within a second (the default accuracy is a minute, systemd.timer(5)):
            // with archive_timeout 60 s the newest WAL off the host is at most about 90 s old.
            `OnActiveSec=${WAL_UPLOAD_SECONDS}s`,
            `OnUnitActiveSec=${WAL_UPLOAD_SECONDS}s`,
            "AccuracySec=1s",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ].join("\n"),
        [`${baseBackupUnitName(env)}.service`]: service(`Rezept-Tagebuch ${env} base backup for point-in-time recovery`, spec.baseScriptPath, [nightly], OFFSITE_TIMEOUT),
        [`${baseBackupUnitName(env)}.timer`]: renderCalendarTimer(spec, baseBackupUnitName(env), `Nightly base backup of Rezept-Tagebuch ${env}`, spec.schedule),
    };
}

/**
 * The point-in-time restore of one environment (host/pitr.sh), from the repository alone (what is
 * left after the host's disk is lost): the newest base backup (or --base), the newest WAL snapshot
 * of its cluster, recovery up to --time or as far as the WAL goes. By default into a scratch
 * container without a network, `<db>-pitr`, which it leaves running; with --into-stack into the
 * stack's own database: the app and the database stop (prod only with --yes-overwrite-prod), a
 * running database is dumped first with the backup script, the current data goes into a volume of
 * its own and the live archive is renamed in its volume (nothing is deleted), then the restored
 * database starts under its unit.
 */
export function renderPitrScript(spec: PitrSpec & { readonly backupScript: string; readonly walUnit: string }): string {
    const scratch = `${spec.dbContainer}-pitr`;
    return renderHostScript("pitr.sh", {
        environment: spec.environment, confirm: spec.environment === "prod" ? "yes" : "no",
        db_image: spec.dbImage, db_user: spec.dbUser, db_name: spec.dbName, data_volume: spec.dataVolume, wal_volume: spec.walVolume,
        pgdata: PGDATA, restored_wal_dir: RESTORED_WAL_DIR, scratch, scratch_volume: `${scratch}-data`,
        app: spec.appContainer ?? "", app_unit: spec.appContainer ? unitName(spec.appContainer) : "",
        backup_script: spec.backupScript, wal_unit: spec.walUnit, base_unit: baseBackupUnitName(spec.environment),
        ...resticParams(spec), ...pitrParams(spec),
    });
}
