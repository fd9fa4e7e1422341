import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { EnvironmentName } from "../lib/environments";
import { ownerLabels } from "../lib/ownership";

/**
 * The policy every component applies to what it puts on the host, in one place.
 * A component's children: its data volume, its image and its container.
 */

/**
 * A volume Pulumi never deletes from the host: not on destroy, not when a container is replaced
 * (`retainOnDelete`: the engine's delete of it is a no-op, pulumi/pulumi v3.248.0
 * pkg/resource/deploy/step.go DeleteStep.Apply). No labels: the volumes already on the host have
 * none, and an import must match.
 *
 * `protect` as well only where the program always registers the volume: the database's data. The
 * engine refuses to delete a protected resource before it looks at retainOnDelete, in a preview too
 * (the same DeleteStep.Apply, `if !s.replacing && s.old.Protect`), so a volume that a key takes
 * out of the program (`pitr` the WAL archive, `appEnabled` the uploads) would block that change
 * for good. Without protect the stack lets go of it and it stays on the host; the key turned on
 * again takes it back, data and all: Podman's Docker-compatible volume create answers with the
 * existing volume of that name (containers/podman pkg/api/handlers/compat/volumes.go CreateVolume,
 * "if using the compat layer and the volume already exists", v4.3.1 and v5.4.2).
 */
export function dataVolume(
    name: string, volumeName: string, opts: { readonly adopt?: boolean; readonly droppable?: boolean; readonly after?: pulumi.Resource[] }, parent: pulumi.Resource,
): docker.Volume {
    return new docker.Volume(name, { name: volumeName }, {
        parent, protect: !opts.droppable, retainOnDelete: true, import: opts.adopt ? volumeName : undefined, dependsOn: opts.after,
    });
}

/** The image a container runs, resolved on the host and kept there, so a rollback finds it. */
export function hostImage(name: string, reference: string, parent: pulumi.Resource): docker.RemoteImage {
    return new docker.RemoteImage(name, { name: reference, keepLocally: true }, { parent });
}

/**
 * Seconds a container gets to stop before it is killed, when Pulumi deletes it (a
 * replacement) as when its unit stops it (`podman stop --time 30` in lib/systemd.ts).
 * Unset, the docker provider stops with a timeout of 0, a SIGKILL
 * (resource_docker_container_funcs.go:1086-1093), and PostgreSQL recovers from a crash
 * at its next start. Podman's own default is 10 s; PostgreSQL's fast shutdown (SIGINT,
 * the image's STOPSIGNAL) ends sessions and writes a checkpoint, which needs more on a
 * busy database, so the units' 30 s.
 */
export const STOP_GRACE_SECONDS = 30;

/**
 * A container whose definition Pulumi owns and whose running the stack's systemd
 * unit owns. So podman keeps no restart policy of its own (two supervisors would
 * race), and a stopped container is no reason for Pulumi to drop or recreate it on
 * refresh (`mustRun`): its unit starts it again. Its fixed name cannot exist twice,
 * so a replacement deletes the old container first, stopping it cleanly, and never
 * with its anonymous volumes: the provider's `remove_volumes` defaults to true
 * (terraform-provider-docker internal/provider/resource_docker_container.go:256-261 at
 * 5074970c; pulumi-docker provider/cmd/pulumi-resource-docker/schema.json:3575-3577), and
 * its Delete passes it to ContainerRemove (resource_docker_container_funcs.go:1100-1103),
 * which makes Podman remove every anonymous volume of the container
 * (libpod/runtime_ctr.go:815-835 at v4.3.1), also one adopted by name, such as a database
 * that a hand-made container kept in the image's `VOLUME`.
 */
export function ownedContainer(
    name: string,
    environment: EnvironmentName,
    args: Omit<docker.ContainerArgs, "restart" | "mustRun" | "labels" | "destroyGraceSeconds" | "removeVolumes">,
    opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource },
): docker.Container {
    return new docker.Container(name, {
        ...args, labels: ownerLabels(environment), restart: "no", mustRun: false, destroyGraceSeconds: STOP_GRACE_SECONDS, removeVolumes: false,
    }, {
        ...opts,
        deleteBeforeReplace: true,
        // Podman reports the capabilities its containers.conf drops (Debian: AUDIT_WRITE, MKNOD,
        // NET_RAW) and the provider reads them into `capabilities`, which is ForceNew with no
        // diff suppression (resource_docker_container.go:262, funcs.go:870-878): every `up` would
        // replace the container. The program sets no capabilities; the host's policy decides.
        ignoreChanges: ["capabilities"],
        // The provider's Update applies only restart and resource limits (funcs.go:1016-1019);
        // a changed healthcheck (not ForceNew, resource_docker_container.go:1045) would reach the
        // state and never the container. Replace instead.
        replaceOnChanges: ["healthcheck"],
    });
}
