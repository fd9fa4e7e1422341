/**
 * The real Pulumi engine for the e2e suite (issue 29): the CLI v3.248.0, its Node.js language host
 * and the docker and command providers, run where the README tells an operator to run them: on the
 * host, as its user, `npm run stack -- ...` (scripts/stack.sh, which `npm run stack` runs) in a
 * checkout there, with the local file backend (~/.pulumi-state) and a passphrase file. So
 * local.Command runs on the host and the docker provider talks to the user's Podman socket. Node.js
 * and the tools are mounted into the host, not installed (SystemdHost.boot); the checkout is a copy
 * of this one's files, its node_modules the mounted one. An operator's stack file is written as
 * `npm run stack -- config` leaves it: plain values as they are, secrets encrypted by the CLI.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { SECRET_KEYS } from "../lib/config";
import { EnvironmentName, PROJECT } from "../lib/environments";
import { NODE_IN_HOST, NODE_MODULES_IN_HOST, Result, run, SystemdHost, TOOLS_IN_HOST, USER } from "./host";

/** The checkout the suite runs from. */
const ORIGIN = join(__dirname, "..");
/** The operator's checkout on the host, where they run `npm run stack`. */
export const PROJECT_DIR = `${USER.home}/rezept-tagebuch`;
/** The passphrase file of the README's "The two commands". */
const PASSPHRASE_FILE = `${USER.home}/.config/rezept-tagebuch/passphrase`;

/**
 * The folder of the real Pulumi tools the hosts get (scripts/pulumi-tools.sh: PULUMI_TOOLS_DIR, or
 * shared/pulumi beside the checkout unpacked into the cache); throws naming both when there is none.
 */
export function pulumiToolsDir(): string {
    const dir = execFileSync("sh", [join(ORIGIN, "scripts", "pulumi-tools.sh")], { encoding: "utf8" }).trim();
    if (!dir) throw new Error("the e2e suite runs the real Pulumi tools: set PULUMI_TOOLS_DIR to a folder laid out as shared/pulumi/unpack.sh leaves it (DIR/bin/pulumi ...), or run it from a checkout with shared/pulumi beside it or above it");
    return dir;
}

/** Pulumi.yaml's defaults: a stack file holds only what differs from them, as an operator's does. */
const PROJECT_DEFAULTS: Record<string, string> = Object.fromEntries(Object.entries(parse(readFileSync(join(ORIGIN, "Pulumi.yaml"), "utf8")).config ?? {})
    .filter(([, spec]) => (spec as { default?: unknown }).default !== undefined)
    .map(([key, spec]) => [key, String((spec as { default: unknown }).default)]));

/**
 * Copies this checkout's files (tracked and new, as a clone of it would have them) into `dir` inside
 * the host, owned by its user, with node_modules the mounted one: a clone at another path.
 */
function installCheckout(host: SystemdHost, dir: string): void {
    copyCheckout(join(host.root, dir), NODE_MODULES_IN_HOST);
    host.asRoot(["chown", "-R", `${USER.name}:${USER.name}`, dir]);
}

/** This checkout's files (tracked and new, as a clone has them, without the e2e suite) in `target`, node_modules a link to `nodeModules`. */
function copyCheckout(target: string, nodeModules: string): void {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ORIGIN, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
        .split("\0").filter((file) => file !== "" && !file.startsWith("e2e/") && existsSync(join(ORIGIN, file)));
    rmSync(target, { recursive: true, force: true });
    for (const file of files) {
        mkdirSync(dirname(join(target, file)), { recursive: true });
        cpSync(join(ORIGIN, file), join(target, file));
    }
    symlinkSync(nodeModules, join(target, "node_modules"));
}

/**
 * The operator's own machine (a laptop) running Pulumi for a stack on the host over SSH: a clone in a
 * 0700 temporary folder of this machine with its own PULUMI_HOME, file backend and passphrase file,
 * the real tools from `tools`, and `environment` (e.g. DOCKER_SSH_OPTS) for the CLI and its providers.
 * `remove()` deletes it all.
 */
export function laptop(host: SystemdHost, tools: string, environment: Record<string, string>): CheckoutStacks & { remove(): void } {
    const dir = mkdtempSync(join(tmpdir(), "rezept-laptop-"));
    chmodSync(dir, 0o700);
    copyCheckout(join(dir, "checkout"), join(ORIGIN, "node_modules"));
    mkdirSync(join(dir, "state"));
    writeFileSync(join(dir, "passphrase"), "e2e-laptop-passphrase-not-a-secret\n", { mode: 0o600 });
    const place: Place = {
        run: (args, opts) => run(args[0], args.slice(1), { input: opts.input, timeoutMs: opts.timeoutMs, cwd: opts.cwd, env: { ...process.env, ...opts.env } }),
        local: (path) => path,
        own: () => undefined,
    };
    const stacks = new CheckoutStacks(host, join(dir, "checkout"), place, {
        PATH: process.env.PATH ?? "/usr/bin:/bin", PULUMI_TOOLS_DIR: tools, PULUMI_HOME: join(dir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${join(dir, "state")}`, PULUMI_CONFIG_PASSPHRASE_FILE: join(dir, "passphrase"), ...environment,
    });
    return Object.assign(stacks, { remove: () => rmSync(dir, { recursive: true, force: true }) });
}

/** One `pulumi up` as the engine did it: the steps it took, and the outputs it kept. */
export interface Deployment {
    readonly environment: EnvironmentName;
    /** The stack's configuration this deploy ran with (keys without the project prefix, defaults included). */
    readonly config: Record<string, string>;
    /** The engine's steps that changed something, as "<op> <Type> <name>", e.g. "replace Container dev-app-container". */
    readonly steps: string[];
    /** `pulumi stack output` after it: after a failed update, what the engine kept. */
    readonly outputs: Readonly<Record<string, unknown>>;
    /** When each step started (epoch seconds, the engine's) and how long it took, to see where a deploy's time goes. */
    readonly timeline: { step: string; start: number; seconds: number }[];
    /** Seconds the command took. */
    readonly seconds: number;
}

/** A `pulumi up` that failed, with what the engine left (its outputs) and what it said. */
export class DeployError extends Error {
    constructor(message: string, readonly partial: Deployment) {
        super(message);
    }
}

/**
 * One engine event of `pulumi up --json` (and destroy, refresh): a JSON object a line, its kind the key
 * besides `sequence` and `timestamp` (sdk/go/common/apitype/events.go EngineEvent): resourcePreEvent
 * when a step starts, resOutputsEvent when it is done, resOpFailedEvent when it failed, each with
 * `metadata.op` (create, update, delete, replace, create-replacement, delete-replaced, same, ...).
 */
interface EngineEvent { timestamp: number; [kind: string]: any }

/** The engine events a command printed, one JSON object a line; other lines (stack.sh's) are left out. */
export function engineEvents(stdout: string): EngineEvent[] {
    return stdout.split("\n").filter((line) => line.startsWith("{\"sequence\"")).map((line) => JSON.parse(line));
}

/** What the engine's diagnostics said, as the console shows them (debug messages left out): a failed command's output and the errors. */
export function printed(events: EngineEvent[]): string {
    return events.filter((event) => event.diagnosticEvent && event.diagnosticEvent.severity !== "debug")
        .map((event) => `${event.diagnosticEvent.prefix ?? ""}${event.diagnosticEvent.message}`).join("");
}

/** Whether a step of a resource of `type` changes the host: the providers' resources do; the stack, the components and the provider instances do not. */
const changesHost = (type: string) => !type.startsWith("pulumi:") && !type.startsWith(`${PROJECT}:`);

/** "replace Container dev-app-container": a step's op, its resource type's last word and its name. */
export function stepLabel(op: string, urn: string): string {
    const [type, name] = urn.split("::").slice(-2);
    return `${op} ${type.split("$").pop()!.split(":").pop()} ${name}`;
}

/** The steps that changed something, in the order they were done (failed ones as "failed <op> ..."), with their seconds. */
export function stepsOf(events: EngineEvent[]): { steps: string[]; timeline: { step: string; start: number; seconds: number }[] } {
    const started = new Map<string, number>();
    const steps: string[] = [];
    const timeline: { step: string; start: number; seconds: number }[] = [];
    for (const event of events) {
        const [kind, body] = Object.entries(event).find(([key]) => !["sequence", "timestamp"].includes(key)) ?? [];
        if (!kind || !["resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"].includes(kind)) continue;
        const { op, urn, type } = body.metadata as { op: string; urn: string; type: string };
        if (["same", "read", "refresh"].includes(op) || !changesHost(type)) continue;
        const key = `${op} ${urn}`;
        if (kind === "resourcePreEvent") { started.set(key, event.timestamp); continue; }
        const step = `${kind === "resOpFailedEvent" ? "failed " : ""}${stepLabel(op, urn)}`;
        steps.push(step);
        const start = started.get(key) ?? event.timestamp;
        timeline.push({ step, start, seconds: event.timestamp - start });
    }
    return { steps, timeline };
}

/** Where a checkout is and its commands run: on the host as its user, or on the operator's own machine (a laptop). */
export interface Place {
    /** Runs a command in folder `cwd` with `env` added to the place's environment. */
    run(args: string[], opts: { cwd: string; env: Record<string, string>; input: string; timeoutMs: number }): Result;
    /** Where a file of the place is on this machine. */
    local(path: string): string;
    /** Makes a file this machine wrote the place user's. */
    own(file: string): void;
}

/** The host as a Place: commands as its user (podman exec), files through its root file system. */
export function onHost(host: SystemdHost): Place {
    return {
        run: (args, opts) => host.exec(args, opts),
        local: (path) => join(host.root, path),
        own: (file) => chownSync(file, USER.uid, USER.uid),
    };
}

/**
 * The stacks of one checkout, driven through `npm run stack` as the operator drives them: by default
 * on the host, in `project` there (a folder of the host).
 */
export class CheckoutStacks {
    /** Each stack's secrets as the CLI encrypted them, by value: encrypting one costs a CLI run. */
    private readonly ciphertexts = new Map<string, string>();

    constructor(readonly host: SystemdHost, readonly project = PROJECT_DIR, readonly place: Place = onHost(host),
        private readonly extraEnvironment: Record<string, string> = {}) {}

    /** The checkout copied into the host and the operator's passphrase file (README, "The two commands"). */
    static install(host: SystemdHost, project = PROJECT_DIR): CheckoutStacks {
        installCheckout(host, project);
        host.must(["sh", "-euc", `install -d -m 0700 "$(dirname "$1")" && (umask 077; printf '%s\\n' e2e-passphrase-not-a-secret > "$1")`, "sh", PASSPHRASE_FILE]);
        return new CheckoutStacks(host, project);
    }

    /**
     * A second clone of the checkout at `dir` in the host (an operator's other clone, a CI runner's
     * workspace), with this one's stack files, as a clone of the repository they are committed to has them.
     */
    clone(dir: string): CheckoutStacks {
        installCheckout(this.host, dir);
        this.host.must(["sh", "-c", 'cp "$0"/Pulumi.*.yaml "$1"/', join(this.project), dir]);
        return new CheckoutStacks(this.host, dir);
    }

    /** Moves the checkout to `to` (as `mv` would); the stacks it deployed stay in the state of the host's user. */
    moveTo(to: string): CheckoutStacks {
        this.host.must(["mv", this.project, to]);
        return new CheckoutStacks(this.host, to);
    }

    /** What `npm run stack` runs with on the host: Node.js and the tools where they are mounted. */
    private environment(): Record<string, string> {
        return {
            PATH: `${NODE_IN_HOST}/bin:/usr/local/bin:/usr/bin:/bin`,
            PULUMI_TOOLS_DIR: TOOLS_IN_HOST,
            PULUMI_CONFIG_PASSPHRASE_FILE: PASSPHRASE_FILE,
            // No internet: the CLI's check for a newer version would wait on the network.
            PULUMI_SKIP_UPDATE_CHECK: "true",
            ...this.extraEnvironment,
        };
    }

    /** `npm run stack -- <args>` in the checkout (what npm runs for it: scripts/stack.sh). */
    stack(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Result {
        return this.place.run(["sh", "scripts/stack.sh", ...args], { cwd: this.project, env: { ...this.environment(), ...opts.env }, input: opts.input ?? "", timeoutMs: opts.timeoutMs ?? 900_000 });
    }

    /** The CLI itself, for what stack.sh has no action for (stack rm, stack export), with stack.sh's backend unless one is set. */
    pulumi(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Result {
        const env = this.environment();
        return this.place.run(["sh", "-c", 'export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi-state}"; exec "$0" "$@"', `${env.PULUMI_TOOLS_DIR}/bin/pulumi`, ...args],
            { cwd: this.project, env, input: opts.input ?? "", timeoutMs: opts.timeoutMs ?? 300_000 });
    }

    private must(result: Result, what: string): string {
        if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
        return result.stdout;
    }

    private stackFile(env: EnvironmentName): string {
        return this.place.local(join(this.project, `Pulumi.${env}.yaml`));
    }

    /**
     * Writes the stack's configuration: `config` is what the CLI hands the program (defaults
     * included); the file gets what differs from Pulumi.yaml's defaults. A secret is encrypted by
     * `npm run stack -- config <env> set --secret KEY` from stdin, as the README says, once per value.
     */
    configure(env: EnvironmentName, config: Record<string, string>): void {
        const file = this.stackFile(env);
        const entries = Object.entries(config).filter(([key, value]) => value !== PROJECT_DEFAULTS[key]);
        for (const [key, value] of entries.filter(([key]) => (SECRET_KEYS as string[]).includes(key))) {
            const cacheKey = `${env}\0${key}\0${value}`;
            if (this.ciphertexts.has(cacheKey)) continue;
            this.must(this.stack(["config", env, "set", "--secret", key], { input: value }), `npm run stack -- config ${env} set --secret ${key}`);
            const secure = parse(readFileSync(file, "utf8")).config[`${PROJECT}:${key}`]?.secure;
            if (typeof secure !== "string") throw new Error(`config set --secret ${key} left no ciphertext in Pulumi.${env}.yaml`);
            this.ciphertexts.set(cacheKey, secure);
        }
        const current = existsSync(file) ? parse(readFileSync(file, "utf8")) ?? {} : {};
        const written = {
            ...(current.encryptionsalt ? { encryptionsalt: current.encryptionsalt } : {}),
            config: Object.fromEntries(entries.map(([key, value]) => [`${PROJECT}:${key}`,
                (SECRET_KEYS as string[]).includes(key) ? { secure: this.ciphertexts.get(`${env}\0${key}\0${value}`) } : value])),
        };
        writeFileSync(`${file}.tmp`, stringify(written));
        this.place.own(`${file}.tmp`);
        renameSync(`${file}.tmp`, file);
    }

    /** `pulumi stack output --json --show-secrets`: what the engine keeps. */
    outputs(env: EnvironmentName): Record<string, unknown> {
        return JSON.parse(this.must(this.stack(["output", env, "--json", "--show-secrets"]), `npm run stack -- output ${env}`));
    }

    /**
     * `npm run stack -- up <env>` with `config`, without a question (`--yes`; the preview the operator
     * reads first is `preview`'s business). Throws DeployError when the engine fails the update.
     */
    up(env: EnvironmentName, config: Record<string, string>, args: string[] = []): Deployment {
        this.configure(env, config);
        const startedAt = Date.now();
        const result = this.stack(["up", env, "--yes", "--skip-preview", "--json", ...args]);
        const seconds = (Date.now() - startedAt) / 1000;
        const events = engineEvents(result.stdout);
        const { steps, timeline } = stepsOf(events);
        const deployment: Deployment = { environment: env, config, steps, timeline, outputs: this.outputs(env), seconds };
        if (result.status !== 0) throw new DeployError(`npm run stack -- up ${env} failed (${result.status}):\n${printed(events)}\n${result.stderr.slice(-4000)}`, deployment);
        return deployment;
    }

    /** `npm run stack -- preview <env> [args]` (with the policy pack, as stack.sh runs it). */
    preview(env: EnvironmentName, args: string[] = []): Result {
        return this.stack(["preview", env, ...args]);
    }

    /**
     * The steps a preview plans that change something, as stepLabel names them: `preview --json` prints
     * one object whose `steps` hold each step's op and urn (pkg/display/json.go).
     */
    plannedSteps(env: EnvironmentName, args: string[] = []): string[] {
        const stdout = this.must(this.preview(env, ["--json", ...args]), `npm run stack -- preview ${env}`);
        const steps = JSON.parse(stdout.slice(stdout.indexOf("{"))).steps as { op: string; urn: string }[] | undefined;
        const type = (urn: string) => urn.split("::").at(-2)!.split("$").pop()!;
        return (steps ?? []).filter((step) => step.op !== "same" && changesHost(type(step.urn)))
            .map((step) => stepLabel(step.op, step.urn));
    }

    /** `npm run stack -- destroy <env>`: everything but the protected volumes (stack.sh: --exclude-protected). */
    destroy(env: EnvironmentName, args: string[] = []): string {
        return this.must(this.stack(["destroy", env, "--yes", ...args]), `npm run stack -- destroy ${env}`);
    }

    /**
     * The stack gone but for what is on the host: destroy, then `pulumi stack rm --force`, which
     * forgets the protected volumes and leaves them (docs/design.md, removing a stack). The stack file stays.
     */
    forget(env: EnvironmentName): void {
        this.destroy(env);
        this.must(this.pulumi(["stack", "rm", env, "--force", "--yes", "--preserve-config"]), `pulumi stack rm ${env}`);
        for (const key of [...this.ciphertexts.keys()].filter((k) => k.startsWith(`${env}\0`))) this.ciphertexts.delete(key);
    }

    /**
     * What .github/workflows/drift.yml runs for `env` on the host (its `run:` steps after `npm ci`, each
     * with bash -e as GitHub runs it), with what its job provides: the stack in STACK, the backend, the
     * passphrase (as a file here), the user's Podman socket in DOCKER_HOST, the CLI on PATH (pulumi/actions
     * installs it; here the tools', its plugins those stack.sh installed), and `npm run X -- args` as npm
     * runs it: package.json's script X with node_modules/.bin on PATH (there is no npm on the host).
     */
    drift(env: EnvironmentName): { run: string; status: number | null; output: string }[] {
        const workflow = parse(readFileSync(join(ORIGIN, ".github/workflows/drift.yml"), "utf8"));
        const steps = (Object.values(workflow.jobs)[0] as { steps: { run?: string; uses?: string }[] }).steps;
        const after = steps.findIndex((step) => step.run === "npm ci");
        const scripts = JSON.parse(readFileSync(join(ORIGIN, "package.json"), "utf8")).scripts as Record<string, string>;
        const environment = this.environment();
        return steps.slice(after + 1).filter((step) => step.run !== undefined).map((step) => {
            const line = step.run!.trim().replace(/^npm run (\S+) --/, (_, name: string) => scripts[name]);
            const result = this.place.run(["bash", "-e", "-c", `export DOCKER_HOST="unix://$XDG_RUNTIME_DIR/podman/podman.sock" PULUMI_BACKEND_URL="file://$HOME/.pulumi-state"; ${line}`], {
                cwd: this.project, input: "", timeoutMs: 600_000,
                env: { ...environment, STACK: env, PATH: `${environment.PULUMI_TOOLS_DIR}/bin:${join(this.project, "node_modules", ".bin")}:${environment.PATH}`, PULUMI_IGNORE_AMBIENT_PLUGINS: "true" },
            });
            return { run: step.run!.trim(), status: result.status, output: result.stdout + result.stderr };
        });
    }

    /** The URN of the stack's resource `name` (the engine's, from its state). */
    urn(env: EnvironmentName, name: string): string {
        const state = JSON.parse(this.must(this.pulumi(["stack", "export", "--stack", env]), `pulumi stack export ${env}`));
        const found = (state.deployment.resources as { urn: string }[]).filter((r) => r.urn.endsWith(`::${name}`));
        if (found.length !== 1) throw new Error(`${found.length} resources named ${name} in ${env}'s state`);
        return found[0].urn;
    }

    /** Every resource of the stack's state, with its type and (provider) inputs, secrets as the state holds them. */
    state(env: EnvironmentName): { urn: string; type: string; id?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; protect?: boolean }[] {
        return JSON.parse(this.must(this.pulumi(["stack", "export", "--stack", env]), `pulumi stack export ${env}`)).deployment.resources;
    }

    /** The tools the engine ran with: the CLI's and language host's own word, the providers' versions from the stack's state. */
    versions(env: EnvironmentName): { cli: string; language_host: string; docker_provider: string; command_provider: string } {
        const providers = this.state(env).filter((r) => r.type.startsWith("pulumi:providers:"));
        const version = (name: string) => [...new Set(providers.filter((r) => r.type === `pulumi:providers:${name}`).map((r) => String(r.inputs?.version)))].join(",");
        const tool = (name: string, flag: string) => this.must(this.place.run([`${this.environment().PULUMI_TOOLS_DIR}/bin/${name}`, flag],
            { cwd: this.project, env: {}, input: "", timeoutMs: 60_000 }), name).trim();
        return {
            cli: tool("pulumi", "version"),
            language_host: tool("pulumi-language-nodejs", "-version"),
            docker_provider: version("docker"),
            command_provider: version("command"),
        };
    }
}
