import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HealthSettings, renderHealthInstallScript, renderHealthRemoveScript, renderHealthStateRemoveScript } from "../lib/healthUnits";
import { HostConnection, hostCommand } from "./hostCommand";

/** HealthCheckArgs describe the parameters to a HealthCheck component. */
export interface HealthCheckArgs {
    /** What is checked, how often, and where alerts go. */
    readonly settings: HealthSettings;
    /** The alert webhook, a Pulumi secret; reaches the host on the install script's stdin. */
    readonly webhookUrl?: pulumi.Input<string>;
    readonly connection: HostConnection;
    /** Installed after the units it checks. */
    readonly dependsOn: pulumi.Resource[];
}

/**
 * Installs one stack's health check on the host, over the stack's own connection: the
 * check script, its timer, and the self-watch that alerts when the check cannot run.
 * A new tag or setting updates it in place. The alert state belongs to a resource of
 * its own, which only the stack's removal deletes: a re-install never loses an open alert.
 */
export class HealthCheck extends pulumi.ComponentResource {
    readonly installer: command.local.Command | command.remote.Command;
    readonly state: command.local.Command | command.remote.Command;

    constructor(name: string, args: HealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:HealthCheck", name, {}, opts);
        const { environment, scope } = args.settings;
        // Another scope is another place on the host: replace, the old files and state removed first.
        const triggers = [`environment=${environment}`, `scope=${scope}`];
        this.state = hostCommand(`${name}-state`, args.connection, {
            create: "true",
            delete: renderHealthStateRemoveScript({ environment, scope }),
            triggers,
        }, { parent: this, deleteBeforeReplace: true });
        const install = renderHealthInstallScript(args.settings);
        this.installer = hostCommand(`${name}-install`, args.connection, {
            create: install,
            update: install,
            delete: renderHealthRemoveScript({ environment, scope }),
            // The webhook stays a secret in state; a new URL is an update too.
            stdin: pulumi.secret(args.webhookUrl ?? ""),
            triggers,
        }, { parent: this, dependsOn: [...args.dependsOn, this.state], deleteBeforeReplace: true });
        this.registerOutputs({});
    }
}
