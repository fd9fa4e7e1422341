import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { EnvironmentName } from "../lib/environments";
import { ownerLabels } from "../lib/ownership";

/**
 * The policy every component applies to what it puts on the host, in one place.
 * A component's children: its data volume, its image and its container.
 */

/**
 * A volume Pulumi never deletes: not on destroy, not when a container is replaced.
 * No labels: the volumes already on the host have none, and an import must match.
 */
export function dataVolume(name: string, volumeName: string, adopt: boolean | undefined, parent: pulumi.Resource): docker.Volume {
    return new docker.Volume(name, { name: volumeName }, {
        parent, protect: true, retainOnDelete: true, import: adopt ? volumeName : undefined,
    });
}

/** The image a container runs, resolved on the host and kept there, so a rollback finds it. */
export function hostImage(name: string, reference: string, parent: pulumi.Resource): docker.RemoteImage {
    return new docker.RemoteImage(name, { name: reference, keepLocally: true }, { parent });
}

/**
 * A container whose definition Pulumi owns and whose running the stack's systemd
 * unit owns. So podman keeps no restart policy of its own (two supervisors would
 * race), and a stopped container is no reason for Pulumi to drop or recreate it on
 * refresh (`mustRun`): its unit starts it again. Its fixed name cannot exist twice,
 * so a replacement deletes the old container first.
 */
export function ownedContainer(
    name: string,
    environment: EnvironmentName,
    args: Omit<docker.ContainerArgs, "restart" | "mustRun" | "labels">,
    opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource },
): docker.Container {
    return new docker.Container(name, { ...args, labels: ownerLabels(environment), restart: "no", mustRun: false },
        { ...opts, deleteBeforeReplace: true });
}
