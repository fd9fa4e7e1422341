/**
 * The real Pulumi tools over this project: the CLI v3.248.0, its Node.js language host, the docker
 * (5.2.0) and command (1.2.1) providers, from the folder `sh scripts/pulumi-tools.sh` prints (nothing
 * is built). Opt-in (REAL_PULUMI=1): it runs as root, since a real preview needs a Docker API the docker
 * provider can reach (its Configure connects, or the preview stops with "failed to connect to any docker
 * daemon"), so it starts a rootful `podman system service` of its own and stops it after; and it takes
 * 70 to 90 s on 2 busy cores. .ci/run runs it after `npm test`. With REAL_PULUMI=1 and no tools (pulumi-tools.sh
 * prints nothing) it is skipped, the reason in the skipped test's name.
 *
 * 1. test/pulumiCliConfig.ts (our model of the CLI's config rule) against the CLI, over the same stack
 *    files, the committed ones and refused ones: their verdicts must agree. Where the CLI and the program
 *    accept a stack, its real preview (with the policy pack) plans the stack's containers, with no
 *    provider error, and every policy rule judged it (no "can't run ... during preview").
 * 2. A stack file the policy pack refuses, the rule named (docs/real-engine.md, policy under a real preview).
 * 3. `npm run stack -- preview dev` as an operator without internet runs it: PULUMI_TOOLS_DIR, an empty
 *    PULUMI_HOME, no pulumi on PATH.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ENVIRONMENTS } from "../lib/environments";
import { applyProjectConfig, ProjectKey, StackValue } from "./pulumiCliConfig";

const root = join(__dirname, "..");
const PROJECT = "rezept-tagebuch";
const providerVersions = Object.fromEntries(["docker", "command"].map((name) =>
    [name, JSON.parse(readFileSync(join(root, `node_modules/@pulumi/${name}/package.json`), "utf8")).version as string]));

interface Case {
    readonly name: string;
    readonly stack: string;
    readonly password: "encrypted" | "plaintext" | "none";
    readonly projectConfig?: Record<string, ProjectKey>;
    readonly stackConfig?: Record<string, StackValue>;
    /** Run with `--policy-pack policy`, as `npm run stack` does. */
    readonly policyPack?: boolean;
    /** The other stack files beside this one (plain values): the program reads them for the isolation check. */
    readonly otherStacks?: Record<string, Record<string, StackValue>>;
    /** The config passes the CLI, and the program refuses it with these lines (lib/config.ts ConfigError). */
    readonly programRefuses?: string[];
    /** A file of the project copy changed before the run: `from` replaced by `to` (it must be there). */
    readonly patch?: { readonly file: string; readonly from: string; readonly to: string };
    /** The config passes the CLI and the program, and the policy pack refuses the preview: the rule and its message. */
    readonly policyRefuses?: { readonly rule: string; readonly message: string; readonly resource: string };
}

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh";

const cases: Case[] = [
    ...ENVIRONMENTS.map((stack): Case => ({ name: `${stack} as committed, with its password and the policy pack`, stack, password: "encrypted", policyPack: true })),
    ...ENVIRONMENTS.map((stack): Case => ({ name: `${stack} without a password`, stack, password: "none" })),
    { name: "dev with a plaintext password", stack: "dev", password: "plaintext" },
    { name: "test with values of the wrong type", stack: "test", password: "encrypted", stackConfig: { [`${PROJECT}:appEnabled`]: "yes", [`${PROJECT}:dbPort`]: "54x" } },
    { name: "a typed key without default", stack: "dev", password: "encrypted", projectConfig: { sshHost: { type: "string" } } },
    { name: "a secret key with a plaintext default", stack: "dev", password: "encrypted", projectConfig: { appSecretEnv: { type: "string", default: "", secret: true } } },
    { name: "dev without a password and the policy pack: the config check comes first", stack: "dev", password: "none", policyPack: true },
    // Issue 17: what the CLI lets through and the program must refuse, as the CLI hands it over.
    {
        name: "dev on prod's database volume", stack: "dev", password: "encrypted", stackConfig: { [`${PROJECT}:dbDataVolume`]: "seaser-postgres-data" },
        programRefuses: ["rezept-tagebuch:dbDataVolume is seaser-postgres-data, the prod database volume"],
    },
    {
        name: "dev's app on prod's internal network as its proxy network", stack: "dev", password: "encrypted", stackConfig: { [`${PROJECT}:proxyNetwork`]: "seaser-rezept-tagebuch-prod-internal" },
        programRefuses: ["rezept-tagebuch:proxyNetwork is seaser-rezept-tagebuch-prod-internal, the prod internal network"],
    },
    {
        name: "test on the volume Pulumi.prod.yaml sets for prod's database", stack: "test", password: "encrypted",
        otherStacks: { prod: { [`${PROJECT}:dbDataVolume`]: "rezept-prod-pgdata" } }, stackConfig: { [`${PROJECT}:dbDataVolume`]: "rezept-prod-pgdata" },
        programRefuses: ["rezept-tagebuch:dbDataVolume is rezept-prod-pgdata, the prod database volume (dbDataVolume in Pulumi.prod.yaml)"],
    },
    {
        // The CLI hands the program Pulumi.yaml's default "" for dockerHost, not nothing.
        name: "ssh without dockerHost", stack: "prod", password: "encrypted",
        stackConfig: { [`${PROJECT}:hostConnection`]: "ssh", [`${PROJECT}:sshHost`]: "rezept.example", [`${PROJECT}:sshUser`]: "seaser", [`${PROJECT}:sshHostKey`]: sshKey },
        programRefuses: ["rezept-tagebuch:sshPrivateKey is required when hostConnection is ssh", "rezept-tagebuch:dockerHost is required when hostConnection is ssh"],
    },
    // The policy pack under a real preview. Every violation a stack file can cause, lib/config.ts refuses
    // first (the case above), so the program here lacks that one check, as a program with a gap would:
    // the pack is the next line. It judges the health gate, whose other trigger, the container id, a
    // preview does not know (it was an advisory "can't run" and the preview passed, docs/real-engine.md).
    {
        name: "dev's app on prod's internal network, past a program without its config check: the policy pack refuses it",
        stack: "dev", password: "encrypted", policyPack: true, stackConfig: { [`${PROJECT}:proxyNetwork`]: "seaser-rezept-tagebuch-prod-internal" },
        patch: {
            file: "lib/config.ts",
            from: "const owner = internalNetworkOwner(config.proxyNetwork);",
            to: "const owner = process.env.REZEPT_TAGEBUCH_NEVER_SET ? internalNetworkOwner(config.proxyNetwork) : undefined;",
        },
        policyRefuses: {
            rule: "proxy-network-not-internal", resource: "command:local:Command: dev-app-ready",
            message: "app health gate dev-app-ready connects the app to the prod internal network seaser-rezept-tagebuch-prod-internal as its proxy network",
        },
    },
];

/** The containers a stack's preview creates (the committed stack files: test runs no app). */
const containersOf = (stack: string) => stack === "test" ? [`${stack}-db-container`] : [`${stack}-db-container`, `${stack}-app-container`];

const realPulumi = process.env.REAL_PULUMI === "1";
/** The tools folder (DIR with DIR/bin/pulumi ...), or "" when pulumi-tools.sh finds none. */
const tools = (() => {
    if (!realPulumi) return "";
    const found = spawnSync("sh", [join(root, "scripts/pulumi-tools.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (found.status !== 0) throw new Error(`scripts/pulumi-tools.sh failed (exit ${found.status}); see its message above`);
    return found.stdout.trim();
})();
const noTools = "skipped: scripts/pulumi-tools.sh printed nothing (no PULUMI_TOOLS_DIR, no shared/pulumi above the checkout)";
if (realPulumi && !tools) console.warn(`test/realCli.test.ts: ${noTools}`);
const run = realPulumi && tools !== "";
const bin = join(tools, "bin");

/** The environment without the caller's Pulumi settings (a passphrase, a home, a backend, the tools): each run sets its own. */
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PULUMI_") && key !== "DOCKER_HOST"));

/** A rootful Podman API service on a socket of its own (short: a unix socket path has at most 107 bytes). */
let service: ChildProcess | undefined;
const socket = `/run/rt-cli-${process.pid}.sock`;
/** The plugin cache the config cases share, with both providers installed from the tools folder. */
let sharedHome = "";
/** Each run's folder (a project copy, its state, a PULUMI_HOME: 115 MB with the providers), removed after. */
const folders: string[] = [];
const temporary = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    folders.push(dir);
    return dir;
};

beforeAll(async () => {
    if (!run) return;
    expect(process.getuid?.(), "test/realCli.test.ts runs as root: it starts a rootful podman system service for the docker provider").toBe(0);
    rmSync(socket, { force: true });
    service = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], {
        env: { ...process.env, CONTAINERS_CONF: join(root, "e2e/outer-containers.conf") }, stdio: "ignore",
    });
    for (let waited = 0; !(existsSync(socket) && statSync(socket).isSocket()); waited += 100) {
        if (waited > 30_000 || service.exitCode !== null) throw new Error(`podman system service did not open ${socket} (exit ${service.exitCode})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    sharedHome = temporary("real-cli-home-");
    for (const [name, version] of Object.entries(providerVersions)) {
        const install = spawnSync(join(bin, "pulumi"), ["plugin", "install", "resource", name, version, "--file", join(bin, `pulumi-resource-${name}`)],
            { env: { ...baseEnv, PULUMI_HOME: sharedHome, PULUMI_SKIP_UPDATE_CHECK: "true" }, encoding: "utf8" });
        expect(install.status, `pulumi plugin install resource ${name}: ${install.stderr}`).toBe(0);
    }
}, 120_000);

afterAll(async () => {
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    if (!service) return;
    if (service.exitCode === null) {
        const exited = new Promise((resolve) => service!.once("exit", resolve));
        service.kill("SIGTERM");
        await exited;
    }
    rmSync(socket, { force: true });
}, 60_000);

/** A copy of the project to run the CLI in, node_modules linked, with only `stacks`' stack files. */
function copyProject(dir: string, projectYaml: unknown, stacks: Record<string, Record<string, StackValue>>) {
    const project = join(dir, "project");
    mkdirSync(join(project, "scripts"), { recursive: true });
    for (const entry of ["index.ts", "components", "lib", "host", "tsconfig.json", "package.json", "policy"]) cpSync(join(root, entry), join(project, entry), { recursive: true });
    for (const script of ["stack.sh", "pulumi-cli.js", "pulumi-tools.sh"]) copyFileSync(join(root, "scripts", script), join(project, "scripts", script));
    symlinkSync(join(root, "node_modules"), join(project, "node_modules"));
    writeFileSync(join(project, "Pulumi.yaml"), stringify(projectYaml));
    for (const [stack, config] of Object.entries(stacks)) writeFileSync(join(project, `Pulumi.${stack}.yaml`), stringify({ config }));
    writeFileSync(join(dir, "passphrase"), "real-cli-config-test\n", { mode: 0o600 });
    mkdirSync(join(dir, "state"));
    return project;
}

/** The lines of a plain `pulumi preview` that plan creating `name`, a docker container. */
const plansContainer = (name: string) => new RegExp(`^ \\+\\s+docker:index:Container ${name} create\\b`, "m");
/** The same in `pulumi preview --diff` (npm run stack): the type token, then the resource's URN. */
const plansContainerDiff = (stack: string, name: string) =>
    new RegExp(`\\+ docker:index/container:Container: \\(create\\)\\n\\s+\\[urn=urn:pulumi:${stack}::${PROJECT}::\\S*docker:index/container:Container::${name}\\]`);

if (realPulumi && !run) it.skip(noTools, () => {});

describe.runIf(run)("the real Pulumi CLI's config verdicts agree with test/pulumiCliConfig.ts, and what it accepts a real preview plans", () => {
    // One `it` per case by its full name (it.each's "$name" cuts names at 40 characters, so -t could not pick one).
    for (const c of cases) it(c.name, () => {
        const dir = temporary("real-cli-config-");
        const projectYaml = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
        projectYaml.config = { ...projectYaml.config, ...c.projectConfig };
        const committed: Record<string, StackValue> = parse(readFileSync(join(root, `Pulumi.${c.stack}.yaml`), "utf8")).config ?? {};
        const project = copyProject(dir, projectYaml, { [c.stack]: committed, ...c.otherStacks });
        if (c.patch) {
            const file = join(project, c.patch.file);
            const text = readFileSync(file, "utf8");
            expect(text, `${c.patch.file} no longer has the line this case changes; choose another`).toContain(c.patch.from);
            writeFileSync(file, text.replace(c.patch.from, c.patch.to));
        }
        const env = {
            ...baseEnv, PATH: `${bin}${delimiter}${process.env.PATH}`, PULUMI_HOME: sharedHome, PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE_FILE: join(dir, "passphrase"), PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true", DOCKER_HOST: `unix://${socket}`,
        };
        const pulumi = (args: string[], input?: string) => spawnSync(join(bin, "pulumi"), args, { cwd: project, env, input, encoding: "utf8", timeout: 150_000 });
        expect(pulumi(["stack", "init", c.stack]).status).toBe(0);
        if (c.password !== "none") {
            expect(pulumi(["config", "set", c.password === "encrypted" ? "--secret" : "--plaintext", "dbPassword", "--stack", c.stack], "a-long-db-password").status).toBe(0);
        }
        // The extra values after the password, as plain values in the file the CLI wrote.
        const file = join(project, `Pulumi.${c.stack}.yaml`);
        const written = parse(readFileSync(file, "utf8"));
        written.config = { ...written.config, ...c.stackConfig };
        writeFileSync(file, stringify(written));

        const preview = pulumi(["preview", "--stack", c.stack, ...(c.policyPack ? ["--policy-pack", "policy"] : [])]);
        const output = `${preview.stdout}\n${preview.stderr}`;
        const model = applyProjectConfig(projectYaml, c.stack, written.config);
        if (c.programRefuses) {
            expect(model.errors).toEqual([]);
            expect(output).not.toContain("validating stack config");
            expect(preview.status).not.toBe(0);
            for (const line of c.programRefuses) expect(output).toContain(line);
            // Refused before anything is registered: no container planned.
            expect(output).not.toMatch(/docker:index:Container/);
        } else if (c.policyRefuses) {
            expect(model.errors).toEqual([]);
            expect(preview.status, output).not.toBe(0);
            // @pulumi/policy's report: "- [mandatory]  <rule>  (<type>: <name>)", the description, then the message.
            expect(output).toMatch(new RegExp(`\\[mandatory\\]\\s+${c.policyRefuses.rule}\\s+\\(${c.policyRefuses.resource.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`));
            expect(output).toContain(c.policyRefuses.message);
            expect(output).toMatch(/❌ rezept-tagebuch@v1\.0\.0 \(local: policy\)/);
            expect(output).not.toContain("can't run policy");
        } else if (model.errors.length === 0) {
            expect(output).not.toContain("validating stack config");
            expect(preview.status, output).toBe(0);
            // A real preview: the program ran, both providers answered, and the stack's containers are planned.
            expect(output).not.toMatch(/^\s*error: /m);
            for (const container of containersOf(c.stack)) expect(output).toMatch(plansContainer(container));
            // The providers came from the plugin cache, not from PATH (which has them too: the tools' bin).
            expect(output).not.toMatch(/from \$PATH/);
            // The policy pack started (@pulumi/policy reads its version from policy/package.json) and judged every resource.
            if (c.policyPack) {
                expect(output).toMatch(/Policies:\s+✅ rezept-tagebuch@v1\.0\.0 \(local: policy\)/);
                expect(output).not.toContain("can't run policy");
            }
        } else {
            // The CLI stops at the first error; the model lists them all.
            expect(preview.status).not.toBe(0);
            expect(output).toContain(`error: validating stack config: ${model.errors[0]}`);
        }
    }, 180_000);
});

describe.runIf(run)("npm run stack -- preview dev without internet: PULUMI_TOOLS_DIR, an empty PULUMI_HOME, no pulumi on PATH", () => {
    it("the folder's providers are the versions of node_modules' SDKs, under which stack.sh installs them", () => {
        // The plugin cache takes a binary under the version it is installed as; the binary's own is in its schema.
        for (const [name, version] of Object.entries(providerVersions)) {
            const schema = spawnSync(join(bin, "pulumi"), ["package", "get-schema", join(bin, `pulumi-resource-${name}`)],
                { env: { ...baseEnv, PULUMI_HOME: sharedHome, PULUMI_SKIP_UPDATE_CHECK: "true" }, encoding: "utf8", maxBuffer: 64 << 20 });
            expect(schema.status, schema.stderr).toBe(0);
            expect(JSON.parse(schema.stdout).version, `${name}: @pulumi/${name} in node_modules is ${version}`).toBe(version);
        }
    });

    it("reaches a real preview that plans the dev containers, and installed both providers into that PULUMI_HOME", () => {
        const dir = temporary("real-cli-stack-");
        const projectYaml = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
        const project = copyProject(dir, projectYaml, { dev: parse(readFileSync(join(root, "Pulumi.dev.yaml"), "utf8")).config ?? {} });
        const home = join(dir, "pulumi-home");
        mkdirSync(home);
        // PATH without any folder that has a pulumi.
        const path = (process.env.PATH ?? "").split(delimiter).filter((folder) => folder && !existsSync(join(folder, "pulumi"))).join(delimiter);
        const env = {
            ...baseEnv, PATH: path, PULUMI_TOOLS_DIR: tools, PULUMI_HOME: home, PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE_FILE: join(dir, "passphrase"), PULUMI_SKIP_UPDATE_CHECK: "true", DOCKER_HOST: `unix://${socket}`,
        };
        expect(spawnSync("sh", ["-c", "command -v pulumi"], { env }).status, "no pulumi on PATH").not.toBe(0);
        const stack = (args: string[], input?: string) =>
            spawnSync("sh", [join(project, "scripts/stack.sh"), ...args], { cwd: project, env, input, encoding: "utf8", timeout: 150_000 });

        // As the README has an operator set the password: through npm run stack, the value on stdin.
        const password = stack(["config", "dev", "set", "--secret", "dbPassword"], "a-long-db-password");
        expect(password.status, password.stderr).toBe(0);
        const preview = stack(["preview", "dev"]);
        const output = `${preview.stdout}\n${preview.stderr}`;
        expect(preview.status, output).toBe(0);
        expect(output).not.toMatch(/^\s*error: /m);
        for (const container of containersOf("dev")) expect(output).toMatch(plansContainerDiff("dev", container));
        // The providers from the plugin cache (PULUMI_IGNORE_AMBIENT_PLUGINS): from PATH, the CLI would warn on every run.
        expect(output).not.toMatch(/from \$PATH/);
        // The policy pack ran and judged every resource.
        expect(output).toMatch(/rezept-tagebuch\|local\|policy\s+1\.0\.0/);
        expect(output).not.toContain("can't run policy");

        expect(readdirSync(join(home, "plugins")).filter((entry) => !entry.endsWith(".lock")).sort())
            .toEqual([`resource-command-v${providerVersions.command}`, `resource-docker-v${providerVersions.docker}`]);
        for (const [name, version] of Object.entries(providerVersions)) {
            const installed = readFileSync(join(home, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`));
            expect(installed.equals(readFileSync(join(bin, `pulumi-resource-${name}`))), `${name} is the tools' binary`).toBe(true);
        }
    }, 300_000);
});

describe("policy/, the pack `npm run stack` runs with --policy-pack", () => {
    it("has a package.json with a version: @pulumi/policy's PolicyPack reads it from the pack's folder, where the language host runs it", () => {
        // node_modules/@pulumi/policy/policy.js, PolicyPack constructor: require(`${process.cwd()}/package.json`).version;
        // the v3.248.0 host sets the pack's folder as its working directory (RunPlugin, kind analyzer).
        const pkg = JSON.parse(readFileSync(join(root, "policy/package.json"), "utf8"));
        expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    });
});
