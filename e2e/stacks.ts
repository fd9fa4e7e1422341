import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SECRET_KEYS } from "../lib/config";
import { EnvironmentName } from "../lib/environments";
import { applyProjectConfig } from "../test/pulumiCliConfig";

/** The stand-in images the e2e hosts import (nothing can be pulled here). */
export const IMAGES = {
    postgres: "localhost/e2e-postgres:15-e2e",
    postgresChanged: "localhost/e2e-postgres:15-e2e-b",
    app: "localhost/e2e-app:v1.0.0",
    appNext: "localhost/e2e-app:v1.0.1",
    /** Starts and never answers: a bad release. */
    appBroken: "localhost/e2e-app:v1.0.2",
};

const project = parse(readFileSync(join(__dirname, "..", "Pulumi.yaml"), "utf8"));

/**
 * What the CLI hands the program for a stack: its committed stack file, the e2e
 * images and password, and Pulumi.yaml's defaults, by the CLI's rules
 * (test/pulumiCliConfig.ts). Rootless, as on the real host: systemdScope=user.
 */
export function stackConfig(env: EnvironmentName, overrides: Record<string, string> = {}): Record<string, string> {
    const file = parse(readFileSync(join(__dirname, "..", `Pulumi.${env}.yaml`), "utf8")).config ?? {};
    // Secrets as `pulumi config set --secret` leaves them: encrypted (here "decrypted" by the identity).
    const prefixed = (values: Record<string, string>) => Object.fromEntries(Object.entries(values)
        .map(([k, v]) => [`rezept-tagebuch:${k}`, (SECRET_KEYS as string[]).includes(k) ? { secure: v } : v]));
    const merged = applyProjectConfig(project, env, {
        ...file,
        ...prefixed({ dbImage: IMAGES.postgres, ...(env === "test" ? {} : { appImage: IMAGES.app }) }),
        ...prefixed({ dbPassword: `e2e-${env}-password`, ...overrides }),
    });
    if (merged.errors.length > 0) throw new Error(merged.errors.join("\n"));
    return merged.values;
}
