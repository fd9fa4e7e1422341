/**
 * The real Pulumi CLI over this project. First test/pulumiCliConfig.ts (our model of the
 * CLI's config rule) against it,
 * built from Go modules by scripts/build-pulumi-tools.sh: both over the same stack files,
 * the committed ones and refused ones; their verdicts must agree. Opt-in (REAL_PULUMI=1),
 * as the first build takes about 15 minutes (docs/real-engine.md); later runs reuse it.
 * A stack the CLI accepts runs the program, which then stops at the first provider plugin
 * (none can be built here): that error is the sign the config passed.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ENVIRONMENTS } from "../lib/environments";
import { applyProjectConfig, ProjectKey, StackValue } from "./pulumiCliConfig";

const root = join(__dirname, "..");
const PROJECT = "rezept-tagebuch";

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
}

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh";

const cases: Case[] = [
    ...ENVIRONMENTS.map((stack): Case => ({ name: `${stack} as committed, with its password`, stack, password: "encrypted" })),
    ...ENVIRONMENTS.map((stack): Case => ({ name: `${stack} without a password`, stack, password: "none" })),
    { name: "dev with a plaintext password", stack: "dev", password: "plaintext" },
    { name: "test with values of the wrong type", stack: "test", password: "encrypted", stackConfig: { [`${PROJECT}:appEnabled`]: "yes", [`${PROJECT}:dbPort`]: "54x" } },
    { name: "a typed key without default", stack: "dev", password: "encrypted", projectConfig: { sshHost: { type: "string" } } },
    { name: "a secret key with a plaintext default", stack: "dev", password: "encrypted", projectConfig: { appSecretEnv: { type: "string", default: "", secret: true } } },
    { name: "dev with its password and the policy pack", stack: "dev", password: "encrypted", policyPack: true },
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
];

const realPulumi = process.env.REAL_PULUMI === "1";
let bin = "";
beforeAll(() => {
    if (!realPulumi) return;
    const build = spawnSync("sh", [join(root, "scripts/build-pulumi-tools.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    expect(build.status, "scripts/build-pulumi-tools.sh").toBe(0);
    bin = build.stdout.trim().split("\n").at(-1)!;
}, 1_800_000);

describe.runIf(realPulumi)("the real Pulumi CLI's config verdicts agree with test/pulumiCliConfig.ts", () => {
    it.each(cases)("$name", (c) => {
        const dir = mkdtempSync(join(tmpdir(), "real-cli-config-"));
        const project = join(dir, "project");
        mkdirSync(project);
        for (const entry of ["index.ts", "components", "lib", "host", "tsconfig.json", "package.json", "policy"]) cpSync(join(root, entry), join(project, entry), { recursive: true });
        symlinkSync(join(root, "node_modules"), join(project, "node_modules"));
        const projectYaml = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
        projectYaml.config = { ...projectYaml.config, ...c.projectConfig };
        writeFileSync(join(project, "Pulumi.yaml"), stringify(projectYaml));
        const committed: Record<string, StackValue> = parse(readFileSync(join(root, `Pulumi.${c.stack}.yaml`), "utf8")).config ?? {};
        writeFileSync(join(project, `Pulumi.${c.stack}.yaml`), stringify({ config: committed }));
        for (const [other, config] of Object.entries(c.otherStacks ?? {})) writeFileSync(join(project, `Pulumi.${other}.yaml`), stringify({ config }));
        writeFileSync(join(dir, "passphrase"), "real-cli-config-test\n", { mode: 0o600 });
        const env = {
            ...process.env, PATH: `${bin}:${process.env.PATH}`, PULUMI_HOME: join(dir, "home"), PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE_FILE: join(dir, "passphrase"), PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_SKIP_UPDATE_CHECK: "true",
        };
        mkdirSync(join(dir, "state"));
        const pulumi = (args: string[], input?: string) => spawnSync(join(bin, "pulumi"), args, { cwd: project, env, input, encoding: "utf8", timeout: 120_000 });
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
            // Refused before anything is registered: the program never asks for a provider.
            expect(output).not.toMatch(/no resource plugin/);
        } else if (model.errors.length === 0) {
            expect(output).not.toContain("validating stack config");
            expect(output).toMatch(/no resource plugin 'pulumi-resource-(command|docker)' found/);
            // The policy pack started: @pulumi/policy reads its version from policy/package.json.
            if (c.policyPack) expect(output).toMatch(/Policies:\s+\S+ rezept-tagebuch@v1\.0\.0 \(local: policy\)/);
        } else {
            // The CLI stops at the first error; the model lists them all.
            expect(preview.status).not.toBe(0);
            expect(output).toContain(`error: validating stack config: ${model.errors[0]}`);
        }
    }, 180_000);
});

describe("policy/, the pack `npm run stack` runs with --policy-pack", () => {
    it("has a package.json with a version: @pulumi/policy's PolicyPack reads it from the pack's folder, where the language host runs it", () => {
        // node_modules/@pulumi/policy/policy.js, PolicyPack constructor: require(`${process.cwd()}/package.json`).version;
        // the v3.248.0 host sets the pack's folder as its working directory (RunPlugin, kind analyzer).
        const pkg = JSON.parse(readFileSync(join(root, "policy/package.json"), "utf8"));
        expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    });
});
