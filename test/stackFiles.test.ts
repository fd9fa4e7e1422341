import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError, parseStackConfig, SECRET_KEYS, stackFileSettings } from "../lib/config";
import { ENVIRONMENTS } from "../lib/environments";
import { applyProjectConfig, StackValue } from "./pulumiCliConfig";

const root = join(__dirname, "..");
const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
const stackFile = (stack: string): Record<string, StackValue> => parse(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8")).config ?? {};
/** What `pulumi config set --secret dbPassword` adds to a stack file; "decrypted" by the identity here. */
const withPassword = (config: Record<string, StackValue>) => ({ ...config, "rezept-tagebuch:dbPassword": { secure: "a-long-db-password" } });

describe("the CLI's config rules (pulumi's mergeConfig), applied to Pulumi.yaml and each stack file", () => {
    describe.each(ENVIRONMENTS)("the %s stack", (stack) => {
        it("loads with its committed file and a password: nothing missing, secrets encrypted, types right", () => {
            const merged = applyProjectConfig(project, stack, withPassword(stackFile(stack)));
            expect(merged.errors).toEqual([]);
        });

        it("and the program accepts what the CLI hands it", () => {
            const merged = applyProjectConfig(project, stack, withPassword(stackFile(stack)));
            expect(() => parseStackConfig(stack, merged.values, (key) => merged.secretKeys.includes(key))).not.toThrow();
        });

        it("needs nothing but the password that `npm run stack` asks for", () => {
            expect(applyProjectConfig(project, stack, stackFile(stack)).errors).toEqual([`Stack '${stack}' is missing configuration value 'dbPassword'`]);
        });
    });

    it("a key declared with a type and no default is required of every stack (the rule the model applies)", () => {
        const strict = { name: "rezept-tagebuch", config: { ...project.config, sshHost: { type: "string" } } };
        expect(applyProjectConfig(strict, "dev", withPassword(stackFile("dev"))).errors).toEqual(["Stack 'dev' is missing configuration value 'sshHost'"]);
    });

    it("a secret key with a default would fail every stack that does not set it: the default is plaintext", () => {
        const strict = { name: "rezept-tagebuch", config: { ...project.config, appSecretEnv: { type: "string", default: "", secret: true } } };
        expect(applyProjectConfig(strict, "dev", withPassword(stackFile("dev"))).errors)
            .toEqual(["Stack 'dev' with configuration key 'appSecretEnv' must be encrypted as it's secret"]);
    });

    it("a value of the wrong type is refused", () => {
        const merged = applyProjectConfig(project, "test", withPassword({ "rezept-tagebuch:appEnabled": "yes", "rezept-tagebuch:dbPort": "54x" }));
        expect(merged.errors).toEqual([
            "Stack 'test' with configuration key 'appEnabled' must be of type 'boolean'",
            "Stack 'test' with configuration key 'dbPort' must be of type 'integer'",
        ]);
    });
});

describe("isolation, under the CLI's config rules: stack files that name another environment's volume or network", () => {
    /** The CLI's merge of `stack`'s file, then the program's check against the other stack files, as readStackConfig reads them. */
    function refusals(stack: string, file: Record<string, StackValue>, others: Record<string, Record<string, StackValue>> = {}): string[] {
        const merged = applyProjectConfig(project, stack, withPassword(file));
        expect(merged.errors, "the CLI accepts the file: only the program can refuse it").toEqual([]);
        const otherStacks = Object.fromEntries(Object.entries(others).map(([env, config]) => [env, stackFileSettings(config)]));
        try {
            parseStackConfig(stack, merged.values, (key) => merged.secretKeys.includes(key), otherStacks);
            return [];
        } catch (error) {
            return [...(error as ConfigError).problems].map((line) => line.split("; fix: ")[0]);
        }
    }

    it.each([
        ["dev", "dbDataVolume", "seaser-postgres-data", "the prod database volume"],
        ["dev", "appDataVolume", "seaser-rezept-tagebuch-volume", "the prod uploads volume"],
        ["test", "dbDataVolume", "seaser-postgres-data", "the prod database volume"],
        ["prod", "dbDataVolume", "seaser-postgres-dev-data", "the dev database volume"],
        ["dev", "proxyNetwork", "seaser-rezept-tagebuch-prod-internal", "the prod internal network"],
        ["prod", "proxyNetwork", "seaser-rezept-tagebuch-prod-internal", "the prod internal network"],
    ])("Pulumi.%s.yaml setting %s: %s (%s) is refused", (stack, key, value, owner) => {
        expect(refusals(stack, { ...stackFile(stack), [`rezept-tagebuch:${key}`]: value })).toEqual([expect.stringContaining(`rezept-tagebuch:${key} is ${value}, ${owner}`)]);
    });

    it("Pulumi.dev.yaml naming the volume Pulumi.prod.yaml sets is refused; its own name is not", () => {
        const prod = { ...stackFile("prod"), "rezept-tagebuch:dbDataVolume": "pg-main", "rezept-tagebuch:appDataVolume": "uploads-main" };
        expect(refusals("dev", { ...stackFile("dev"), "rezept-tagebuch:appDataVolume": "uploads-main" }, { prod })).toEqual([
            "rezept-tagebuch:appDataVolume is uploads-main, the prod uploads volume (appDataVolume in Pulumi.prod.yaml): the dev stack would use prod's data",
        ]);
        expect(refusals("dev", { ...stackFile("dev"), "rezept-tagebuch:appDataVolume": "uploads-dev" }, { prod })).toEqual([]);
    });

    it("the committed stack files pass against each other", () => {
        for (const stack of ENVIRONMENTS) {
            const others = Object.fromEntries(ENVIRONMENTS.filter((env) => env !== stack).map((env) => [env, stackFile(env)]));
            expect(refusals(stack, stackFile(stack), others), stack).toEqual([]);
        }
    });
});

describe("hostConnection ssh under the CLI's config rules", () => {
    it("without dockerHost is refused, though the CLI hands the program Pulumi.yaml's default \"\"", () => {
        const file = {
            ...stackFile("prod"), "rezept-tagebuch:hostConnection": "ssh", "rezept-tagebuch:sshHost": "rezept.example", "rezept-tagebuch:sshUser": "seaser",
            "rezept-tagebuch:sshPrivateKey": { secure: "-----BEGIN OPENSSH PRIVATE KEY-----" },
        };
        const merged = applyProjectConfig(project, "prod", withPassword(file));
        expect(merged.errors).toEqual([]);
        expect(merged.values.dockerHost).toBe("");
        expect(() => parseStackConfig("prod", merged.values, (key) => merged.secretKeys.includes(key)))
            .toThrow(/rezept-tagebuch:dockerHost is required when hostConnection is ssh/);
    });
});

describe("secrets are never accepted in plaintext", () => {
    it("the CLI refuses a plaintext dbPassword (declared secret, no default)", () => {
        expect(project.config.dbPassword).toMatchObject({ secret: true });
        expect(project.config.dbPassword.default).toBeUndefined();
        const merged = applyProjectConfig(project, "dev", { ...stackFile("dev"), "rezept-tagebuch:dbPassword": "plain-password" });
        expect(merged.errors).toEqual(["Stack 'dev' with configuration key 'dbPassword' must be encrypted as it's secret"]);
    });

    it.each(SECRET_KEYS.filter((key) => key !== "dbPassword"))("the program refuses a plaintext %s, naming the key and the fix", (key) => {
        const value = key === "appSecretEnv" ? '{"SESSION_SECRET":"x"}' : "-----BEGIN OPENSSH PRIVATE KEY-----";
        const merged = applyProjectConfig(project, "prod", withPassword({ ...stackFile("prod"), [`rezept-tagebuch:${key}`]: value }));
        expect(merged.errors).toEqual([]);
        expect(() => parseStackConfig("prod", merged.values, (k) => merged.secretKeys.includes(k)))
            .toThrow(new RegExp(`rezept-tagebuch:${key} is stored in plaintext; fix: npm run stack -- config \\w+ set --secret ${key}`));
    });

    it("an optional secret left at its empty default is no value, not a plaintext secret", () => {
        const merged = applyProjectConfig(project, "prod", withPassword(stackFile("prod")));
        expect(merged.values.appSecretEnv).toBe("");
        const config = parseStackConfig("prod", merged.values, (k) => merged.secretKeys.includes(k));
        expect(config.connection).toEqual({ kind: "local" });
    });
});
