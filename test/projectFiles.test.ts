import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, parseStackConfig, SECRET_KEYS } from "../lib/config";
import { ENVIRONMENTS } from "../lib/environments";

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
        expect([...SECRET_KEYS].sort()).toEqual(["alertWebhookUrl", "appSecretEnv", "dbPassword", "sshPrivateKey"]);
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
        expect(preview.strategy.matrix.stack).toEqual([...ENVIRONMENTS]);
        const action = preview.steps.find((s: any) => String(s.uses).startsWith("pulumi/actions@"));
        expect(action.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true, policyPacks: "policy" });
        expect(action.env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    });

    it("runs pulumi up of one chosen stack on demand", () => {
        expect(workflow.on.workflow_dispatch.inputs.stack.options).toEqual([...ENVIRONMENTS]);
        const up = workflow.jobs.up;
        expect(up.if).toBe("github.event_name == 'workflow_dispatch'");
        const action = up.steps.find((s: any) => String(s.uses).startsWith("pulumi/actions@"));
        expect(action.with).toMatchObject({ command: "up", "stack-name": "${{ inputs.stack }}" });
    });
});

describe("scripts/stack.sh, the README's main command, up to the Pulumi CLI", () => {
    const script = join(root, "scripts/stack.sh");

    it("passes shellcheck", () => {
        const result = spawnSync("shellcheck", ["--shell=sh", script], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    /** Runs the script with a stub `pulumi` that logs its calls and knows of a password when told to. */
    function runWithStub(args: string[], env: Record<string, string>, passwordSet = true) {
        const bin = mkdtempSync(join(tmpdir(), "pulumi-stub-"));
        const log = join(bin, "calls.log");
        writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho "$* | $PULUMI_BACKEND_URL" >> "${log}"\n` +
            `[ "$1 $2" = "config get" ] && exit ${passwordSet ? 0 : 1}\nexit 0\n`);
        chmodSync(join(bin, "pulumi"), 0o755);
        const result = spawnSync("sh", [script, ...args], {
            encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: bin, ...env },
        });
        const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
        return { ...result, calls };
    }

    it("previews a stack on the local file backend by default", () => {
        const { status, calls } = runWithStub(["preview", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" });
        expect(status).toBe(0);
        const home = calls[0].split(" | ")[1];
        expect(home).toMatch(/^file:\/\/.*pulumi-stub-.*\/\.pulumi-state$/);
        expect(calls.map((c) => c.split(" | ")[0])).toEqual(["stack select --create dev", "config get dbPassword", "preview --stack dev --diff --policy-pack policy"]);
    });

    it("runs up on the chosen stack", () => {
        const { status, calls } = runWithStub(["up", "prod"], { PULUMI_CONFIG_PASSPHRASE: "pass" });
        expect(status).toBe(0);
        expect(calls.at(-1)).toMatch(/^up --stack prod \|/);
    });

    it.each([
        [["preview", "staging"], {}, true, "unknown stack 'staging'"],
        [["destroy", "dev"], {}, true, "unknown action 'destroy'"],
        [["preview"], {}, true, "usage:"],
        [["preview", "dev"], {}, true, "set PULUMI_CONFIG_PASSPHRASE"],
        [["up", "dev"], { PULUMI_CONFIG_PASSPHRASE: "pass" }, false, "pulumi config set --secret --stack dev dbPassword"],
    ] as const)("refuses %j with a message saying what to do", (args, env, passwordSet, message) => {
        const { status, stderr, calls } = runWithStub([...args], env, passwordSet);
        expect(status).not.toBe(0);
        expect(stderr).toContain(message);
        expect(calls.filter((c) => /^(preview|up) /.test(c))).toEqual([]);
    });
});
