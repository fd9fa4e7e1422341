import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { StackConfig } from "../lib/config";
import { SystemdScope } from "../lib/systemd";

/** Where a stack's host commands run: on this machine, or on the host over SSH. */
export type HostConnection = StackConfig["connection"];

/** The scripts of one command resource; `triggers` decide when it runs again (a change replaces it). */
export interface HostCommandArgs {
    readonly create: pulumi.Input<string>;
    /** Run instead of `create` when inputs other than the triggers change. */
    readonly update?: pulumi.Input<string>;
    readonly delete?: pulumi.Input<string>;
    readonly triggers: pulumi.Input<unknown[]>;
    /** Given to the create script on stdin: how a secret reaches the host without a command line or a rendered file. */
    readonly stdin?: pulumi.Input<string>;
}

/**
 * A script run on the Podman host: command.local where Pulumi runs on the host,
 * command.remote over SSH with the key as a secret. Every command the program runs
 * on the host goes through here, so both connections behave alike.
 */
export function hostCommand(
    name: string, connection: HostConnection, args: HostCommandArgs, opts: pulumi.CustomResourceOptions,
): command.local.Command | command.remote.Command {
    return connection.kind === "ssh"
        ? new command.remote.Command(name, {
            ...args,
            connection: { host: connection.host, user: connection.user, port: connection.port, privateKey: connection.privateKey, hostKey: connection.hostKey },
        }, opts)
        : new command.local.Command(name, { ...args, interpreter: ["/bin/sh", "-c"] }, opts);
}

/** How `pulumi up` waits for a container it has just created: on the host, bounded. */
export interface DeployGate {
    readonly connection: HostConnection;
    /** The scope of the units, named in the failure message. */
    readonly scope: SystemdScope;
    readonly timeoutSeconds: number;
}
