/**
 * Stands in for `pulumi up` with the docker and command providers, which cannot be
 * installed here: takes what the real program registers for a stack (under mocks)
 * and applies it to the host user's Podman socket with exactly the Docker Engine API
 * calls the docker provider makes (e2e/provider.ts, which cites the provider source),
 * reading every resource back after creating it as the provider's Create does. The
 * state it keeps is the provider's state, so the next deploy diffs as the provider
 * would, and `pendingChanges` shows what a second `up` would do. Command resources
 * run as pulumi-command's local.Command does, or, for remote.Command, over the real OpenSSH
 * client from outside the host (`runRemoteScript`); the Docker API is reached as the stack's
 * dockerHost says, an ssh:// one over `ssh ... docker system dial-stdio` as the provider
 * does (`dialStdioArgs`). Any input, type or option this fixture
 * does not map throws, so a new field in the program cannot be silently ignored here.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import * as pulumi from "@pulumi/pulumi";
import { EnvironmentName } from "../lib/environments";
import { knownHostsLine } from "../lib/config";
import { ProgramRun, Registered, runProgram, TYPES } from "../test/harness";
import { SystemdHost } from "./host";
import {
    ApiCall, Attributes, Change, CONTAINER_SCHEMA, containerConfig, CREATED, containerCreateCalls, containerDeleteCalls, diffContainer, diffNetwork,
    diffVolume, networkConfig, networkCreateCall, networkDeleteCall, readContainer, readNetwork, readVolume,
    stateAfterCreate, tfName, volumeConfig, volumeCreateCall,
} from "./provider";

/** One resource as the engine keeps it after a deploy. */
export interface Applied {
    readonly registered: Registered;
    /** The id the program saw (content-derived, see `mockId`). */
    readonly id: string;
    /** The provider's id on the host (container or network id), if it has one. */
    readonly hostId?: string;
    /** The provider's state (Terraform names) after create and read-back; for commands, their inputs. */
    readonly state: Attributes;
}

export interface Deployment {
    readonly environment: EnvironmentName;
    /** The stack's configuration this deploy ran with, to preview the same stack from elsewhere. */
    readonly config: Record<string, string>;
    readonly run: ProgramRun;
    /** Every custom resource the stack has, by URN. */
    readonly resources: ReadonlyMap<string, Applied>;
    /** What the fixture did, in order, for the report and the tests. */
    readonly steps: string[];
    /** When each step started and how long it took (epoch seconds), to see where a deploy's time goes. */
    readonly timeline?: { step: string; start: number; seconds: number }[];
    readonly installer: Registered;
    /** The stack's outputs as the engine keeps them after this deploy (`pulumi stack output`), see `stackOutputs`. */
    readonly outputs: Readonly<Record<string, unknown>>;
    /** Where this stack's docker provider reaches the Podman API (its dockerHost), for later reads and deletes. */
    readonly docker?: DockerEndpoint;
}

/** The Podman API as the docker provider reaches it: a unix socket, or an `ssh` command line (dial-stdio). */
export type DockerEndpoint = { readonly socketPath: string } | { readonly ssh: readonly string[] };

/**
 * The endpoint of a stack's dockerHost: none is DOCKER_HOST, here the host user's socket (index.ts
 * gives the provider no host then); unix:// is that socket; ssh:// is the provider's connection
 * helper (`dialStdioArgs`), `sshOpts` being its ssh_opts (DOCKER_SSH_OPTS, the operator's options).
 */
export function dockerEndpoint(host: SystemdHost, dockerHost: string | undefined, sshOpts: readonly string[] = []): DockerEndpoint {
    if (!dockerHost) return { socketPath: host.apiSocket };
    if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
    if (dockerHost.startsWith("ssh://")) return { ssh: dialStdioArgs(dockerHost, sshOpts) };
    throw new Error(`e2e fixture: dockerHost ${dockerHost} is not mapped (unix:// and ssh:// are)`);
}

/**
 * The `ssh` arguments the docker provider runs for an ssh:// host: terraform-provider-docker's
 * MakeClient (internal/provider/config.go:166-181 at 5074970c) takes docker/cli v28.5.2's
 * connection helper (cli/connhelper/connhelper.go:38-66: `ssh_opts`, then `-o ConnectTimeout=30`
 * and `-T` unless given; the remote command `docker system dial-stdio`, with `--host=unix://PATH`
 * when the URL has a path), laid out by cli/connhelper/ssh/ssh.go:38-71 and 103-162
 * (`-l user -p port FLAGS -- host COMMAND`; no password, query or fragment). On a Podman host
 * `docker` is podman-docker's wrapper (`exec podman "$@"`), and podman 4.3.1 has `system dial-stdio`
 * (cmd/podman/system/dial_stdio.go:38-86), which connects to the user's socket
 * (registry.go:103-111: $XDG_RUNTIME_DIR/podman/podman.sock, set by the SSH login's pam_systemd)
 * or to `--host` (root.go:389, podman's hidden Docker-compatible name for --url).
 */
export function dialStdioArgs(dockerHost: string, sshOpts: readonly string[] = []): string[] {
    const url = new URL(dockerHost);
    if (url.protocol !== "ssh:") throw new Error(`e2e fixture: ${dockerHost} is not an ssh:// address`);
    if (url.password) throw new Error("invalid SSH URL: plain-text password is not supported");
    if (url.search) throw new Error(`invalid SSH URL: query parameters are not allowed: "${url.search.slice(1)}"`);
    if (url.hash) throw new Error(`invalid SSH URL: fragments are not allowed: "${url.hash.slice(1)}"`);
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    if (!hostname) throw new Error("invalid SSH URL: hostname is empty");
    const flags = [...sshOpts];
    if (!flags.join("").includes("ConnectTimeout")) flags.push("-o ConnectTimeout=30");
    if (!flags.includes("-T")) flags.push("-T");
    const path = decodeURIComponent(url.pathname);
    const remote = path.replace(/^\/+|\/+$/g, "") !== "" ? ["docker", `--host=unix://${path}`, "system", "dial-stdio"] : ["docker", "system", "dial-stdio"];
    const user = decodeURIComponent(url.username);
    return [...(user ? ["-l", user] : []), ...(url.port ? ["-p", url.port] : []), ...flags, "--", hostname, remote.map(shellQuote).join(" ")];
}

/** A word for a POSIX shell: as it is when it has nothing the shell would read, else single-quoted. */
const shellQuote = (word: string) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;

/** The environment the fixture's ssh runs with: no agent (the provider is given the key), nothing else of this shell's. */
const sshEnvironment = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" });

/** A client of the Docker-compatible API on a unix socket (a path), or on `endpoint`. */
export function dockerApi(endpoint: string | DockerEndpoint) {
    const target: DockerEndpoint = typeof endpoint === "string" ? { socketPath: endpoint } : endpoint;
    return (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        let sshErrors = "";
        let sshExited: Promise<void> = Promise.resolve();
        // Over SSH, each request on a connection of its own as well: an ssh process whose stdin and stdout are the stream.
        const sshArgs = "ssh" in target ? target.ssh : undefined;
        const connection = sshArgs ? () => {
            const child = spawn("ssh", sshArgs, { stdio: ["pipe", "pipe", "pipe"], env: sshEnvironment() });
            child.stderr.setEncoding("utf8").on("data", (chunk: string) => { sshErrors += chunk; });
            sshExited = new Promise((done) => child.on("close", () => done()));
            const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
            stream.on("close", () => child.kill());
            return stream as any;
        } : undefined;
        const req = request({
            // A connection of its own per request: Node 20's global agent keeps connections alive, and one
            // pooled before the host rebooted is dead (its next request fails with EPIPE).
            // (With createConnection, no agent: Node uses the function only then.)
            ...(connection ? { createConnection: connection } : { socketPath: (target as { socketPath: string }).socketPath, agent: false }),
            method, path: `/v1.41${path}`,
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
        req.on("error", (error) => {
            if (!connection) return reject(error);
            // ssh's own account (a refused host key, a failed login) comes on its stderr, once it has exited.
            void Promise.race([sshExited, new Promise((done) => setTimeout(done, 2000))])
                .then(() => reject(new Error(`${error.message}; ssh ${sshArgs!.slice(0, -1).join(" ")}: ${sshErrors.trim()}`)));
        });
        req.end(payload);
    });
}
type Api = ReturnType<typeof dockerApi>;

/** Makes one call of the model; an error the provider tolerates is no error. */
async function call(api: Api, step: ApiCall, id?: string): Promise<any> {
    const path = id ? step.path.replaceAll(encodeURIComponent(CREATED), id) : step.path;
    const body = id && step.body ? JSON.parse(JSON.stringify(step.body).replaceAll(CREATED, id)) : step.body;
    const { status, json } = await api(step.method, path, body);
    // The provider's Docker client takes any status below 400 as success (docker client/request.go
    // checkResponseErr): stopping a container that is already stopped answers 304 and is no error.
    if (status < 400) return json;
    const message = typeof json === "string" ? json : json?.message ?? JSON.stringify(json);
    if (step.tolerate?.some((text) => String(message).toLowerCase().includes(text.toLowerCase()))) return json;
    throw new Error(`e2e fixture: ${step.method} ${path}: HTTP ${status} ${message}`);
}

/** A resource's options as the diff needs them. */
const optionsOf = (r: Registered) => ({ ignoreChanges: r.ignoreChanges, replaceOnChanges: r.replaceOnChanges });

/** The docker-provider resources this fixture maps, and how. */
const DOCKER = {
    [TYPES.container]: { config: containerConfig, diff: diffContainer },
    [TYPES.network]: { config: networkConfig, diff: diffNetwork },
    [TYPES.volume]: { config: volumeConfig, diff: diffVolume },
} as Record<string, { config: (inputs: Record<string, unknown>) => Attributes; diff: typeof diffContainer }>;

/** pulumi-command local.Command's inputs this fixture runs; others throw. */
const COMMAND_INPUTS = ["create", "update", "delete", "interpreter", "triggers", "environment", "stdin"];
/**
 * pulumi-command remote.Command's (v1.2.1 provider/pkg/provider/remote/command.go:37-49 with
 * common/inputs.go:6-15): no interpreter, the login shell runs the script; `logging` and
 * `addPreviousOutputInEnv` are not mapped, so they throw.
 */
export const REMOTE_COMMAND_INPUTS = ["create", "update", "delete", "triggers", "environment", "stdin", "connection"];
/**
 * The connection fields mapped (remote/connection.go:41-52); a password, agent or proxy throws. The SDK
 * fills in dialErrorLimit, perDialTimeout, port and user (@pulumi/command types/input.js connectionArgsProvideDefaults).
 */
const CONNECTION_FIELDS = ["host", "user", "port", "privateKey", "hostKey", "dialErrorLimit", "perDialTimeout"];

/**
 * What the engine plans for one resource against its previous state: for commands, local or
 * remote, `triggers` is replaceOnChanges (pulumi-command provider/pkg/provider/common/inputs.go:10)
 * and any other change, the connection's too, runs Update (local/commandController.go:67-90,
 * remote/commandController.go:63-83).
 */
export function plan(resource: Registered, previous: Applied | undefined): { action: "create" | "replace" | "update" | "same"; changes: Change[] } {
    if (!previous) return { action: "create", changes: [] };
    if (resource.type === TYPES.localCommand || resource.type === TYPES.remoteCommand) {
        const same = (key: string) => JSON.stringify(previous.state[key] ?? null) === JSON.stringify(resource.inputs[key] ?? null);
        if (!same("triggers")) return { action: "replace", changes: [] };
        const inputs = resource.type === TYPES.localCommand ? COMMAND_INPUTS : REMOTE_COMMAND_INPUTS;
        return { action: inputs.every(same) ? "same" : "update", changes: [] };
    }
    if (resource.type === TYPES.image) {
        // RemoteImage: name is ForceNew; with keepLocally its delete leaves the image on the host.
        const same = JSON.stringify(previous.state) === JSON.stringify(resource.inputs);
        return { action: same ? "same" : "replace", changes: [] };
    }
    const model = DOCKER[resource.type];
    if (!model) throw new Error(`e2e fixture: planning ${resource.type} is not mapped`);
    const changes = model.diff(model.config(resource.inputs), previous.state, optionsOf(resource));
    if (changes.some((c) => c.kind === "replace")) return { action: "replace", changes };
    return { action: changes.length > 0 ? "update" : "same", changes };
}

const hash = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);

/** Resources in the engine's order: each after everything in its `dependencies` (and its parent chain's). */
export function inDependencyOrder(resources: Registered[]): Registered[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const ordered: Registered[] = [];
    const visiting = new Set<string>();
    const visit = (r: Registered) => {
        if (ordered.includes(r)) return;
        if (visiting.has(r.urn)) throw new Error(`e2e fixture: dependency cycle at ${r.urn}`);
        visiting.add(r.urn);
        for (const urn of r.dependencies) {
            const dependency = byUrn.get(urn) ?? resources.find((other) => urn.endsWith(`::${other.name}`));
            if (dependency) visit(dependency);
        }
        ordered.push(r);
    };
    resources.forEach(visit);
    return ordered;
}

/**
 * Runs a command resource's script the way command.local does: interpreter + script, with its
 * environment and stdin; a remote one's (it has a `connection`) as command.remote does, `runRemoteScript`.
 */
export function runScript(host: SystemdHost, inputs: Record<string, any>, script: string): string {
    if (inputs.connection !== undefined) return runRemoteScript(inputs, script);
    return host.must([...(inputs.interpreter ?? ["/bin/sh", "-c"]), script], { timeoutMs: 300_000, env: inputs.environment, input: inputs.stdin });
}

/** A remote command's `connection` with pulumi-command's defaults (connection.go:57, 61, 78: user root, port 22, 15 s a dial). */
export interface SshConnection {
    readonly host: string;
    readonly user: string;
    readonly port: number;
    readonly privateKey: string;
    readonly hostKey: string;
    /** Seconds a dial may take, 0 for no limit (connection.go:75-78, 104). */
    readonly perDialTimeout: number;
}

/** The connection a remote command's inputs give, checked against what this fixture maps. */
export function sshConnection(connection: Record<string, any>): SshConnection {
    const unknown = Object.keys(connection).filter((key) => !CONNECTION_FIELDS.includes(key));
    if (unknown.length > 0) throw new Error(`e2e fixture: a remote command's connection has fields it does not map: ${unknown.join(", ")}`);
    // Without it pulumi-command accepts any host key (connection.go:95-98): the fixture maps only the pinned key.
    if (!connection.hostKey) throw new Error("e2e fixture: a remote command without connection.hostKey is not mapped (pulumi-command would accept any host)");
    if (!connection.privateKey) throw new Error("e2e fixture: a remote command without connection.privateKey is not mapped (password and agent logins are not)");
    return {
        host: connection.host, user: connection.user ?? "root", port: connection.port ?? 22, privateKey: connection.privateKey,
        hostKey: connection.hostKey.trim(), perDialTimeout: connection.perDialTimeout ?? 15,
    };
}

/**
 * The OpenSSH client's arguments that run `script` as pulumi-command's remote.Command does, no
 * kinder: one session per run (commandOutputs.go:30-40), the script as the exec request
 * (session.Run, :95), which sshd hands to the user's login shell as `-c` (sshd's do_child); no
 * terminal; only the given key (`-i`, no agent, no ~/.ssh/config: the provider reads neither);
 * only the pinned host key of its own type (`knownHostsLine`), refused without asking otherwise;
 * perDialTimeout to connect. The provider retries a failed dial up to dialErrorLimit times
 * (connection.go:150-187) and then fails, as this does at once: OpenSSH's exit status does not
 * tell a failed dial (255) from a script's 255, so no retry here is the stricter model.
 */
export function remoteCommandArgs(connection: SshConnection, files: { knownHosts: string; identity: string }, script: string): string[] {
    const type = connection.hostKey.split(/\s+/)[0];
    // Go's x/crypto signs an ssh-rsa host key with SHA-2 too; OpenSSH names those algorithms apart.
    const algorithms = type === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : type;
    return [
        "-F", "/dev/null", "-T",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${files.knownHosts}`,
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no", "-o", `HostKeyAlgorithms=${algorithms}`,
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "PreferredAuthentications=publickey", "-i", files.identity,
        ...(connection.perDialTimeout > 0 ? ["-o", `ConnectTimeout=${connection.perDialTimeout}`] : []),
        "-p", String(connection.port), "-l", connection.user, "--", connection.host, script,
    ];
}

/**
 * Runs a remote command's script over SSH from outside the host, as pulumi-command's remote.Command
 * does (see `remoteCommandArgs`). The private key is in a 0600 file of a 0700 folder for the run
 * only, never on a command line. stdin goes to the session when set (commandOutputs.go:73-75).
 * `environment` is sent with session.Setenv (commandOutputs.go:42-49), which sshd refuses unless
 * its AcceptEnv names the variable (Debian's: LANG LC_*), and then the run fails: the fixture
 * refuses any, so a program that relies on it fails here first.
 */
export function runRemoteScript(inputs: Record<string, any>, script: string): string {
    const connection = sshConnection(inputs.connection);
    const names = Object.keys(inputs.environment ?? {});
    if (names.length > 0) {
        throw new Error(`e2e fixture: command.remote environment (${names.join(", ")}) is sent with SSH setenv, which sshd refuses without AcceptEnv (pulumi-command remote/commandOutputs.go:42-49 then fails the run)`);
    }
    const dir = mkdtempSync(join(tmpdir(), "rezept-e2e-ssh-"));
    try {
        chmodSync(dir, 0o700);
        const files = { knownHosts: join(dir, "known_hosts"), identity: join(dir, "id") };
        writeFileSync(files.knownHosts, knownHostsLine(connection));
        writeFileSync(files.identity, connection.privateKey.endsWith("\n") ? connection.privateKey : `${connection.privateKey}\n`, { mode: 0o600 });
        const result = spawnSync("ssh", remoteCommandArgs(connection, files, script), {
            encoding: "utf8", input: inputs.stdin ?? "", timeout: 300_000, maxBuffer: 64 * 1024 * 1024, env: sshEnvironment(),
        });
        if (result.error) throw new Error(`ssh ${connection.user}@${connection.host}: ${result.error.message}`);
        if (result.status !== 0) {
            throw new Error(`ssh ${connection.user}@${connection.host} -p ${connection.port} failed (${result.status}) running "${script.split("\n")[0].slice(0, 80)}...":\n${result.stdout}\n${result.stderr}`);
        }
        return result.stdout;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The program run as `pulumi up` and `pulumi preview` start it against `previous` (the last deploy's
 * state), from `projectDir` (default: this checkout), with the host's image ids and the engine's ids.
 */
async function runAgainst(api: ReturnType<typeof dockerApi>, environment: EnvironmentName, config: Record<string, string>, previous: Deployment | undefined, projectDir?: string) {
    // RemoteImage.imageId is the image's id on the host (resource_docker_image_funcs.go:129); nothing can be pulled here.
    const images = new Map<string, string>();
    for (const image of (await api("GET", "/images/json")).json as { Id: string; RepoTags?: string[] }[]) {
        for (const tag of image.RepoTags ?? []) images.set(tag, image.Id.startsWith("sha256:") ? image.Id : `sha256:${image.Id}`);
    }
    const prior = (r: Registered) => previous?.resources.get(r.urn);
    // Ids change exactly when the engine would replace: a trigger on an id then behaves as under the engine.
    const mockId = (r: Registered) => {
        if (!r.custom || r.type === TYPES.provider) return undefined;
        const old = prior(r);
        let action: string;
        // An input the model does not map throws below, with its name, rather than inside the mock.
        try { ({ action } = plan(r, old)); } catch { return undefined; }
        return action === "create" || action === "replace" ? `${r.name}-${hash([r.inputs, old?.id ?? null])}` : old!.id;
    };
    const run = await runProgram(environment, config, {
        imageId: (reference) => {
            const id = images.get(reference);
            if (!id) throw new Error(`e2e fixture: image ${reference} is not on the host`);
            return id;
        },
        mockId,
        projectDir,
    });
    return { run, prior, mockId };
}

/** `pulumi preview` against `previous`: what an `up` would do to each resource, deletes included; nothing is applied. */
export async function preview(host: SystemdHost, environment: EnvironmentName, config: Record<string, string>, previous: Deployment,
    opts: { projectDir?: string } = {}): Promise<{ resource: string; action: string }[]> {
    const { run, prior } = await runAgainst(dockerApi(previous.docker ?? host.apiSocket), environment, config, previous, opts.projectDir);
    const custom = run.resources.filter((r) => r.custom && r.type !== TYPES.provider);
    const label = (r: Registered) => `${r.type.split(":").pop()} ${r.name}`;
    return [
        ...custom.map((r) => ({ resource: label(r), action: plan(r, prior(r)).action })),
        ...[...previous.resources.values()].filter((a) => !custom.some((r) => r.urn === a.registered.urn)).map((a) => ({ resource: label(a.registered), action: "delete" })),
    ];
}

/**
 * Deploys one stack as `pulumi up` would against `previous` (the last deploy's state):
 * creates what is new, replaces what the provider would replace (deleting first where
 * the resource asks for it, as containers do), updates commands, deletes what the
 * program no longer registers, and leaves everything else alone. `projectDir` runs
 * the program of another checkout.
 */
export async function deploy(
    host: SystemdHost, environment: EnvironmentName, config: Record<string, string>, previous?: Deployment,
    operator: { sshOpts?: readonly string[]; projectDir?: string } = {},
): Promise<Deployment> {
    const dockerHost = config.dockerHost || undefined;
    const docker = dockerEndpoint(host, dockerHost, operator.sshOpts);
    const api = dockerApi(docker);
    const { run, prior, mockId } = await runAgainst(api, environment, config, previous, operator.projectDir);

    // A resource waits for its provider, and so for what the provider depends on (the host check).
    const providers = run.resources.filter((r) => r.type.startsWith("pulumi:providers:"));
    const custom = run.resources.filter((r) => r.custom && r.type !== TYPES.provider).map((r) => {
        const provider = providers.find((p) => r.provider.startsWith(`${p.urn}::`));
        return provider ? { ...r, dependencies: [...r.dependencies, ...provider.dependencies] } : r;
    });
    for (const resource of run.resources.filter((r) => r.custom)) {
        if (resource.type === TYPES.provider) {
            only(resource, ["host"]);
            if (resource.inputs.host !== dockerHost) throw new Error(`e2e fixture: the provider's host ${resource.inputs.host} is not the stack's dockerHost ${dockerHost}`);
        } else if (resource.type === TYPES.localCommand) only(resource, COMMAND_INPUTS);
        else if (resource.type === TYPES.remoteCommand) {
            only(resource, REMOTE_COMMAND_INPUTS);
            sshConnection(resource.inputs.connection);
        }
        else if (resource.type === TYPES.image) only(resource, ["name", "keepLocally"]);
        else if (!DOCKER[resource.type]) throw new Error(`e2e fixture: resource type ${resource.type} is not mapped`);
        if (![TYPES.container, TYPES.localCommand, TYPES.remoteCommand].includes(resource.type as any) && resource.replaceOnChanges.length > 0) {
            throw new Error(`e2e fixture: replaceOnChanges on ${resource.type} is not mapped`);
        }
    }

    const steps: string[] = [];
    const timeline: { step: string; start: number; seconds: number }[] = [];
    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
        const start = Date.now() / 1000;
        const before = steps.length;
        const result = await work();
        if (steps.length > before) timeline.push({ step: steps[before], start, seconds: Math.round((Date.now() / 1000 - start) * 100) / 100 });
        return result;
    };
    const applied = new Map<string, Applied>();
    const plans = new Map(custom.map((r) => [r.urn, plan(r, prior(r))]));
    const ordered = inDependencyOrder(custom);
    const removed = previous ? inDependencyOrder([...previous.resources.values()].map((a) => a.registered)).filter((r) => !plans.has(r.urn)) : [];
    // Containers ask to be deleted first (the program's option, and the bridge's DeleteBeforeReplace for
    // docker_container, pulumi-docker provider/resources.go:114). docker_network has neither, and its
    // name is not auto-named, so the bridge does not force it (pkg/tfbridge/schema.go:195
    // nameRequiresDeleteBeforeReplace): a replaced network is created before the old one is deleted,
    // which Podman refuses for a fixed name ("network name ... already used"), and so does this fixture.
    const replacedWith = dependentReplacements(ordered, plans);
    const deleteFirst = (r: Registered) => plans.get(r.urn)?.action === "replace" && (r.deleteBeforeReplace || replacedWith.has(r.urn));

    // A resource registers only once its dependencies are done, and the engine deletes a delete-before-replace
    // resource when its registration arrives (with the dependents it must replace too, dependents first): so
    // a command the container depends on, such as the backup, runs before the old container goes.
    const dependsOn = transitiveDependencies(ordered);
    const deleted = new Set<string>();
    const replacedLater: Applied[] = [];
    const installer = run.ofType(TYPES.remoteCommand).find((r) => r.name === `${environment}-boot-install`) ?? run.find(TYPES.localCommand, `${environment}-boot-install`);
    try {
        for (const r of ordered) {
            if (deleteFirst(r) && !deleted.has(r.urn)) {
                const group = ordered.filter((d) => deleteFirst(d) && !deleted.has(d.urn) && (d === r || dependsOn(d).has(r.urn)));
                for (const d of group.reverse()) {
                    await timed(() => remove(host, api, previous!.resources.get(d.urn)!, steps));
                    deleted.add(d.urn);
                }
            }
            const { action, changes } = plans.get(r.urn)!;
            const old = prior(r);
            const id = mockId(r) ?? `${r.name}-id`;
            if (action === "same") { applied.set(r.urn, { ...old!, registered: r }); continue; }
            if (action === "update") {
                applied.set(r.urn, await timed(() => update(host, r, old!, changes, id, steps)));
                continue;
            }
            applied.set(r.urn, await timed(() => create(host, api, r, id, steps)));
            // Create-before-delete (a resource that does not ask to delete first): the old one goes at the end.
            if (action === "replace" && !deleteFirst(r)) replacedLater.push(old!);
        }
        // Deleted last, once every create and update is done, dependents first, as the engine does: the old
        // instances of what was replaced create-before-delete, and what the program no longer registers
        // (pulumi/pulumi v3.248.0 deployment_executor.go:262-345 performPostSteps, step_generator.go ScheduleDeletes).
        const pendingDeletes = [...replacedLater, ...removed.map((r) => previous!.resources.get(r.urn)!)];
        const byUrn = new Map(pendingDeletes.map((a) => [a.registered.urn, a]));
        for (const r of inDependencyOrder(pendingDeletes.map((a) => a.registered)).reverse()) await timed(() => remove(host, api, byUrn.get(r.urn)!, steps));
    } catch (error) {
        // As a failed `pulumi up` leaves the state: what was done, and what was not touched yet.
        const resources = new Map(applied);
        for (const [urn, old] of previous?.resources ?? []) if (!resources.has(urn) && !deleted.has(urn)) resources.set(urn, old);
        const outputs = await stackOutputs(run, custom, applied, { failed: true, previous: previous?.outputs ?? {} });
        throw new DeployError(String(error instanceof Error ? error.message : error), { environment, config, run, resources, steps, installer, outputs, docker });
    }
    return { environment, config, run, resources: applied, steps, timeline, installer, outputs: await stackOutputs(run, custom, applied, { failed: false }), docker };
}

/**
 * The stack's outputs as the engine keeps them after a deploy (pulumi/pulumi 1b59498). The Node SDK sends all exports in one RegisterResourceOutputs, once each has
 * resolved (sdk/nodejs/runtime/stack.ts:77-86: `massage` awaits every Output; when one rejects it sends
 * {}), and an Output resolves only once the resources it depends on completed their steps (a failed
 * one's outputs reject, sdk/nodejs/runtime/resource.ts:789-796). The engine holds that event to the
 * end of the update (pkg/resource/deploy/step_executor.go:222-231, deployment_executor.go:353-362):
 * after a success the sent outputs are the outputs, as sent; after a failure the previous outputs with
 * the sent ones over them (step_executor.go:265-268), so an export that never resolved, or {}, keeps
 * every previous value. Here the program ran under mocks, where everything resolves; the deploy's
 * `completed` steps decide what would have resolved under the engine (the fixture runs steps one at a
 * time; the engine runs independent ones in parallel, but starts none after a failure).
 */
export async function stackOutputs(
    run: ProgramRun, applies: Registered[], completed: ReadonlyMap<string, Applied>,
    update: { failed: false } | { failed: true; previous: Readonly<Record<string, unknown>> },
): Promise<Record<string, unknown>> {
    const sent: Record<string, unknown> = {};
    let resolves = true;
    for (const [name, exported] of Object.entries(run.outputs)) {
        if (pulumi.Output.isInstance(exported)) {
            for (const resource of await (exported as any).allResources() as Set<pulumi.Resource>) {
                const urn = (await run.resolve(resource.urn)).value as string;
                // Only the steps this fixture applies can fail; a component's or provider's registration returns at once.
                const step = applies.find((r) => urn.endsWith(`${r.type}::${r.name}`));
                if (step && !completed.has(step.urn)) resolves = false;
            }
        }
        const { value } = await run.resolve(exported);
        // An undefined top-level export is no output (stack.ts `massage` warns and drops it).
        if (value !== undefined) sent[name] = value;
    }
    if (!update.failed) {
        if (!resolves) throw new Error("e2e fixture: a deploy that succeeded left a stack output unresolved");
        return sent;
    }
    return resolves ? { ...update.previous, ...sent } : { ...update.previous };
}

/** A deploy that stopped part-way, as `pulumi up` does at a failed step, with the state it left. */
export class DeployError extends Error {
    constructor(message: string, readonly partial: Deployment) {
        super(message);
    }
}

/**
 * The engine's dependent replacements (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go:3009-3110):
 * when a resource is replaced delete-before-replace, each resource whose input properties came from it, or from
 * one replaced with it, is diffed with those inputs unknown, and replaced with it (deleted before it) when that
 * diff replaces: a ForceNew attribute or replaceOnChanges of a container, a command's triggers, an image's name.
 * A `dependsOn` edge alone never counts. Marks them in `plans`; returns their URNs.
 */
export function dependentReplacements(ordered: Registered[], plans: Map<string, { action: string; changes: Change[] }>): Set<string> {
    // propertyDependencies hold the engine's URNs, with the parent's type before the resource's own.
    const refersTo = (urn: string, r: Registered) => urn.endsWith(`::${r.name}`) && (urn.includes(`::${r.type}::`) || urn.includes(`$${r.type}::`));
    const replacesWhenUnknown = (r: Registered, key: string): boolean => {
        if (r.replaceOnChanges.includes(key)) return true;
        if (r.type === TYPES.container) return CONTAINER_SCHEMA[tfName(key)]?.forceNew === true;
        if (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand) return key === "triggers"; // common/inputs.go:10 replaceOnChanges
        if (r.type === TYPES.image) return key === "name";
        throw new Error(`e2e fixture: a dependent replacement of ${r.type} (${key} from a replaced resource) is not mapped`);
    };
    const replaced = new Set<string>();
    for (const root of ordered) {
        if (plans.get(root.urn)?.action !== "replace" || !root.deleteBeforeReplace) continue;
        const replaceSet = [root];
        for (const dependent of ordered.slice(ordered.indexOf(root) + 1)) {
            if (plans.get(dependent.urn)?.action === "create") continue; // nothing of it exists to replace
            const unknown = Object.entries(dependent.propertyDependencies)
                .filter(([, urns]) => urns.some((urn) => replaceSet.some((r) => refersTo(urn, r)))).map(([key]) => key);
            if (!unknown.some((key) => replacesWhenUnknown(dependent, key))) continue;
            plans.set(dependent.urn, { action: "replace", changes: plans.get(dependent.urn)?.changes ?? [] });
            replaceSet.push(dependent);
            replaced.add(dependent.urn);
        }
    }
    return replaced;
}

/** Each resource's dependencies, transitively, by URN. */
function transitiveDependencies(resources: Registered[]): (r: Registered) => Set<string> {
    const memo = new Map<string, Set<string>>();
    const byName = (urn: string) => resources.find((other) => other.urn === urn || urn.endsWith(`::${other.name}`));
    const of = (r: Registered): Set<string> => {
        let found = memo.get(r.urn);
        if (found) return found;
        found = new Set<string>();
        memo.set(r.urn, found);
        for (const urn of r.dependencies) {
            const dependency = byName(urn);
            if (!dependency) continue;
            found.add(dependency.urn);
            for (const deeper of of(dependency)) found.add(deeper);
        }
        return found;
    };
    return of;
}

function only(resource: Registered, fields: string[]): void {
    const unknown = Object.keys(resource.inputs).filter((key) => !fields.includes(key));
    if (unknown.length > 0) throw new Error(`e2e fixture: ${resource.type} ${resource.name} has inputs it does not map: ${unknown.join(", ")}`);
}

/** Creates one resource with the provider's calls and reads it back, as its Create ends with Read. */
async function create(host: SystemdHost, api: Api, r: Registered, id: string, steps: string[]): Promise<Applied> {
    steps.push(`create ${r.type.split(":").pop()} ${r.name}`);
    if (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand) {
        if (r.inputs.create !== undefined) runScript(host, r.inputs, r.inputs.create);
        return { registered: r, id, state: r.inputs };
    }
    if (r.type === TYPES.image) {
        await call(api, { method: "GET", path: `/images/${encodeURIComponent(r.inputs.name)}/json` });
        return { registered: r, id, state: r.inputs };
    }
    if (r.type === TYPES.volume) {
        const config = volumeConfig(r.inputs);
        // `import` adopts the existing volume: the engine reads it instead of creating it.
        if (!r.importId) await call(api, volumeCreateCall(config));
        const read = readVolume(await call(api, { method: "GET", path: `/volumes/${encodeURIComponent(config.name as string)}` }));
        return { registered: r, id, hostId: read.name as string, state: stateAfterCreate(config, read) };
    }
    if (r.type === TYPES.network) {
        const config = networkConfig(r.inputs);
        const { Id: hostId } = await call(api, networkCreateCall(config));
        const read = readNetwork(await call(api, { method: "GET", path: `/networks/${hostId}` }));
        return { registered: r, id, hostId, state: stateAfterCreate(config, read) };
    }
    const config = containerConfig(r.inputs);
    const [createCall, ...rest] = containerCreateCalls(config);
    const { Id: hostId } = await call(api, createCall);
    for (const step of rest) await call(api, step, hostId);
    const read = readContainer(await call(api, { method: "GET", path: `/containers/${hostId}/json` }), config);
    return { registered: r, id, hostId, state: stateAfterCreate(config, read) };
}

/** Applies an update: commands run `update`, else `create` (commandController.go:80-88); provider-only container attributes only change the state. */
async function update(host: SystemdHost, r: Registered, old: Applied, changes: Change[], id: string, steps: string[]): Promise<Applied> {
    steps.push(`update ${r.type.split(":").pop()} ${r.name}`);
    if (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand) {
        const script = r.inputs.update ?? r.inputs.create;
        if (script !== undefined) runScript(host, r.inputs, script);
        return { ...old, registered: r, id, state: r.inputs };
    }
    // Only Delete reads these, from the state (resource_docker_container_funcs.go:1086-1103).
    const applying = changes.filter((c) => c.kind !== "update" || !["destroy_grace_seconds", "remove_volumes"].includes(c.attribute));
    if (applying.length > 0) throw new Error(`e2e fixture: updating ${r.name} (${applying.map((c) => c.attribute).join(", ")}) is not mapped`);
    const state = { ...old.state };
    for (const change of changes) state[change.attribute] = change.config;
    return { ...old, registered: r, state };
}

/** Deletes one resource as its provider does; protected or retained resources stay on the host. */
async function remove(host: SystemdHost, api: Api, old: Applied, steps: string[]): Promise<void> {
    const r = old.registered;
    if (r.protect) throw new Error(`e2e fixture: ${r.name} is protected; pulumi would refuse to delete it`);
    steps.push(`delete ${r.type.split(":").pop()} ${r.name}`);
    if (r.retainOnDelete || r.type === TYPES.image) return; // keepLocally: the image stays
    if (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand) {
        if (old.state.delete !== undefined) runScript(host, old.state, old.state.delete as string);
        return;
    }
    if (r.type === TYPES.network) {
        await call(api, networkDeleteCall(old.hostId!));
        return;
    }
    if (r.type === TYPES.container) {
        for (const step of containerDeleteCalls(old.hostId!, old.state)) await call(api, step);
        return;
    }
    throw new Error(`e2e fixture: deleting ${r.type} is not mapped`);
}

/**
 * A second `up` with the same program: reads every docker resource back from the host,
 * as the provider's Read does, and diffs the program's configuration against it.
 * Returns every change, with the resource's name; an empty list means nothing to do.
 */
export async function pendingChanges(host: SystemdHost, deployment: Deployment): Promise<Pending[]> {
    const api = dockerApi(deployment.docker ?? host.apiSocket);
    const result: Pending[] = [];
    for (const { registered: r, hostId, state } of deployment.resources.values()) {
        const model = DOCKER[r.type];
        if (!model) continue;
        const config = model.config(r.inputs);
        const read = r.type === TYPES.container ? readContainer(await call(api, { method: "GET", path: `/containers/${hostId}/json` }), config)
            : r.type === TYPES.network ? readNetwork(await call(api, { method: "GET", path: `/networks/${hostId}` }))
                : readVolume(await call(api, { method: "GET", path: `/volumes/${encodeURIComponent(hostId!)}` }));
        const current = { ...state, ...read };
        const changes = model.diff(config, current, optionsOf(r));
        const unignored = model.diff(config, current, { replaceOnChanges: r.replaceOnChanges });
        result.push({
            resource: `${r.type.split(":").pop()} ${r.name}`,
            compared: Object.keys(read).sort(),
            changes,
            ignored: unignored.filter((c) => !changes.some((kept) => kept.attribute === c.attribute)).map((c) => ({ attribute: c.attribute, value: c.state })),
        });
    }
    return result;
}

/**
 * The part of `pulumi refresh` (or `up --refresh`) a container made by hand meets: the provider's
 * Read looks the state's id up among all containers and, when it is gone, clears the id
 * (resource_docker_container_funcs.go:763-772 and fetchDockerContainer at 1133-1147, at the commit
 * e2e/provider.ts cites), so the engine drops the resource and the
 * next `up` creates it. Other read-back differences are `pendingChanges`' business.
 */
export async function refresh(host: SystemdHost, deployment: Deployment): Promise<Deployment> {
    const listed = (await call(dockerApi(deployment.docker ?? host.apiSocket), { method: "GET", path: "/containers/json?all=true" })) as { Id: string }[];
    const present = new Set(listed.map((c) => c.Id));
    const resources = new Map([...deployment.resources].filter(([, a]) => a.registered.type !== TYPES.container || present.has(a.hostId!)));
    return { ...deployment, resources };
}

/** One docker resource read back and compared with the program. */
export interface Pending {
    readonly resource: string;
    /** The attributes Read wrote, each compared with the program's configuration. */
    readonly compared: string[];
    /** What a second `up` would do; empty when nothing. */
    readonly changes: Change[];
    /** Read-back values that differ from the program and that its `ignoreChanges` leaves out. */
    readonly ignored: { attribute: string; value: unknown }[];
}

/** `pulumi destroy --exclude-protected`: everything but the protected resources, dependents first. */
export async function destroy(host: SystemdHost, deployment: Deployment): Promise<string[]> {
    const api = dockerApi(deployment.docker ?? host.apiSocket);
    const steps: string[] = [];
    for (const r of inDependencyOrder([...deployment.resources.values()].map((a) => a.registered)).reverse()) {
        if (!r.protect) await remove(host, api, deployment.resources.get(r.urn)!, steps);
    }
    return steps;
}

/** The stack's remove script, as `pulumi destroy` of the command resource runs it. */
export function removeUnits(host: SystemdHost, deployment: Deployment): string {
    return runScript(host, deployment.installer.inputs, deployment.installer.inputs.delete);
}
