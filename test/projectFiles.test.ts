import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigError, parseStackConfig, SECRET_KEYS } from "../lib/config";
import { ENVIRONMENTS } from "../lib/environments";
import { PREREQUISITES } from "./prerequisites";

const root = join(__dirname, "..");
const readYaml = (file: string) => parse(readFileSync(join(root, file), "utf8"));

describe("Pulumi.yaml", () => {
    const project = readYaml("Pulumi.yaml");

    it("is the rezept-tagebuch project on Node.js with TypeScript", () => {
        expect(project.name).toBe("rezept-tagebuch");
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
    });

    it("declares every key the program reads, and only those, each with a description", () => {
        expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
        for (const [key, declaration] of Object.entries<any>(project.config)) {
            expect(declaration.description, key).toMatch(/\w{3,}/);
            // Older Pulumi CLIs require a type on every declaration.
            expect(["string", "integer", "boolean"], key).toContain(declaration.type);
        }
    });

    it("declares secret only the secret that every stack must set (the CLI refuses a secret's plaintext default)", () => {
        const secrets = Object.entries<any>(project.config).filter(([, d]) => d.secret === true).map(([key]) => key).sort();
        expect(secrets).toEqual(["dbPassword"]);
        // The other secrets are optional; the program refuses them in plaintext (test/stackFiles.test.ts).
        expect([...SECRET_KEYS].sort()).toEqual(["alertWebhookUrl", "appSecretEnv", "dbPassword", "offsitePassword", "sshPrivateKey"]);
    });

    it("has defaults that the program accepts and that match its own", () => {
        const defaults = Object.fromEntries(Object.entries<any>(project.config)
            .filter(([, d]) => d.default !== undefined).map(([key, d]) => [key, String(d.default)]));
        for (const stack of ENVIRONMENTS) {
            const required = { dbPassword: "long-enough-pw", appImage: "localhost/x:v1.0.0" };
            const withDefaults = parseStackConfig(stack, { ...defaults, ...required });
            const without = parseStackConfig(stack, required);
            expect(JSON.stringify({ ...withDefaults, db: { ...withDefaults.db, password: 0 }, app: { ...withDefaults.app, secretEnv: 0 } }))
                .toBe(JSON.stringify({ ...without, db: { ...without.db, password: 0 }, app: { ...without.app, secretEnv: 0 } }));
        }
    });
});

describe.each(ENVIRONMENTS)("Pulumi.%s.yaml", (stack) => {
    const config: Record<string, unknown> = readYaml(`Pulumi.${stack}.yaml`).config ?? {};

    it("sets only keys of this project, secrets only encrypted, and passes validation with a password", () => {
        const secretKeys = Object.entries<any>(readYaml("Pulumi.yaml").config).filter(([, d]) => d.secret).map(([key]) => key);
        const raw: Record<string, string> = {};
        for (const [fullKey, value] of Object.entries(config)) {
            expect(fullKey.startsWith("rezept-tagebuch:"), fullKey).toBe(true);
            const key = fullKey.slice("rezept-tagebuch:".length);
            if (secretKeys.includes(key)) {
                // `pulumi config set --secret` writes { secure: <ciphertext> }, safe to commit.
                expect(Object.keys(value as object), `${fullKey} must be encrypted`).toEqual(["secure"]);
            } else {
                raw[key] = String(value);
            }
        }
        expect(() => parseStackConfig(stack, { ...raw, dbPassword: "long-enough-pw" })).not.toThrow();
    });
});

describe("the GitHub Actions workflow", () => {
    const file = ".github/workflows/infrastructure.yml";
    const workflow = readYaml(file);

    it("is a valid workflow", () => {
        const result = spawnSync(join(root, "node_modules/.bin/action-validator"), [join(root, file)], { encoding: "utf8" });
        expect(result.stdout + result.stderr).toBe("");
        expect(result.status).toBe(0);
    });

    it("runs the tests on pull requests", () => {
        expect(workflow.on).toHaveProperty("pull_request");
        expect(workflow.jobs.test.steps.map((s: any) => s.run)).toContain("npm test");
    });

    it("previews every stack on pull requests, on the host, commenting on the PR, never for forks", () => {
        const preview = workflow.jobs.preview;
        expect(preview.if).toContain("github.event_name == 'pull_request'");
        expect(preview.if).toContain("head.repo.full_name == github.repository");
        expect(preview["runs-on"]).toEqual(["self-hosted", "rezept-host"]);
        expect(preview.environment).toBe("preview");
        expect(preview.strategy.matrix.stack).toEqual([...ENVIRONMENTS]);
        const action = preview.steps.find((s: any) => String(s.uses).startsWith("pulumi/actions@"));
        expect(action.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true, policyPacks: "policy" });
        expect(action.env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    });

    it("gives every job that runs on the host or reads the passphrase a GitHub environment, which can require approval", () => {
        const guarded = Object.entries<any>(workflow.jobs)
            .filter(([, job]) => [job["runs-on"]].flat().includes("self-hosted") || JSON.stringify(job).includes("PULUMI_CONFIG_PASSPHRASE"));
        expect(guarded.map(([name]) => name).sort()).toEqual(["preview", "up"]);
        for (const [name, job] of guarded) expect(job.environment, name).toBeTruthy();
    });

    it("runs pulumi up of one chosen stack on demand", () => {
        expect(workflow.on.workflow_dispatch.inputs.stack.options).toEqual([...ENVIRONMENTS]);
        const up = workflow.jobs.up;
        expect(up.if).toBe("github.event_name == 'workflow_dispatch'");
        const action = up.steps.find((s: any) => String(s.uses).startsWith("pulumi/actions@"));
        expect(action.with).toMatchObject({ command: "up", "stack-name": "${{ inputs.stack }}", policyPacks: "policy" });
    });
});

describe(".ci/run", () => {
    it("installs the Debian package of every program the tests check for", () => {
        const packages = readFileSync(join(root, ".ci/run"), "utf8").match(/^packages=\(([^)]*)\)/m)![1].split(/\s+/);
        expect(packages).toEqual(expect.arrayContaining([...new Set(Object.values(PREREQUISITES))]));
    });
});

describe("scripts/stack.sh, the README's main command, up to the Pulumi CLI", () => {
    const script = join(root, "scripts/stack.sh");
    const sdkVersion: string = JSON.parse(readFileSync(join(root, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;

    it("passes shellcheck", () => {
        const result = spawnSync("shellcheck", ["--shell=sh", script], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    /** A stub `pulumi` that logs its calls, answers `version`, and knows of a password when told to. */
    const stubCli = (log: string, passwordSet: boolean, version = sdkVersion) =>
        `#!/bin/sh\n[ "$1" = version ] && { echo v${version}; exit 0; }\necho "$* | $PULUMI_BACKEND_URL | docker=\${DOCKER_HOST:-}" >> "${log}"\n` +
        `[ "$1 $2" = "config get" ] && exit ${passwordSet ? 0 : 1}\nexit 0\n`;

    /**
     * Runs the script from a copy of the project (so an installed CLI lands in a temporary
     * folder) with only the tools it needs on PATH, plus a stub `pulumi` on PATH unless told
     * otherwise. The Automation API's download of https://get.pulumi.com/install.sh goes
     * through globalThis.fetch: a preloaded stub logs it and fails, or serves a fake
     * install.sh that logs its arguments and puts a stub CLI into the install root.
     */
    function runWithStub(args: string[], env: Record<string, string>, passwordSet = true,
        opts: { cliOnPath?: boolean; download?: "fails" | "installs" | "script fails"; installed?: string; shell?: boolean } = {}) {
        const dir = mkdtempSync(join(tmpdir(), "pulumi-stub-"));
        const [bin, project, tools] = ["bin", "project", "tools"].map((name) => join(dir, name));
        for (const folder of [bin, join(project, "scripts"), tools]) mkdirSync(folder, { recursive: true });
        for (const file of ["stack.sh", "pulumi-cli.js", "adopt.ts"]) copyFileSync(join(root, "scripts", file), join(project, "scripts", file));
        copyFileSync(join(root, "package.json"), join(project, "package.json"));
        cpSync(join(root, "lib"), join(project, "lib"), { recursive: true });
        copyFileSync(join(root, "tsconfig.json"), join(project, "tsconfig.json"));
        symlinkSync(join(root, "node_modules"), join(project, "node_modules"));
        for (const tool of ["sh", "node", "npm", "dirname", "mkdir", "cp", "cat", "id"]) {
            const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
            symlinkSync(found, join(tools, tool));
        }
        // A host without the stack's containers or volumes: `podman ... exists` answers 1 (cmd/podman/containers/exists.go:48-49).
        writeFileSync(join(tools, "podman"), '#!/bin/sh\n[ "$2" = exists ] && exit 1\necho "podman stub: $*" >&2\nexit 125\n', { mode: 0o755 });
        const log = join(dir, "calls.log");
        const cli = join(dir, "pulumi");
        writeFileSync(cli, stubCli(log, passwordSet));
        chmodSync(cli, 0o755);
        if (opts.cliOnPath ?? true) copyFileSync(cli, join(bin, "pulumi"));
        if (opts.installed) {
            const installedBin = join(project, ".pulumi-cli", sdkVersion, "bin");
            mkdirSync(installedBin, { recursive: true });
            writeFileSync(join(installedBin, "pulumi"), stubCli(log, passwordSet, opts.installed), { mode: 0o755 });
        }
        const fetches = join(dir, "fetches.log");
        const installs = join(dir, "installs.log");
        const installSh = opts.download === "script fails"
            ? `echo "error: could not download https://get.pulumi.com/releases/sdk/pulumi-v${sdkVersion}-linux-x64.tar.gz" >&2; exit 1`
            : `echo "$@" >> ${installs}; while [ $# -gt 0 ]; do [ "$1" = --install-root ] && r=$2; shift; done; mkdir -p "$r/bin" && cp ${cli} "$r/bin/pulumi"`;
        const preload = join(dir, "fetch-stub.js");
        writeFileSync(preload, `globalThis.fetch = async (url) => {
            require("fs").appendFileSync(${JSON.stringify(fetches)}, url + "\\n");
            if (${JSON.stringify(opts.download ?? "fails")} === "fails") throw new TypeError("fetch failed");
            return { ok: true, status: 200, text: async () => ${JSON.stringify(installSh)} };
        };\n`);
        // `shell`: args[0] is a command line as printed by a hint, run in the project folder as an operator would.
        const command = opts.shell ? ["-c", args[0]] : [join(project, "scripts/stack.sh"), ...args];
        const result = spawnSync("sh", command, {
            cwd: project, encoding: "utf8", env: { PATH: `${bin}:${tools}`, HOME: dir, NODE_OPTIONS: `--require ${preload}`, ...env },
        });
        const lines = (file: string) => existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
        return { ...result, calls: lines(log), fetches: lines(fetches), installs: lines(installs), project };
    }

    it("previews a stack on the local file backend by default", () => {
        const { status, calls } = runWithStub(["preview", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" });
        expect(status).toBe(0);
        const home = calls[0].split(" | ")[1];
        expect(home).toMatch(/^file:\/\/.*pulumi-stub-.*\/\.pulumi-state$/);
        expect(calls.map((c) => c.split(" | ")[0])).toEqual(["stack select --create dev", "config get dbPassword", "preview --stack dev --diff --policy-pack policy"]);
    });

    it("runs up on the chosen stack, with the mandatory policy pack", () => {
        const { status, calls } = runWithStub(["up", "prod"], { PULUMI_CONFIG_PASSPHRASE: "pass" });
        expect(status).toBe(0);
        expect(calls.at(-1)).toMatch(/^up --stack prod --policy-pack policy \|/);
    });

    it("adopts with the CLI, backend and password ready, then runs up (nothing to adopt on a host without the containers)", () => {
        const { status, stdout, stderr, calls } = runWithStub(["adopt", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" });
        expect(stderr).toBe("");
        expect(status).toBe(0);
        expect(stdout).toContain("nothing to adopt: no container of the stack exists yet");
        expect(calls.map((c) => c.split(" | ")[0])).toEqual(["stack select --create dev", "config get dbPassword", "up --stack dev --policy-pack policy"]);
    }, 60_000);

    it("uses a pulumi on PATH as it is: nothing downloaded, nothing installed", () => {
        const { status, stderr, fetches, project } = runWithStub(["preview", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" });
        expect(status).toBe(0);
        expect(fetches).toEqual([]);
        expect(existsSync(join(project, ".pulumi-cli"))).toBe(false);
        expect(stderr).not.toContain("Pulumi CLI");
    });

    it("without pulumi on PATH, installs the CLI of @pulumi/pulumi's version into .pulumi-cli/<version> with the Automation API, says so, and uses it", () => {
        const { status, stderr, calls, fetches, installs, project } =
            runWithStub(["preview", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" }, true, { cliOnPath: false, download: "installs" });
        expect(status).toBe(0);
        expect(fetches).toEqual(["https://get.pulumi.com/install.sh"]);
        expect(installs).toEqual([`--no-edit-path --install-root ${join(project, ".pulumi-cli", sdkVersion)} --version ${sdkVersion}`]);
        expect(stderr).toContain(`no pulumi on PATH; installing the Pulumi CLI ${sdkVersion} (the version of @pulumi/pulumi) into .pulumi-cli/${sdkVersion} with Pulumi's Automation API`);
        expect(calls.map((c) => c.split(" | ")[0])).toEqual(["stack select --create dev", "config get dbPassword", "preview --stack dev --diff --policy-pack policy"]);
        const ignored = spawnSync("git", ["check-ignore", "-q", `.pulumi-cli/${sdkVersion}/bin/pulumi`], { cwd: root });
        expect(ignored.status, ".pulumi-cli/ is git-ignored").toBe(0);
    });

    it("uses the CLI already installed in .pulumi-cli without downloading", () => {
        const { status, stderr, fetches, calls } = runWithStub(["up", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" }, true, { cliOnPath: false, installed: sdkVersion });
        expect(status).toBe(0);
        expect(fetches).toEqual([]);
        expect(stderr).toContain(`no pulumi on PATH; using the project's Pulumi CLI in .pulumi-cli/${sdkVersion}`);
        expect(calls.at(-1)).toMatch(/^up --stack dev --policy-pack policy \|/);
    });

    it("replaces an installed CLI older than @pulumi/pulumi", () => {
        const { status, fetches, installs } = runWithStub(["up", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" }, true,
            { cliOnPath: false, installed: "3.100.0", download: "installs" });
        expect(status).toBe(0);
        expect(fetches).toEqual(["https://get.pulumi.com/install.sh"]);
        expect(installs).toHaveLength(1);
    });

    it.each([
        ["the install script cannot be downloaded", "fails", "Failed to download https://get.pulumi.com/install.sh: fetch failed"],
        ["the install script fails", "script fails", `https://get.pulumi.com/install.sh failed (exit code 1): error: could not download https://get.pulumi.com/releases/sdk/pulumi-v${sdkVersion}-linux-x64.tar.gz`],
    ] as const)("when %s, stops with one line naming what failed and the manual fix", (_, download, cause) => {
        const { status, stderr, calls } = runWithStub(["up", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" }, true, { cliOnPath: false, download });
        expect(status).toBe(1);
        const lines = stderr.trim().split("\n");
        expect(lines).toHaveLength(2); // what it is doing, then why it stopped
        expect(lines[1]).toContain(`stack.sh: could not install the Pulumi CLI ${sdkVersion} into .pulumi-cli/${sdkVersion}: `);
        expect(lines[1]).toContain(cause);
        expect(lines[1]).toContain(`install it by hand (https://www.pulumi.com/docs/install/: curl -fsSL https://get.pulumi.com | sh -s -- --version ${sdkVersion})`);
        expect(calls).toEqual([]);
    });

    it.each([
        [["preview", "staging"], {}, true, "unknown stack 'staging'"],
        [["deploy", "dev"], {}, true, "unknown action 'deploy'"],
        [["preview"], {}, true, "usage:"],
        [["preview", "dev"], {}, true, "set PULUMI_CONFIG_PASSPHRASE_FILE to a file (mode 0600)"],
        [["up", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" }, false, "npm run stack -- config dev set --secret dbPassword"],
    ] as const)("refuses %j with a message saying what to do", (args, env, passwordSet, message) => {
        const { status, stderr, calls } = runWithStub([...args], env, passwordSet);
        expect(status).not.toBe(0);
        expect(stderr).toContain(message);
        expect(calls.filter((c) => /^(preview|up) /.test(c))).toEqual([]);
    });

    describe("the actions an operator would otherwise type through the bare CLI", () => {
        const passphrase = { PULUMI_CONFIG_PASSPHRASE_FILE: "/dev/null" };
        const cliCalls = (calls: string[]) => calls.map((c) => c.split(" | ")[0]);

        it.each([
            [["config", "dev", "set", "--secret", "dbPassword"], ["stack select --create dev", "config --stack dev set --secret dbPassword"]],
            [["config", "prod", "set", "appImage", "localhost/seaser-rezept-tagebuch:v1.2.3"], ["stack select --create prod", "config --stack prod set appImage localhost/seaser-rezept-tagebuch:v1.2.3"]],
            [["config", "test"], ["stack select --create test", "config --stack test"]],
            [["output", "prod", "appImageTag"], ["stack output --stack prod appImageTag"]],
            [["refresh", "dev", "--yes"], ["refresh --stack dev --yes"]],
            [["destroy", "test"], ["destroy --stack test --exclude-protected"]],
            [["up", "dev", "--refresh"], ["stack select --create dev", "config get dbPassword", "up --stack dev --policy-pack policy --refresh"]],
        ] as const)("%j runs the CLI as %j (the project's own CLI, not on PATH)", (args, expected) => {
            const { status, calls } = runWithStub([...args], passphrase, true, { cliOnPath: false, installed: sdkVersion });
            expect(status).toBe(0);
            expect(cliCalls(calls)).toEqual(expected);
            expect(calls[0].split(" | ")[1]).toMatch(/^file:\/\/.*\/\.pulumi-state$/);
        });

        it("destroy says that it keeps the data volumes", () => {
            const { stderr } = runWithStub(["destroy", "dev"], passphrase);
            expect(stderr).toContain("keeps its data volumes on the host (the database's, protected, in the stack too)");
        });

        it("finds the user's Podman socket without an exported DOCKER_HOST, and leaves a DOCKER_HOST that is set alone", async () => {
            const runtime = mkdtempSync(join(tmpdir(), "xdg-"));
            mkdirSync(join(runtime, "podman"));
            const socket = join(runtime, "podman/podman.sock");
            const server = createServer().listen(socket);
            await new Promise((resolve) => server.once("listening", resolve));
            try {
                expect(runWithStub(["output", "dev"], { ...passphrase, XDG_RUNTIME_DIR: runtime }).calls[0].split(" | ")[2]).toBe(`docker=unix://${socket}`);
                expect(runWithStub(["output", "dev"], { ...passphrase, XDG_RUNTIME_DIR: runtime, DOCKER_HOST: "ssh://seaser@h" }).calls[0].split(" | ")[2]).toBe("docker=ssh://seaser@h");
                // No user socket: rootful Podman's, where this machine has one, else nothing (the provider then names what it could not reach).
                const rootful = "/run/podman/podman.sock";
                expect(runWithStub(["output", "dev"], { ...passphrase, XDG_RUNTIME_DIR: runtime + "-none" }).calls[0].split(" | ")[2])
                    .toBe(existsSync(rootful) ? `docker=unix://${rootful}` : "docker=");
            } finally {
                server.close();
            }
        });

        /** A problem's fix as an operator copies it: the command, without the note after it. */
        const command = (fix: string) => fix.split(/ \(|; |, or /)[0];
        const configFixes = (stack: "dev", raw: Record<string, string>) => {
            try {
                parseStackConfig(stack, raw);
            } catch (error) {
                expect(error).toBeInstanceOf(ConfigError);
                return (error as ConfigError).problems.map((line) => command(line.split("; fix: ")[1]));
            }
            throw new Error("accepted");
        };

        it.each([
            ["stack.sh, for a stack without a password", () => {
                const { stderr } = runWithStub(["up", "dev"], passphrase, false, { cliOnPath: false, installed: sdkVersion });
                return stderr.split("\n").filter((line) => line.startsWith("    ")).map((line) => line.trim());
            }, ["config --stack dev set --secret dbPassword"]],
            ["a config error for a missing password", () => configFixes("dev", { appImage: "localhost/x:v1.0.0" }), ["config --stack dev set --secret dbPassword"]],
            ["a config error for a misspelt key", () => configFixes("dev", { dbPassword: "long-enough-pw", appImage: "localhost/x:v1.0.0", appImgae: "x" }), ["config --stack dev rm appImgae"]],
            ["a config error for prod's volume in dev", () => configFixes("dev", { dbPassword: "long-enough-pw", appImage: "localhost/x:v1.0.0", dbDataVolume: "seaser-postgres-data" }), ["config --stack dev rm dbDataVolume"]],
            // As test/healthCheck.test.ts asserts the installed health check prints them.
            ["the health check's fixes", () => ["npm run stack -- up dev --refresh", "npm run stack -- output dev appImageTag"],
                ["up --stack dev --policy-pack policy --refresh", "stack output --stack dev appImageTag"]],
        ] as const)("the hint of %s works as printed, with the project's own CLI", (_, hints, expected) => {
            const printed = hints();
            expect(printed.length).toBe(expected.length);
            const ran = printed.flatMap((hint) => {
                expect(hint).toMatch(/^npm run stack -- /);
                const { status, stderr, calls } = runWithStub([hint], passphrase, true, { cliOnPath: false, installed: sdkVersion, shell: true });
                expect(status, stderr).toBe(0);
                return cliCalls(calls).filter((call) => !/^(stack select|config get dbPassword)/.test(call));
            });
            expect(ran).toEqual(expected);
        }, 60_000);
    });
});
