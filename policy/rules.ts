import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as policyProxy from "@pulumi/policy/proxy";
import { appEnvProblems, parseEnvLines } from "../lib/appEnv";
import { ENVIRONMENTS, EnvironmentName, environmentNames, unitName } from "../lib/environments";
import { checkAppImage, checkPinnedImage } from "../lib/imageRef";
import { readScriptFiles } from "../lib/hostScript";
import { foreignVolumeOwner, internalNetworkOwner } from "../lib/isolation";
import { PODMAN } from "../lib/systemd";

/**
 * The project's CrossGuard rules, apart from the PolicyPack (policy/index.ts) so
 * tests call them without the CLI: constructing a PolicyPack outside the CLI exits.
 *
 * What the policy SDK cannot see, and the program enforces instead (test/stackExpectations.ts):
 * - `retainOnDelete`: PolicyResourceOptions (@pulumi/policy policy.d.ts) has protect,
 *   ignoreChanges, deleteBeforeReplace, aliases, customTimeouts, additionalSecretOutputs
 *   and parent, no retainOnDelete; components/hostResources.ts dataVolume sets it.
 * - secretness: the analyzer unwraps secrets before a rule sees props
 *   (server.js deserializeProperties(..., false)), so a plaintext password and a
 *   secret one look alike; components/database.ts and app.ts wrap envs in secrets.
 */

export const TYPES = {
    container: "docker:index/container:Container",
    volume: "docker:index/volume:Volume",
    network: "docker:index/network:Network",
    image: "docker:index/remoteImage:RemoteImage",
    localCommand: "command:local:Command",
    remoteCommand: "command:remote:Command",
} as const;

/** A resource as a rule sees it: the fields both ResourceValidationArgs and PolicyResource have. */
export type Seen = Pick<ResourceValidationArgs, "type" | "name" | "urn" | "props"> & { opts: Pick<ResourceValidationArgs["opts"], "protect"> };

/** `urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>`. */
function parseUrn(urn: string): { stack: string; types: string[] } {
    const [head, , qualifiedType = ""] = urn.split("::");
    return { stack: head.replace(/^urn:pulumi:/, ""), types: qualifiedType.split("$") };
}

/** The environment of a resource's stack, or undefined for a stack of no environment. */
function environmentOf(urn: string): EnvironmentName | undefined {
    const stack = parseUrn(urn).stack;
    return (ENVIRONMENTS as readonly string[]).includes(stack) ? stack as EnvironmentName : undefined;
}

const under = (resource: Seen, component: string) => parseUrn(resource.urn).types.includes(`rezept-tagebuch:index:${component}`);

/** A database container: made by the Database component, or named as one. */
function isDatabaseContainer(resource: Seen): boolean {
    if (resource.type !== TYPES.container) return false;
    return under(resource, "Database") || ENVIRONMENTS.some((env) => environmentNames(env).dbContainer === resource.props.name);
}

/** An app container: made by the App component, or named as one. */
function isAppContainer(resource: Seen): boolean {
    if (resource.type !== TYPES.container) return false;
    return under(resource, "App") || ENVIRONMENTS.some((env) => environmentNames(env).appContainer === resource.props.name);
}

/** The names of the networks a container joins (networksAdvanced). */
function networksOf(resource: Seen): string[] {
    return ((resource.props.networksAdvanced ?? []) as { name?: string }[]).map((network) => String(network.name));
}

/** The container's env as a map; undefined while a preview does not know it yet. */
function envOf(resource: Seen): Record<string, string> | undefined {
    const envs = resource.props.envs;
    return Array.isArray(envs) && envs.every((line) => typeof line === "string") ? parseEnvLines(envs) : undefined;
}

type Report = (message: string, urn?: string) => void;

export const imagesPinned: ResourceValidationPolicy = {
    name: "images-pinned",
    description: "Images carry a tag or digest, never :latest; prod's app image a release tag or a digest (lib/imageRef.ts).",
    validateResource: (args: Seen, report: Report) => {
        if (args.type !== TYPES.image) return;
        const reference = String(args.props.name ?? "");
        const env = environmentOf(args.urn);
        const result = under(args, "App") && env ? checkAppImage(env, reference) : checkPinnedImage(reference);
        if (!result.ok) {
            report(`image ${result.reason}; fix: npm run stack -- config ${env ?? "<stack>"} set ${under(args, "App") ? "appImage" : "dbImage"} <repository>:<release tag> or <repository>@sha256:<digest>`);
        }
    },
};

export const dbOnInternalNetworkOnly: ResourceValidationPolicy = {
    name: "db-on-internal-network-only",
    description: "A database joins only its environment's internal network, never the shared proxy network.",
    validateResource: (args: Seen, report: Report) => {
        if (!isDatabaseContainer(args)) return;
        const env = environmentOf(args.urn);
        const allowed = env ? environmentNames(env).internalNetwork : undefined;
        for (const network of (args.props.networksAdvanced ?? []) as { name?: string }[]) {
            if (network.name !== allowed) {
                report(`database container ${args.props.name} joins network ${network.name}; fix: a database joins only ${allowed ?? "its environment's internal network"} (remove ${network.name} from its networksAdvanced)`);
            }
        }
    },
};

/** Where a database container keeps its data: the image's PGDATA (components/database.ts). */
const PGDATA = "/var/lib/postgresql/data";

/**
 * Only the database's data volume must be protected: the program registers it in every stack. A
 * volume a key can take out of the program (the WAL archive, the uploads) is retained on the host
 * but not protected, or turning that key off would be refused by the engine (components/hostResources.ts).
 */
export const dataVolumesProtected: StackValidationPolicy = {
    name: "data-volumes-protected",
    description: "The volume a database keeps its data in is protected (retainOnDelete is invisible to policies: the program sets it on every volume, components/hostResources.ts).",
    validateStack: (args: { resources: Seen[] }, report: Report) => {
        const volumes = new Map(args.resources.filter((r) => r.type === TYPES.volume).map((volume) => [String(volume.props.name), volume]));
        for (const db of args.resources.filter(isDatabaseContainer)) {
            for (const mount of (db.props.volumes ?? []) as { volumeName?: string; containerPath?: string }[]) {
                const volume = mount.containerPath === PGDATA && mount.volumeName !== undefined ? volumes.get(mount.volumeName) : undefined;
                if (volume && !volume.opts.protect) {
                    report(`volume ${mount.volumeName}, the data of database container ${db.props.name}, is not protected, so a destroy or replacement would let go of it; fix: create it with components/hostResources.ts dataVolume without droppable (protect: true, retainOnDelete: true)`, volume.urn);
                }
            }
        }
    },
};

export const appUsesOwnDatabase: StackValidationPolicy = {
    name: "app-uses-own-database",
    description: "Every app's POSTGRES_HOST is a database container of the same stack; DEV_MODE only in dev (lib/appEnv.ts).",
    validateStack: (args: { resources: Seen[] }, report: Report) => {
        const databases = args.resources.filter(isDatabaseContainer).map((db) => String(db.props.name));
        for (const container of args.resources) {
            if (container.type !== TYPES.container || isDatabaseContainer(container)) continue;
            const env = envOf(container);
            const environment = environmentOf(container.urn);
            if (!env || !environment || !("POSTGRES_HOST" in env || under(container, "App"))) continue;
            for (const problem of appEnvProblems(environment, env, databases)) {
                report(`container ${container.props.name}: ${problem}; fix: let components/app.ts derive it from the ${environment} Database (remove it from appEnv/appSecretEnv)`, container.urn);
            }
        }
    },
};

/**
 * Which volumes are a container's own environment's: the volumes its stack registers
 * (every data volume is a docker Volume of the stack, components/hostResources.ts
 * dataVolume, created or imported), except another environment's derived names.
 * Names alone cannot tell, as a stack may configure any name (dbDataVolume); the
 * stack's own Volume resources can, but a stack can register a Volume under another
 * environment's name (dbDataVolume seaser-postgres-data in dev), and the derived
 * names are the contract the host already relies on. Labels cannot tell either: the
 * volumes carry none (an import must match the unlabelled volumes already on the host).
 * A name that another stack's config sets is beyond a policy, which sees one stack:
 * lib/config.ts refuses it before anything is registered, the host check on the host.
 */
export const containersMountOwnVolumes: StackValidationPolicy = {
    name: "containers-mount-own-volumes",
    description: "Every container mounts only volumes of its own environment: named volumes its stack registers, never another environment's, no host path.",
    validateStack: (args: { resources: Seen[] }, report: Report) => {
        const registered = new Set(args.resources.filter((r) => r.type === TYPES.volume).map((volume) => String(volume.props.name)));
        for (const container of args.resources.filter((r) => r.type === TYPES.container)) {
            const env = environmentOf(container.urn);
            if (!env) continue;
            const name = container.props.name;
            const key = isDatabaseContainer(container) ? "dbDataVolume" : "appDataVolume";
            const fix = `fix: mount only the stack's own data volumes (components/hostResources.ts dataVolume); for a configured name: pulumi config set --stack ${env} ${key} <a volume of ${env}'s own>`;
            const mounts = [
                ...((container.props.volumes ?? []) as { volumeName?: string; hostPath?: string; fromContainer?: string }[])
                    .map((v) => v.hostPath ? { bind: v.hostPath } : v.fromContainer ? { from: v.fromContainer } : { volume: v.volumeName }),
                ...((container.props.mounts ?? []) as { type?: string; source?: string }[])
                    .filter((m) => m.type === "volume" || m.type === "bind").map((m) => m.type === "bind" ? { bind: m.source } : { volume: m.source }),
            ];
            for (const mount of mounts) {
                if ("bind" in mount) report(`container ${name} mounts the host path ${mount.bind}, which is no volume of the ${env} environment (it may be another's data directory); ${fix}`, container.urn);
                else if ("from" in mount) report(`container ${name} mounts the volumes of container ${mount.from}, which are no volumes of its stack; ${fix}`, container.urn);
                else if (mount.volume === undefined) continue; // an anonymous volume: the container's own
                else {
                    const owner = foreignVolumeOwner(mount.volume, env, {});
                    if (owner) report(`container ${name} mounts the volume ${mount.volume}, ${owner.how}: the ${env} stack would use ${owner.environment}'s data; ${fix}`, container.urn);
                    else if (!registered.has(mount.volume)) report(`container ${name} mounts the volume ${mount.volume}, which its stack neither creates nor imports; ${fix}`, container.urn);
                }
            }
        }
    },
};

/**
 * What a stack creates is its environment's by name: a volume no other environment's (its derived
 * names, lib/isolation.ts derivedVolumes: Podman's volume create takes over an existing volume of
 * the name, so registering one is using it), a network its environment's internal network (the only
 * network a stack creates, components/network.ts; the proxy's it only joins).
 */
export const createsOwnVolumesAndNetworks: ResourceValidationPolicy = {
    name: "creates-own-volumes-and-networks",
    description: "A stack creates only volumes and networks of its own environment by name: no other environment's volume names, no network but its internal one.",
    validateResource: (args: Seen, report: Report) => {
        const env = environmentOf(args.urn);
        if (!env) return;
        const name = String(args.props.name ?? "");
        if (args.type === TYPES.volume) {
            const owner = foreignVolumeOwner(name, env, {});
            if (owner) report(`volume ${name} is ${owner.how}: the ${env} stack would take it over (Podman's volume create returns an existing volume of the name) and use ${owner.environment}'s data; fix: create only the ${env} stack's own volumes (a configured one: npm run stack -- config ${env} set dbDataVolume or appDataVolume <a volume of ${env}'s own>)`);
        } else if (args.type === TYPES.network && name !== environmentNames(env).internalNetwork) {
            const owner = internalNetworkOwner(name);
            report(`network ${name} is ${owner ? `the ${owner} internal network` : `no network of the ${env} environment`}: the ${env} stack creates only its internal network ${environmentNames(env).internalNetwork}; fix: create it with components/network.ts EnvironmentNetwork and environmentNames("${env}").internalNetwork`);
        }
    },
};

export const containersJoinOwnNetworks: ResourceValidationPolicy = {
    name: "containers-join-own-networks",
    description: "Every container joins only its environment's internal network and, for an app, one network that is no environment's internal network (the proxy's); databases: db-on-internal-network-only.",
    validateResource: (args: Seen, report: Report) => {
        // A database gets the stricter db-on-internal-network-only; reported twice, one fault would read as two.
        if (args.type !== TYPES.container || isDatabaseContainer(args)) return;
        const env = environmentOf(args.urn);
        if (!env) return;
        const own = environmentNames(env).internalNetwork;
        const app = isAppContainer(args);
        const allowed = app ? `${own} and the reverse proxy's network` : own;
        const mode = String(args.props.networkMode ?? "");
        if (mode === "host" || mode.startsWith("container:")) {
            report(`container ${args.props.name} has networkMode ${mode}, which shares another network namespace than its environment's; fix: leave networkMode unset and join only ${allowed} (networksAdvanced)`);
        }
        const outside = networksOf(args).filter((network) => network !== own);
        for (const network of outside) {
            const owner = internalNetworkOwner(network);
            if (owner) {
                report(`container ${args.props.name} joins network ${network}, the ${owner} internal network, where ${owner}'s database is; fix: it joins only ${allowed}` +
                    (app ? ` (pulumi config set --stack ${env} proxyNetwork <the reverse proxy's network>)` : ` (remove ${network} from its networksAdvanced)`));
            } else if (!app) {
                report(`container ${args.props.name} joins network ${network}, which is not the ${env} internal network; only apps join the proxy network; fix: remove ${network} from its networksAdvanced`);
            }
        }
        const proxies = outside.filter((network) => internalNetworkOwner(network) === undefined);
        if (app && proxies.length > 1) {
            report(`app container ${args.props.name} joins ${proxies.join(", ")}: more than the one proxy network; fix: it joins only ${allowed} (components/app.ts)`);
        }
    },
};

/**
 * What @pulumi/policy throws when a rule reads an input a preview does not know yet: the analyzer hands
 * rules the inputs behind a proxy that throws it on reading such a value (proxy.js unknownCheckingProxy,
 * an internal export: its typings declare nothing), and the CLI then reports the whole rule for that
 * resource as "can't run ... during preview" (advisory), so it judged nothing there.
 */
const { UnknownValueError } = policyProxy as unknown as { UnknownValueError: new (...args: never[]) => Error };

/** `read()`, or undefined where it reads a value the preview does not know yet. */
function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (error) {
        if (error instanceof UnknownValueError) return undefined;
        throw error;
    }
}

/**
 * The proxy network an app's health gate connects it to once healthy (components/app.ts names it in the
 * gate's triggers as `proxyNetwork=<name>`), or undefined for any other resource. Read element by element:
 * in a preview the gate's other trigger, the new container's id, and the standby's image id are unknown
 * until `up` (a real `pulumi preview` shows them as [unknown]); the network's element is plain config.
 */
function gateProxyNetwork(resource: Seen): string | undefined {
    if (![TYPES.localCommand, TYPES.remoteCommand].includes(resource.type as any) || !under(resource, "App")) return undefined;
    const triggers = known(() => resource.props.triggers);
    if (!Array.isArray(triggers)) return undefined;
    for (let index = 0; index < triggers.length; index++) {
        const trigger = known(() => triggers[index]);
        if (typeof trigger === "string" && trigger.startsWith("proxyNetwork=")) return trigger.slice("proxyNetwork=".length);
    }
    return undefined;
}

export const proxyNetworkNotInternal: ResourceValidationPolicy = {
    name: "proxy-network-not-internal",
    description: "An app's proxy network (each network besides its one internal network, and the one its health gate connects it to) is no environment's internal network, its own included.",
    validateResource: (args: Seen, report: Report) => {
        const env = environmentOf(args.urn);
        if (!env) return;
        const gated = gateProxyNetwork(args);
        const gatedOwner = gated === undefined ? undefined : internalNetworkOwner(gated);
        if (gatedOwner) {
            report(`app health gate ${args.name} connects the app to the ${gatedOwner} internal network ${gated} as its proxy network, so the reverse proxy's side is a database network; ` +
                `fix: npm run stack -- config ${env} set proxyNetwork seaser-network (the reverse proxy's own network, which no environment owns)`);
        }
        if (!isAppContainer(args)) return;
        const networks = networksOf(args);
        const internal = networks.indexOf(environmentNames(env).internalNetwork);
        for (const [index, network] of networks.entries()) {
            const owner = index === internal ? undefined : internalNetworkOwner(network);
            if (owner) {
                report(`app container ${args.props.name} has the ${owner} internal network ${network} as its proxy network, so the reverse proxy's side is a database network; ` +
                    `fix: npm run stack -- config ${env} set proxyNetwork seaser-network (the reverse proxy's own network, which no environment owns)`);
            }
        }
    },
};

/** The containers a unit file starts, read from the installer's parameters (its `units`, lib/systemd.ts renderInstallScript). */
function startedByUnits(commands: Seen[]): Set<string> {
    const started = new Set<string>();
    for (const command of commands) {
        const units = readScriptFiles(String(command.props.create ?? ""), "units");
        for (const [file, content] of Object.entries(units)) {
            for (const match of content.matchAll(new RegExp(`^ExecStartPre=${PODMAN} start (\\S+)$`, "gm"))) {
                if (unitName(match[1]) === file) started.add(match[1]);
            }
        }
    }
    return started;
}

export const containersStartedByUnits: StackValidationPolicy = {
    name: "containers-started-by-units",
    description: "Every container of a stack is started by one of the stack's systemd units (components/bootUnits.ts), so it comes back after a reboot.",
    validateStack: (args: { resources: Seen[] }, report: Report) => {
        const started = startedByUnits(args.resources.filter((r) => under(r, "BootUnits") && (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand)));
        for (const container of args.resources.filter((r) => r.type === TYPES.container)) {
            const name = String(container.props.name);
            if (!started.has(name)) {
                report(`container ${name} is started by no systemd unit of this stack, so it stays down after a reboot; fix: pass it to the stack's BootUnits (index.ts) so ${unitName(name)} is installed`, container.urn);
            }
        }
    },
};

/** Every rule of the pack; mandatory. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    imagesPinned, dbOnInternalNetworkOnly, dataVolumesProtected, appUsesOwnDatabase, containersStartedByUnits,
    containersMountOwnVolumes, createsOwnVolumesAndNetworks, containersJoinOwnNetworks, proxyNetworkNotInternal,
];

