import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { BootSpec, renderInstallScript, renderRemoveScript, stackUnitFiles, UnitFiles } from "../lib/systemd";
import { HostConnection, hostCommand } from "./hostCommand";

/** BootUnitsArgs describe the parameters to a BootUnits component. */
export interface BootUnitsArgs {
    /** Which containers the units start, in which scope. */
    readonly spec: BootSpec;
    /** Where the scripts run: on this machine, or on the host over SSH. */
    readonly connection: HostConnection;
    /** The containers must exist, and have passed their health gates, before their units start them. */
    readonly containers: pulumi.Resource[];
    /** Further units (timers and the oneshot services they run), the scripts they, or the operator, run, and what those need on the host first. */
    readonly extra?: { readonly units: UnitFiles; readonly scripts: Readonly<Record<string, string>>; readonly needs?: pulumi.Resource[] };
}

/**
 * Installs one stack's systemd units on the host, so its containers start at boot,
 * the app only after its database is healthy. One command resource: create and
 * update install, delete removes only this stack's units.
 */
export class BootUnits extends pulumi.ComponentResource {
    /** Unit file name to content, as installed. */
    readonly units: UnitFiles;
    readonly installer: command.local.Command | command.remote.Command;

    constructor(name: string, args: BootUnitsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:BootUnits", name, {}, opts);
        this.units = stackUnitFiles(args.spec, args.extra?.units);
        const files = args.extra?.scripts ?? {};
        const install = renderInstallScript(args.spec, this.units, files);
        const scripts = {
            create: install,
            // Changed content is written in place: the running containers keep running.
            update: install,
            delete: renderRemoveScript(args.spec, this.units, files),
            // Another scope replaces the resource, so the old scope's files are removed first. Another set of files is
            // an update: the install removes what it no longer installs (listed on the host), and no container stops.
            triggers: [`scope=${args.spec.scope}`],
        };
        // Delete before replace: the old resource's remove script must not run after the new install.
        this.installer = hostCommand(`${name}-install`, args.connection, scripts, { parent: this, dependsOn: [...args.containers, ...(args.extra?.needs ?? [])], deleteBeforeReplace: true });
        this.registerOutputs({ units: this.units });
    }
}
