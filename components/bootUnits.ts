import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { hostCommand } from "./hostCommand";
import { BootSpec, renderInstallScript, renderRemoveScript, renderUnits, UnitFiles } from "../lib/systemd";
import { StackConfig } from "../lib/config";

/** BootUnitsArgs describe the parameters to a BootUnits component. */
export interface BootUnitsArgs {
    /** Which containers the units start, in which scope. */
    readonly spec: BootSpec;
    /** Where the scripts run: on this machine, or on the host over SSH. */
    readonly connection: StackConfig["connection"];
    /** The containers must exist before their units start them. */
    readonly containers: pulumi.Resource[];
}

/**
 * Installs one stack's systemd units on the host, so its containers start at boot,
 * the app only after its database is healthy. One command resource: create
 * installs, delete removes only this stack's units.
 */
export class BootUnits extends pulumi.ComponentResource {
    /** Unit file name to content, as installed. */
    readonly units: UnitFiles;
    readonly installer: command.local.Command | command.remote.Command;

    constructor(name: string, args: BootUnitsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:BootUnits", name, {}, opts);
        this.units = renderUnits(args.spec);
        const scripts = {
            create: renderInstallScript(args.spec, this.units),
            delete: renderRemoveScript(args.spec, this.units),
            // Re-install when, and only when, a unit's content changes.
            triggers: Object.entries(this.units).map(([file, content]) => `${file}\n${content}`),
        };
        // Delete before replace: the old resource's remove script must not run after the new install.
        const options = { parent: this, dependsOn: args.containers, deleteBeforeReplace: true };
        this.installer = hostCommand(`${name}-install`, scripts, args.connection, options);
        this.registerOutputs({ units: this.units });
    }
}
