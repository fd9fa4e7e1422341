import * as pulumi from "@pulumi/pulumi";
import { BackupSpec, backupScriptFile, renderBackupScript, renderBackupUnits, renderRestoreScript, restoreScriptFile } from "../lib/backup";
import { OffsiteSpec, offsiteScriptFile, renderDrillUnits, renderOffsitePasswordInstall, renderOffsitePasswordRemove, renderOffsiteScript } from "../lib/offsite";
import { baseBackupScriptFile, PitrSpec, pitrScriptFile, renderBaseBackupScript, renderPitrScript, renderPitrUnits, renderWalUploadScript, walUnitName, walUploadScriptFile } from "../lib/pitr";
import { scriptPathInUnit } from "../lib/systemd";
import { HostConnection, hostCommand } from "./hostCommand";
import { hostImage } from "./hostResources";

/** BackupsArgs describe the parameters to a Backups component. */
export interface BackupsArgs {
    /** What is backed up, and where to. */
    readonly spec: BackupSpec;
    /** When the nightly backup runs (systemd OnCalendar). */
    readonly schedule: string;
    /** Where copies go off the host, with the repository's password (a Pulumi secret) and the drill's schedule; absent: none. */
    readonly offsite?: {
        readonly spec: Pick<OffsiteSpec, "repository" | "image" | "dbImage">;
        readonly password: pulumi.Input<string>;
        readonly drillSchedule: string;
        /** Point-in-time recovery: the WAL upload, the nightly base backup and the restore script; absent: none. */
        readonly pitr?: Pick<PitrSpec, "dbUser" | "dbName" | "dataVolume" | "walVolume">;
    };
    readonly connection: HostConnection;
    /**
     * What makes a deploy risky: the images (a new app image may migrate the schema)
     * and what replaces the database container. Not the password: replacing the
     * container for it changes no data.
     */
    readonly risks: Readonly<Record<string, string | number | undefined>>;
    /** Nothing runs on a host before it passed the stack's host check. */
    readonly hostCheck: pulumi.Resource;
}

/**
 * One environment's backups: a backup before a deploy that may change its data,
 * and only then (the containers depend on it, so a failed backup stops the update
 * before any of them is replaced; on a first deploy there is nothing to back up,
 * and it says so); and the files of the nightly backup and the restore, which
 * BootUnits installs with the stack's other units.
 */
export class Backups extends pulumi.ComponentResource {
    readonly beforeDeploy: pulumi.Resource;
    /** The nightly timer and its service, and the backup and restore scripts, for BootUnits to install once what they run (`needs`) is on the host. */
    readonly files: { readonly units: Readonly<Record<string, string>>; readonly scripts: Readonly<Record<string, string>>; readonly needs: pulumi.Resource[] };

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        // Its earlier name: stacks deployed under it keep their backup command rather than replace it.
        super("rezept-tagebuch:index:Backups", name, {}, { ...opts, aliases: [{ type: "rezept-tagebuch:index:BackupBeforeDeploy" }, ...(opts?.aliases ?? [])] });
        const { spec } = args;
        this.beforeDeploy = hostCommand(`${name}-run`, args.connection, {
            create: renderBackupScript(spec),
            // Other changes (where backups go, how many are kept) reach the host with the nightly script;
            // pulumi-command would otherwise run `create` again for them, an unasked-for backup.
            update: "true",
            triggers: Object.entries(args.risks).map(([what, value]) => `${what}=${value ?? ""}`),
        }, { parent: this, dependsOn: [args.hostCheck] });
        const script = backupScriptFile(spec.environment);
        const offsite = args.offsite && { ...spec, ...args.offsite.spec };
        const offsiteScript = offsiteScriptFile(spec.environment);
        const offsitePath = offsite && scriptPathInUnit(spec.scope, offsiteScript);
        const pitr: PitrSpec | undefined = offsite && args.offsite!.pitr && { ...offsite, ...args.offsite!.pitr, appContainer: spec.app?.container };
        // restic's image, as the containers' are: pulled by pulumi up (which fails when it cannot: not the first run at
        // night), kept on the host, and run by the scripts with --pull=never (host/lib/restic.sh). The provider pulls only
        // an image that is not there, and a refresh that finds it gone drops it from the state, so `up --refresh` pulls
        // it again (terraform-provider-docker resource_docker_image_funcs.go findImage and resourceDockerImageRead, at
        // the 5074970c @pulumi/docker 5.2.0 is built on).
        const resticImage = offsite && hostImage(`${name}-restic-image`, offsite.image, this);
        this.files = {
            units: {
                ...renderBackupUnits({ ...spec, scriptPath: scriptPathInUnit(spec.scope, script), schedule: args.schedule, offsiteScriptPath: offsitePath }),
                ...(offsite && offsitePath ? renderDrillUnits({ ...offsite, scriptPath: offsitePath, schedule: args.offsite!.drillSchedule }) : {}),
                ...(pitr ? renderPitrUnits({
                    ...pitr, schedule: args.schedule,
                    walScriptPath: scriptPathInUnit(spec.scope, walUploadScriptFile(spec.environment)),
                    baseScriptPath: scriptPathInUnit(spec.scope, baseBackupScriptFile(spec.environment)),
                }) : {}),
            },
            scripts: {
                [script]: renderBackupScript(spec), [restoreScriptFile(spec.environment)]: renderRestoreScript(spec),
                ...(offsite ? { [offsiteScript]: renderOffsiteScript(offsite) } : {}),
                ...(pitr ? {
                    [walUploadScriptFile(spec.environment)]: renderWalUploadScript(pitr),
                    [baseBackupScriptFile(spec.environment)]: renderBaseBackupScript(pitr),
                    [pitrScriptFile(spec.environment)]: renderPitrScript({ ...pitr, backupScript: script, walUnit: walUnitName(spec.environment) }),
                } : {}),
            },
            needs: resticImage ? [resticImage] : [],
        };
        if (offsite) {
            // The password reaches the host on stdin into its 0600 file: a secret in state, never in a script. A changed
            // one becomes the repository's key first (restic, so after its image).
            hostCommand(`${name}-offsite-password`, args.connection, {
                create: renderOffsitePasswordInstall(offsite),
                update: renderOffsitePasswordInstall(offsite),
                delete: renderOffsitePasswordRemove(offsite),
                stdin: pulumi.secret(args.offsite!.password),
                triggers: [`scope=${spec.scope}`],
            }, { parent: this, dependsOn: [args.hostCheck, ...(resticImage ? [resticImage] : [])], deleteBeforeReplace: true });
        }
        this.registerOutputs({});
    }
}
