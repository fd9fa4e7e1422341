import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { EnvironmentName } from "../lib/environments";
import { ownerLabels } from "../lib/ownership";

/** EnvironmentNetworkArgs describe the parameters to an EnvironmentNetwork component. */
export interface EnvironmentNetworkArgs<E extends EnvironmentName> {
    /** The environment that owns the network. */
    readonly environment: E;
    /** The network's name on the host. */
    readonly networkName: string;
}

/**
 * The internal network of one environment: app-to-database traffic only. It has
 * no route out, and only this environment's containers join it, so another
 * environment's app cannot resolve or reach this database.
 */
export class EnvironmentNetwork<E extends EnvironmentName> extends pulumi.ComponentResource {
    /** The environment that owns the network. */
    readonly environment: E;
    readonly network: docker.Network;
    readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: EnvironmentNetworkArgs<E>, opts?: pulumi.ComponentResourceOptions) {
        super("rezept-tagebuch:index:EnvironmentNetwork", name, args, opts);
        this.environment = args.environment;
        this.network = new docker.Network(`${name}-network`, {
            name: args.networkName,
            driver: "bridge",
            internal: true,
            labels: ownerLabels(args.environment),
        }, {
            parent: this,
            // Podman reports the IPAM driver it chose as an option ({"driver":"host-local"}), which
            // the provider reads into ipamOptions (resource_docker_network_funcs.go:183), ForceNew and
            // not Computed (resource_docker_network.go:92): every `up` would replace the network, and
            // with it every container on it. The program sets no IPAM options; podman's choice stands.
            ignoreChanges: ["ipamOptions"],
        });
        this.networkName = this.network.name;
        this.registerOutputs({ networkName: this.networkName });
    }
}

/** Throws unless `resource` belongs to `environment`: the run-time half of environment isolation. */
export function assertSameEnvironment(
    owner: string, environment: EnvironmentName, resource: { readonly environment: EnvironmentName }, what: string,
): void {
    if (resource.environment !== environment) {
        throw new pulumi.RunError(
            `the ${environment} ${owner} was given the ${resource.environment} ${what}; an environment may only use its own ${what} (pass the ${environment} ${what})`,
        );
    }
}
