/**
 * Stands in for the docker and command providers, which cannot be installed here:
 * takes what the real program registers for a stack (under mocks) and creates it
 * through the host user's Podman socket with the Docker Engine API, as the docker
 * provider does, then runs the exact install script the program rendered. It maps
 * only the fields the program uses and throws on any other, so a new field in the
 * program cannot be silently ignored here.
 */
import { request } from "node:http";
import { EnvironmentName } from "../lib/environments";
import { ProgramRun, Registered, runProgram, TYPES } from "../test/harness";
import { SystemdHost } from "./host";

export interface Deployment {
    readonly environment: EnvironmentName;
    readonly run: ProgramRun;
    /** The create request per container name, to tell when a container must be replaced. */
    readonly containers: ReadonlyMap<string, string>;
    readonly installer: Registered;
}

function only(resource: Registered, fields: string[]): void {
    const unknown = Object.keys(resource.inputs).filter((key) => !fields.includes(key));
    if (unknown.length > 0) throw new Error(`e2e fixture: ${resource.type} ${resource.name} has inputs it does not map: ${unknown.join(", ")}`);
}

const DURATION = /^(\d+)s$/;
function nanoseconds(duration: string): number {
    const match = DURATION.exec(duration);
    if (!match) throw new Error(`e2e fixture: duration ${duration} is not mapped (only whole seconds)`);
    return Number(match[1]) * 1e9;
}

/** The Docker Engine API create body for a docker Container's inputs, plus the networks to connect after create. */
export function containerRequest(container: Registered): { body: Record<string, unknown>; extraNetworks: string[] } {
    // mustRun concerns what the provider does on refresh; there is nothing to create for it.
    only(container, ["name", "image", "envs", "volumes", "networksAdvanced", "healthcheck", "labels", "restart", "mustRun"]);
    const inputs = container.inputs;
    for (const volume of inputs.volumes ?? []) {
        const extra = Object.keys(volume).filter((key) => !["volumeName", "containerPath"].includes(key));
        if (extra.length > 0) throw new Error(`e2e fixture: volume fields ${extra.join(", ")} are not mapped`);
    }
    const networks: string[] = (inputs.networksAdvanced ?? []).map((network: Record<string, unknown>) => {
        if (Object.keys(network).join() !== "name") throw new Error(`e2e fixture: network fields ${Object.keys(network).join(", ")} are not mapped`);
        return network.name;
    });
    const health = inputs.healthcheck;
    if (health && !["CMD", "CMD-SHELL"].includes(health.tests[0])) throw new Error(`e2e fixture: healthcheck test ${JSON.stringify(health.tests)} is not mapped`);
    const body = {
        Image: inputs.image,
        Env: inputs.envs ?? [],
        Labels: Object.fromEntries((inputs.labels ?? []).map((l: { label: string; value: string }) => [l.label, l.value])),
        Healthcheck: health && {
            Test: health.tests, Interval: nanoseconds(health.interval), Timeout: nanoseconds(health.timeout),
            Retries: health.retries, StartPeriod: nanoseconds(health.startPeriod),
        },
        HostConfig: {
            Binds: (inputs.volumes ?? []).map((v: { volumeName: string; containerPath: string }) => `${v.volumeName}:${v.containerPath}`),
            RestartPolicy: { Name: inputs.restart },
            NetworkMode: networks[0],
        },
        NetworkingConfig: { EndpointsConfig: networks[0] ? { [networks[0]]: {} } : {} },
    };
    return { body, extraNetworks: networks.slice(1) };
}

/** A client of the Docker-compatible API on a unix socket. */
function dockerApi(socketPath: string) {
    return (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request({
            socketPath, method, path: `/v1.41${path}`,
            headers: payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {},
        }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => { text += chunk; });
            res.on("end", () => {
                // Most answers are JSON; some are plain text (network connect answers "OK").
                let json: unknown = text;
                try { json = text ? JSON.parse(text) : undefined; } catch { /* keep the text */ }
                resolve({ status: res.statusCode ?? 0, json });
            });
        });
        req.on("error", reject);
        req.end(payload);
    });
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
    const api = dockerApi(host.apiSocket);
    const checked = async (what: string, call: Promise<{ status: number; json: any }>, ok: number[]) => {
        const { status, json } = await call;
        if (!ok.includes(status)) throw new Error(`e2e fixture: ${what}: HTTP ${status} ${JSON.stringify(json)}`);
        return json;
    };
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
        const { name, driver, internal, labels } = network.inputs;
        if ((await api("GET", `/networks/${name}`)).status === 404) {
            await checked(`create network ${name}`, api("POST", "/networks/create", {
                Name: name, Driver: driver, Internal: internal, CheckDuplicate: true,
                Labels: Object.fromEntries(labels.map((l: { label: string; value: string }) => [l.label, l.value])),
            }), [201]);
        }
    }
    for (const volume of run.ofType(TYPES.volume)) {
        only(volume, ["name"]);
        await checked(`create volume ${volume.inputs.name}`, api("POST", "/volumes/create", { Name: volume.inputs.name }), [200, 201]);
    }
    for (const image of run.ofType(TYPES.image)) {
        only(image, ["name", "keepLocally"]);
        // Nothing can be pulled here: the image must be on the host, as a localhost/ image is on the real one.
        await checked(`find image ${image.inputs.name}`, api("GET", `/images/${encodeURIComponent(image.inputs.name)}/json`), [200]);
    }

    const containers = new Map<string, string>();
    for (const container of inDependencyOrder(run.ofType(TYPES.container))) {
        const name = container.inputs.name as string;
        const { body, extraNetworks } = containerRequest(container);
        const fingerprint = JSON.stringify({ body, extraNetworks });
        containers.set(name, fingerprint);
        const exists = (await api("GET", `/containers/${name}/json`)).status === 200;
        if (exists && previous?.containers.get(name) === fingerprint) continue;
        if (exists) await checked(`remove ${name}`, api("DELETE", `/containers/${name}?force=true`), [204]);
        const { Id: id } = await checked(`create ${name}`, api("POST", `/containers/create?name=${name}`, body), [201]);
        for (const network of extraNetworks) {
            await checked(`connect ${name} to ${network}`, api("POST", `/networks/${network}/connect`, { Container: id }), [200]);
        }
        await checked(`start ${name}`, api("POST", `/containers/${id}/start`), [204, 304]);
    }

    const installer = run.find(TYPES.localCommand, `${environment}-boot-install`);
    only(installer, ["create", "delete", "interpreter", "triggers"]);
    const old = previous?.installer.inputs;
    const triggersChanged = old !== undefined && JSON.stringify(old.triggers) !== JSON.stringify(installer.inputs.triggers);
    if (triggersChanged) runScript(host, old.interpreter, old.delete);
    if (!old || triggersChanged || old.create !== installer.inputs.create) runScript(host, installer.inputs.interpreter, installer.inputs.create);
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
