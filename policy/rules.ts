import { parse } from "shell-quote";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { appEnvProblems, parseEnvLines } from "../lib/appEnv";
import { ENVIRONMENTS, EnvironmentName, environmentNames, unitName } from "../lib/environments";
import { checkAppImage, checkPinnedImage } from "../lib/imageRef";
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
            report(`image ${result.reason}; fix: pulumi config set ${under(args, "App") ? "appImage" : "dbImage"} <repository>:<release tag> or <repository>@sha256:<digest>`);
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

export const dataVolumesProtected: ResourceValidationPolicy = {
    name: "data-volumes-protected",
    description: "Data volumes are protected (retainOnDelete is invisible to policies: the program sets it, components/hostResources.ts).",
    validateResource: (args: Seen, report: Report) => {
        if (args.type !== TYPES.volume) return;
        if (!args.opts.protect) {
            report(`volume ${args.props.name} is not protected, so a destroy or replacement deletes its data; fix: create it with components/hostResources.ts dataVolume (protect: true, retainOnDelete: true)`);
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

/** The containers a unit file starts, read from the installer's triggers (`<unit file>\n<content>`). */
function startedByUnits(commands: Seen[]): Set<string> {
    const started = new Set<string>();
    for (const command of commands) {
        // The install script writes each unit on a line of its own as `write_unit NAME CONTENT`, shell-quoted
        // (lib/systemd.ts renderInstallScript); each is read back from where its line starts.
        const script = String(command.props.create ?? "");
        for (const line of script.matchAll(/^write_unit /gm)) {
            const [, file, content] = parse(script.slice(line.index));
            if (typeof file !== "string" || typeof content !== "string") continue;
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
];

