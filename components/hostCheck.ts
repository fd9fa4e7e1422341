import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostCheckSpec, renderHostCheck } from "../lib/hostCheck";
import { HostConnection, hostCommand } from "./hostCommand";

/** HostCheckArgs describe the parameters to a HostCheck component. */
export interface HostCheckArgs {
    /** What the stack needs of the host. */
    readonly spec: HostCheckSpec;
    /** Where the check runs: on this machine, or on the host over SSH. */
    readonly connection: HostConnection;
}

/**
 * Checks the host before anything of the stack is put on it: the program makes the
 * Podman provider depend on this, so no network, volume or container is created on
 * a host that fails it. It runs when the stack is first deployed and again whenever
 * what it checks changes (its script is its input); it has nothing to undo.
 */
export class HostCheck extends pulumi.ComponentResource {
    readonly command: command.local.Command | command.remote.Command;

    constructor(name: string, args: HostCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:HostCheck", name, {}, opts);
        this.command = hostCommand(`${name}-run`, args.connection, { create: renderHostCheck(args.spec), triggers: [] }, { parent: this });
        this.registerOutputs({});
    }
}
