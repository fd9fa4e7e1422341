import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HealthInstallSpec, renderHealthInstallScript, renderHealthRemoveScript, renderHealthService, renderHealthTimer } from "../lib/healthUnits";
import { HostConnection, hostCommand } from "./hostCommand";

/** HealthCheckArgs describe the parameters to a HealthCheck component. */
export interface HealthCheckArgs {
    /** What is checked, how often, and with which runner. */
    readonly spec: HealthInstallSpec;
    /** The alert webhook, a Pulumi secret; reaches the host on the install script's stdin. */
    readonly webhookUrl?: pulumi.Input<string>;
    readonly connection: HostConnection;
    /** Installed after the units it checks. */
    readonly dependsOn: pulumi.Resource[];
}

/** Installs one stack's health check on the host: a systemd timer running `npm run health` for the stack. */
export class HealthCheck extends pulumi.ComponentResource {
    readonly installer: command.local.Command | command.remote.Command;

    constructor(name: string, args: HealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:HealthCheck", name, {}, opts);
        const webhook = pulumi.secret(args.webhookUrl ?? "");
        this.installer = hostCommand(`${name}-install`, args.connection, {
            create: renderHealthInstallScript(args.spec),
            delete: renderHealthRemoveScript(args.spec),
            stdin: webhook,
            // Re-install when what it renders or the webhook changes (the webhook stays a secret in state).
            triggers: [renderHealthService(args.spec), renderHealthTimer(args.spec), JSON.stringify(args.spec.settings), webhook],
        }, { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true });
        this.registerOutputs({});
    }
}
