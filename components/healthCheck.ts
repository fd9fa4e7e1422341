import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { createHash } from "node:crypto";
import { deployWindowSeconds, HealthSettings, renderDeployWindowScript, renderHealthInstallScript, renderHealthRemoveScript, renderHealthStateRemoveScript } from "../lib/healthUnits";
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
    /** The window this deploy opened: closed once the check is installed (the same settings as this check's). */
    readonly deployWindow: DeployWindow;
}

/** DeployWindowArgs describe the parameters to a DeployWindow component. */
export interface DeployWindowArgs {
    /** The check the deploy installs at its end. */
    readonly settings: HealthSettings;
    /** The stack's configuration as read, secrets included: any change of it may change what the check sees. */
    readonly configuration: object;
    /** The gates' bound (deployTimeoutSeconds), from which the window's longest time follows (deployWindowSeconds). */
    readonly deployTimeoutSeconds: number;
    readonly connection: HostConnection;
    /** Nothing runs on a host before it passed the stack's host check. */
    readonly hostCheck: pulumi.Resource;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Opens the deploy window on the host before a deploy changes the stack: the containers depend on
 * it, and HealthCheck closes it once the check that expects the new state is installed. In between
 * the check does not page for what it sees: a zero-downtime deploy pages nobody.
 */
export class DeployWindow extends pulumi.ComponentResource {
    readonly opened: command.local.Command | command.remote.Command;
    /**
     * What a deploy may change that the check sees: the configuration, secrets included (hashed, and a secret in
     * state, as it follows from the passwords: a new password replaces the database), and the check as rendered
     * (the tags and unit files it expects). A change opens the window before anything changes, and closes it at the end.
     */
    readonly triggers: pulumi.Input<unknown[]>;
    readonly seconds: number;
    readonly settings: HealthSettings;

    constructor(name: string, args: DeployWindowArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:DeployWindow", name, {}, opts);
        this.settings = args.settings;
        this.seconds = deployWindowSeconds(args.deployTimeoutSeconds);
        this.triggers = [sha256(renderHealthInstallScript(args.settings)), pulumi.output(args.configuration).apply((all: unknown) => sha256(JSON.stringify(all)))];
        this.opened = hostCommand(`${name}-open`, args.connection, {
            create: renderDeployWindowScript(args.settings, "open", this.seconds),
            triggers: this.triggers,
        }, { parent: this, dependsOn: [args.hostCheck] });
        this.registerOutputs({});
    }
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
        // Runs whenever the window was opened (the same triggers), after the check is installed.
        const window = args.deployWindow;
        hostCommand(`${name}-deployed`, args.connection, {
            create: renderDeployWindowScript(window.settings, "close", window.seconds),
            triggers: window.triggers,
        }, { parent: this, dependsOn: [this.installer] });
        this.registerOutputs({});
    }
}
