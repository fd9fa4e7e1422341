import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { StackConfig } from "../lib/config";

/** What a host command runs: scripts as rendered by lib/, and what makes it run again. */
export interface HostScripts {
    readonly create: string;
    readonly delete?: string;
    readonly triggers?: string[];
}

/**
 * A script run on the Podman host: on this machine with /bin/sh, or over SSH with
 * the key as a secret. Every command the program runs on the host goes through here,
 * so both connections behave alike.
 */
export function hostCommand(
    name: string,
    scripts: HostScripts,
    connection: StackConfig["connection"],
    opts: pulumi.CustomResourceOptions,
): command.local.Command | command.remote.Command {
    return connection.kind === "ssh"
        ? new command.remote.Command(name, {
            ...scripts,
            connection: { host: connection.host, user: connection.user, port: connection.port, privateKey: connection.privateKey },
        }, opts)
        : new command.local.Command(name, { ...scripts, interpreter: ["/bin/sh", "-c"] }, opts);
}
