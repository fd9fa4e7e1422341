/**
 * Stands in for the docker and command providers, which cannot be installed here:
 * takes what the real program registers for a stack (under mocks) and creates it
 * with podman inside the test host, then runs the exact install script the program
 * rendered. It maps only the fields the program uses and throws on any other, so a
 * new field in the program cannot be silently ignored here.
 */
import { quote } from "shell-quote";
import { EnvironmentName } from "../lib/environments";
import { ProgramRun, Registered, runProgram, TYPES } from "../test/harness";
import { SystemdHost } from "./host";

export interface Deployment {
    readonly environment: EnvironmentName;
    readonly run: ProgramRun;
    /** podman create arguments per container name, to tell when a container must be replaced. */
    readonly containers: ReadonlyMap<string, string[]>;
    readonly installer: Registered;
}

function only(resource: Registered, fields: string[]): void {
    const unknown = Object.keys(resource.inputs).filter((key) => !fields.includes(key));
    if (unknown.length > 0) throw new Error(`e2e fixture: ${resource.type} ${resource.name} has inputs it does not map: ${unknown.join(", ")}`);
}

/** `podman create` arguments for a docker Container's inputs. */
export function containerArgs(container: Registered): string[] {
    // mustRun concerns what the provider does on refresh; it has no podman equivalent.
    only(container, ["name", "image", "envs", "volumes", "networksAdvanced", "healthcheck", "labels", "restart", "mustRun"]);
    const inputs = container.inputs;
    const args = ["create", "--name", inputs.name, "--restart", inputs.restart];
    for (const env of inputs.envs ?? []) args.push("--env", env);
    for (const volume of inputs.volumes ?? []) {
        const extra = Object.keys(volume).filter((key) => !["volumeName", "containerPath"].includes(key));
        if (extra.length > 0) throw new Error(`e2e fixture: volume fields ${extra.join(", ")} are not mapped`);
        args.push("--volume", `${volume.volumeName}:${volume.containerPath}`);
    }
    for (const network of inputs.networksAdvanced ?? []) {
        if (Object.keys(network).join() !== "name") throw new Error(`e2e fixture: network fields ${Object.keys(network).join(", ")} are not mapped`);
        args.push("--network", network.name);
    }
    for (const label of inputs.labels ?? []) args.push("--label", `${label.label}=${label.value}`);
    const health = inputs.healthcheck;
    if (health) {
        const [kind, ...test] = health.tests as string[];
        // podman's --health-cmd takes a shell string; CMD's argument list becomes one, quoted.
        if (kind === "CMD") args.push("--health-cmd", quote(test));
        else if (kind === "CMD-SHELL" && test.length === 1) args.push("--health-cmd", test[0]);
        else throw new Error(`e2e fixture: healthcheck test ${JSON.stringify(health.tests)} is not mapped`);
        args.push("--health-interval", health.interval, "--health-timeout", health.timeout,
            "--health-retries", String(health.retries), "--health-start-period", health.startPeriod);
    }
    args.push(inputs.image);
    return args;
}

/** Containers in an order that respects their dependencies (the database before its app). */
function inDependencyOrder(containers: Registered[]): Registered[] {
    const dependsOnAnother = (c: Registered) => containers.some((other) => other !== c && c.dependencies.some((urn) => urn.endsWith(`::${other.name}`)));
    return [...containers.filter((c) => !dependsOnAnother(c)), ...containers.filter(dependsOnAnother)];
}

/**
 * Deploys one stack as `pulumi up` would: creates what is missing, replaces a
 * container whose inputs changed (deleting first, as the program asks), and
 * re-installs the units when the installer's triggers change.
 */
export async function deploy(host: SystemdHost, environment: EnvironmentName, config: Record<string, string>, previous?: Deployment): Promise<Deployment> {
    // The mock resolves an image to its reference, so containers run the image the config names.
    const run = await runProgram(environment, config, { imageId: (reference) => reference, secretKeys: ["dbPassword"] });
    for (const resource of run.resources.filter((r) => r.custom)) {
        if (resource.type === TYPES.provider) only(resource, ["host"]);
        else if (![TYPES.network, TYPES.volume, TYPES.image, TYPES.container, TYPES.localCommand].includes(resource.type as never)) {
            throw new Error(`e2e fixture: resource type ${resource.type} is not mapped`);
        }
    }

    for (const network of run.ofType(TYPES.network)) {
        only(network, ["name", "driver", "internal", "labels"]);
        if (host.exec(["podman", "network", "exists", network.inputs.name]).status !== 0) {
            host.must(["podman", "network", "create", "--driver", network.inputs.driver, ...(network.inputs.internal ? ["--internal"] : []),
                ...network.inputs.labels.flatMap((l: { label: string; value: string }) => ["--label", `${l.label}=${l.value}`]), network.inputs.name]);
        }
    }
    for (const volume of run.ofType(TYPES.volume)) {
        only(volume, ["name"]);
        if (host.exec(["podman", "volume", "exists", volume.inputs.name]).status !== 0) host.must(["podman", "volume", "create", volume.inputs.name]);
    }
    for (const image of run.ofType(TYPES.image)) {
        only(image, ["name", "keepLocally"]);
        // Nothing can be pulled here: the image must be on the host, as a localhost/ image is on the real one.
        host.must(["podman", "image", "exists", image.inputs.name]);
    }

    const containers = new Map<string, string[]>();
    for (const container of inDependencyOrder(run.ofType(TYPES.container))) {
        const args = containerArgs(container);
        const name = container.inputs.name as string;
        containers.set(name, args);
        const unchanged = previous?.containers.get(name)?.join("\0") === args.join("\0");
        if (unchanged && host.exec(["podman", "container", "exists", name]).status === 0) continue;
        host.exec(["podman", "rm", "-f", "-t", "10", name]);
        host.must(["podman", ...args]);
        host.must(["podman", "start", name]);
    }

    const installer = run.find(TYPES.localCommand, `${environment}-boot-install`);
    only(installer, ["create", "delete", "interpreter", "triggers"]);
    const old = previous?.installer.inputs;
    if (old && JSON.stringify(old.triggers) !== JSON.stringify(installer.inputs.triggers)) runScript(host, old.interpreter, old.delete);
    if (!old || JSON.stringify(old.triggers) !== JSON.stringify(installer.inputs.triggers) || old.create !== installer.inputs.create) {
        runScript(host, installer.inputs.interpreter, installer.inputs.create);
    }
    return { environment, run, containers, installer };
}

/** Runs a command resource's script the way command.local does: interpreter + script. */
export function runScript(host: SystemdHost, interpreter: string[], script: string): string {
    return host.must([...interpreter, script], { timeoutMs: 300_000 });
}

/** The stack's remove script, as `pulumi destroy` of the command resource runs it. */
export function removeUnits(host: SystemdHost, deployment: Deployment): string {
    return runScript(host, deployment.installer.inputs.interpreter, deployment.installer.inputs.delete);
}
