import * as pulumi from "@pulumi/pulumi";
import { BackupSpec, renderBackupScript } from "../lib/backup";
import { HostConnection, hostCommand } from "./hostCommand";

/** BackupBeforeDeployArgs describe the parameters to a BackupBeforeDeploy component. */
export interface BackupBeforeDeployArgs {
    /** What is backed up, and where to. */
    readonly spec: BackupSpec;
    readonly connection: HostConnection;
    /**
     * What makes a deploy risky: the images (a new app image may migrate the schema)
     * and what replaces the database container. Not the password: replacing the
     * container for it changes no data.
     */
    readonly risks: Readonly<Record<string, string | number | undefined>>;
}

/**
 * Backs an environment up before a deploy that may change its data, and only then:
 * the containers depend on it, so a failed backup stops the update before any of
 * them is replaced. On a first deploy there is nothing to back up, and it says so.
 */
export class BackupBeforeDeploy extends pulumi.ComponentResource {
    readonly backup: pulumi.Resource;

    constructor(name: string, args: BackupBeforeDeployArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:BackupBeforeDeploy", name, {}, opts);
        this.backup = hostCommand(`${name}-run`, args.connection, {
            create: renderBackupScript(args.spec),
            // Other changes (where backups go, how many are kept) reach the host with the nightly script;
            // pulumi-command would otherwise run `create` again for them, an unasked-for backup.
            update: "true",
            triggers: Object.entries(args.risks).map(([what, value]) => `${what}=${value ?? ""}`),
        }, { parent: this });
        this.registerOutputs({});
    }
}
