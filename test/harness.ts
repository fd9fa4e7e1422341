import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { SECRET_KEYS } from "../lib/config";
import { PROJECT } from "../lib/environments";

/** One resource the program registered, as the engine would have seen it. */
export interface Registered {
    readonly type: string;
    readonly name: string;
    /** Inputs with secrets unwrapped (what the provider would receive). */
    readonly inputs: Record<string, any>;
    /** Inputs as serialized for the engine: secrets still wrapped in their signature. */
    readonly wireInputs: Record<string, any>;
    readonly custom: boolean;
    readonly parent: string;
    /** Provider reference ("urn::id"), empty for the default provider. */
    readonly provider: string;
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly dependencies: string[];
    /** Input property name to the URNs its value came from (an Output's resources; `dependsOn` adds none). */
    readonly propertyDependencies: Readonly<Record<string, string[]>>;
    /** The id of an existing resource to adopt (the `import` option), or "". */
    readonly importId: string;
    /** The `ignoreChanges` option: property names the engine and provider leave out of the diff. */
    readonly ignoreChanges: string[];
    /** The `replaceOnChanges` option: property names whose change replaces the resource. */
    readonly replaceOnChanges: string[];
    readonly urn: string;
}

export interface ProgramRun extends Recorder {
    readonly outputs: Record<string, unknown>;
    readonly warnings: string[];
    /** Resolves an exported output or input to its plain value and secretness. */
    resolve(value: unknown): Promise<{ value: unknown; secret: boolean }>;
}

/** The signature Pulumi wraps secret values in on the wire. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Stands in for the image lookup a provider would do: a stable id per reference. */
export function fakeImageId(reference: string): string {
    return `sha256:${createHash("sha256").update(reference).digest("hex")}`;
}

/** Registered resources of a mocked Pulumi runtime, and a way to wait for them all. */
export interface Recorder {
    readonly resources: Registered[];
    /** Resolves when registrations have stopped arriving. */
    settle(): Promise<void>;
    find(type: string, name: string): Registered;
    ofType(type: string): Registered[];
}

/**
 * Chooses a resource's id under mocks, given its registration; `undefined` keeps the
 * default `${name}-id`. The e2e fixture derives ids from content, as an engine's ids
 * change exactly when a resource is replaced.
 */
export type MockId = (registered: Registered) => string | undefined;

/** A RegisterResourceRequest's property dependencies (a protobuf map of PropertyDependencies) as plain lists. */
function propertyDependencies(map: { forEach(each: (deps: { getUrnsList(): string[] }, key: string) => void): void }): Record<string, string[]> {
    const plain: Record<string, string[]> = {};
    map.forEach((deps, key) => { plain[key] = deps.getUrnsList(); });
    return plain;
}

/** Installs mocks for `stack` that record every registration with its options. */
export async function startRecording(stack: string, imageId: (reference: string) => string = fakeImageId, mockId?: MockId): Promise<Recorder> {
    const resources: Registered[] = [];
    await pulumi.runtime.setMocks({
        newResource(args) {
            const state: Record<string, unknown> = { ...args.inputs };
            if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = imageId(args.inputs.name);
            // The monitor wrapper below records a registration before the mock sees it.
            const registered = [...resources].reverse().find((r) => r.type === args.type && r.name === args.name);
            return { id: (registered && mockId?.(registered)) ?? `${args.name}-id`, state };
        },
        call(args) {
            throw new Error(`Mock call not implemented: ${args.token}`);
        },
    }, PROJECT, stack, true);

    const monitor: any = pulumi.runtime.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        resources.push({
            type: req.getType(),
            name: req.getName(),
            inputs: revealSecrets(req.getObject()?.toJavaScript() ?? {}) as Record<string, any>,
            wireInputs: req.getObject()?.toJavaScript() ?? {},
            custom: req.getCustom(),
            parent: req.getParent(),
            provider: req.getProvider(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            dependencies: req.getDependenciesList(),
            propertyDependencies: propertyDependencies(req.getPropertydependenciesMap()),
            importId: req.getImportid(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            urn: `urn:pulumi:${stack}::${PROJECT}::${req.getType()}::${req.getName()}`,
        });
        return register(req, callback);
    };
    return {
        resources,
        settle: () => settle(() => resources.length),
        find(type, name) {
            const hit = resources.find((r) => r.type === type && r.name === name);
            if (!hit) throw new Error(`no ${type} named ${name}; registered: ${resources.map((r) => `${r.type}::${r.name}`).join(", ")}`);
            return hit;
        },
        ofType(type) {
            return resources.filter((r) => r.type === type);
        },
    };
}

/**
 * Runs index.ts for `stack` under mocks with the given config (keys without the
 * project prefix) and records every registered resource with its options.
 * A test file may call it many times: each call starts from fresh modules.
 */
export async function runProgram(
    stack: string,
    config: Record<string, string>,
    opts: { secretKeys?: string[]; imageId?: (reference: string) => string; mockId?: MockId; recorder?: Recorder } = {},
): Promise<ProgramRun> {
    const recorder = opts.recorder ?? await startRecording(stack, opts.imageId, opts.mockId);
    const warnings: string[] = [];
    const prefixed: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) prefixed[`${PROJECT}:${key}`] = value;
    // As `pulumi config set --secret` leaves them: every secret key the program declares is encrypted unless a test says otherwise.
    const secretKeys = opts.secretKeys ?? SECRET_KEYS.filter((key) => key in config);
    pulumi.runtime.setAllConfig(prefixed, secretKeys.map((key) => `${PROJECT}:${key}`));

    const warn = pulumi.log.warn;
    (pulumi.log as any).warn = (message: string) => { warnings.push(message); return Promise.resolve(); };
    let outputs: Record<string, unknown>;
    try {
        const { vi } = await import("vitest");
        vi.resetModules();
        outputs = { ...(await import("../index")) };
    } finally {
        (pulumi.log as any).warn = warn;
    }
    // The program's callbacks run until registrations settle.
    await recorder.settle();

    return {
        ...recorder,
        outputs,
        warnings,
        async resolve(value) {
            if (!pulumi.Output.isInstance(value)) return { value, secret: false };
            const output = value as any;
            const [plain, secret] = await Promise.all([output.promise(), output.isSecret]);
            return { value: plain, secret };
        },
    };
}

/**
 * Registrations finish asynchronously, after the inputs they depend on resolve,
 * and Pulumi offers no public "all done" under mocks: wait until the count of
 * registrations stops changing over several rounds of RPC draining.
 */
async function settle(count: () => number): Promise<void> {
    let stableRounds = 0;
    for (let last = -1; stableRounds < 6; ) {
        await (pulumi.runtime as any).waitForRPCs();
        await new Promise((resolve) => setTimeout(resolve, 25));
        stableRounds = count() === last ? stableRounds + 1 : 0;
        last = count();
    }
}

/** A config that passes validation, per stack, to vary from. */
export function validConfig(stack: string): Record<string, string> {
    const base = { dbPassword: "s3cret-pg-password" };
    if (stack === "prod") return { ...base, appImage: "localhost/seaser-rezept-tagebuch:rezept_version_10_11_2025_001" };
    if (stack === "dev") return { ...base, appImage: "localhost/seaser-rezept-tagebuch:rezept_version_12_11_2025_002" };
    return { ...base, appEnabled: "false" };
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Rebuilds `value`, passing each secret-wrapped value through `secret`. */
function mapSecrets(value: unknown, secret: (plain: unknown) => unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => mapSecrets(item, secret));
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) return secret(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, mapSecrets(v, secret)]));
    }
    return value;
}

/** Replaces every secret-wrapped value by its plain value. */
export function revealSecrets(value: unknown): unknown {
    return mapSecrets(value, (plain) => revealSecrets(plain));
}

/** Removes every secret-wrapped value, leaving what would be stored in plaintext. */
export function withoutSecrets(value: unknown): unknown {
    return mapSecrets(value, () => "[secret]");
}

export const TYPES = {
    container: "docker:index/container:Container",
    volume: "docker:index/volume:Volume",
    network: "docker:index/network:Network",
    image: "docker:index/remoteImage:RemoteImage",
    provider: "pulumi:providers:docker",
    localCommand: "command:local:Command",
    remoteCommand: "command:remote:Command",
} as const;
