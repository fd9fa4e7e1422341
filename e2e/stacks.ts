import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SECRET_KEYS } from "../lib/config";
import { EnvironmentName } from "../lib/environments";
import { applyProjectConfig } from "../test/pulumiCliConfig";
import { USER } from "./host";

/** The stand-in images the e2e hosts import (nothing can be pulled here). */
export const IMAGES = {
    postgres: "localhost/e2e-postgres:15-e2e",
    postgresChanged: "localhost/e2e-postgres:15-e2e-b",
    /** Another database image (its own id), for a database-only deploy: built on the host from postgres (POSTGRES_NEXT). */
    postgresNext: "localhost/e2e-postgres:15-e2e-next",
    app: "localhost/e2e-app:v1.0.0",
    appNext: "localhost/e2e-app:v1.0.1",
    /** Starts and never answers: a bad release. */
    appBroken: "localhost/e2e-app:v1.0.2",
    /** Answers /api/version, fails every database access (STANDIN_DATABASE_FAILS): built on the host from app. */
    appDbBroken: "localhost/e2e-app:v1.0.3",
    /** The reverse proxy in front of the apps: Debian's nginx package (e2e/deploys.bench.ts). */
    nginx: "localhost/e2e-nginx:bookworm",
    /** Off-host backups (issue 22): restic 0.14.0 (Debian 12's) with ENTRYPOINT restic, as restic/restic is. */
    restic: "localhost/e2e-restic:0.14.0",
};

/**
 * Where each stack's installed health check sends alerts: a command writing one file an alert,
 * and a webhook receiver (started in the health scenarios), both inside the host.
 */
export const ALERT_DIR = `${USER.home}/e2e-alerts`;
export const WEBHOOK_PORT = 8931;
const HEALTH_ALERTS = {
    alertCommand: `mkdir -p ${ALERT_DIR} && cat > ${ALERT_DIR}/.alert.$$ && mv ${ALERT_DIR}/.alert.$$ ${ALERT_DIR}/command-$(date +%s%N).txt`,
    alertWebhookUrl: `http://127.0.0.1:${WEBHOOK_PORT}/alert`,
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
        ...prefixed({ dbPassword: `e2e-${env}-password`, ...HEALTH_ALERTS, ...overrides }),
    });
    if (merged.errors.length > 0) throw new Error(merged.errors.join("\n"));
    return merged.values;
}

/** How IMAGES.postgresNext is built on a host: the stand-in with a label, so its id differs. */
export const POSTGRES_NEXT = [`FROM ${IMAGES.postgres}`, "LABEL e2e.change=db-image"];
