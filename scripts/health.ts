/**
 * npm run health -- [--stack prod|dev|test|all] [--json] [--alert]
 * Checks each environment on this host against what its stack installed
 * (components/healthCheck.ts writes the settings), prints a table or JSON, exits 0
 * only when everything passes. --alert (the timer's) also sends alerts.
 * Observations come from podman, systemctl and HTTP; the logic is lib/health.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { parseEnvLines } from "../lib/appEnv";
import { ENVIRONMENTS, EnvironmentName, PROJECT } from "../lib/environments";
import { ContainerInspect, decideAlert, EnvironmentReport, evaluate, HttpAnswer, Observation, observedNames, parseAlertState, renderAlert, renderJson, renderTable } from "../lib/health";
import { HealthSettings, settingsFile, stateFile, webhookFile } from "../lib/healthUnits";

const USAGE = "usage: npm run health -- [--stack prod|dev|test|all] [--json] [--alert]";

function parseArgs(argv: string[]): { stacks: EnvironmentName[]; json: boolean; alert: boolean; explicit: boolean } {
    let stack = "all";
    let json = false;
    let alert = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") json = true;
        else if (arg === "--alert") alert = true;
        else if (arg === "--stack" && argv[i + 1] !== undefined) stack = argv[++i];
        else if (arg.startsWith("--stack=")) stack = arg.slice("--stack=".length);
        else fail(`health: unknown argument '${arg}'; ${USAGE}`);
    }
    if (stack !== "all" && !(ENVIRONMENTS as readonly string[]).includes(stack)) fail(`health: --stack '${stack}' is not prod, dev, test or all; ${USAGE}`);
    return { stacks: stack === "all" ? [...ENVIRONMENTS] : [stack as EnvironmentName], json, alert, explicit: stack !== "all" };
}

function fail(message: string): never {
    process.stderr.write(`${message}\n`);
    process.exit(2);
}

/** The stack's settings directory: the user's (rootless units), else the system's. */
function settingsDirectory(env: EnvironmentName): string | undefined {
    const user = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), PROJECT);
    return [user, `/etc/${PROJECT}`].find((dir) => existsSync(join(dir, settingsFile(env))));
}

const run = (cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, input: opts.input, env: opts.env ?? process.env });

function inspect(container: string): ContainerInspect | undefined {
    const result = run("podman", ["container", "inspect", container]);
    if (result.status !== 0) return undefined;
    return (JSON.parse(result.stdout) as ContainerInspect[])[0];
}

/** /api/version from inside the app container, with whichever client its image has (as its healthcheck does). */
function probeDirect(container: string, port: number): HttpAnswer {
    const url = `http://127.0.0.1:${port}/api/version`;
    // wget fails on anything but 2xx, so its success is a 200.
    const result = run("podman", ["exec", container, "sh", "-c",
        `if command -v curl >/dev/null; then curl -sS -w '\\n%{http_code}' ${url}; else body=$(wget -q -O - ${url}) && printf '%s\\n200' "$body"; fi`]);
    if (result.status !== 0 && !result.stdout) return { error: `no answer from ${url} inside ${container}: ${result.stderr.trim().split("\n")[0] ?? ""}` };
    const lines = result.stdout.trimEnd().split("\n");
    const status = Number(lines.pop());
    return Number.isFinite(status) && status > 0 ? { status, body: lines.join("\n") } : { error: `no HTTP status from ${url} inside ${container}` };
}

async function probeUrl(base: string): Promise<HttpAnswer> {
    const url = new URL("api/version", base.endsWith("/") ? base : `${base}/`);
    try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        return { status: response.status, body: await response.text() };
    } catch (error) {
        return { error: `${url}: ${(error as Error).message}` };
    }
}

/**
 * A query as the app logs in: to the app's POSTGRES_HOST (the database's container name) over the
 * network, as its user, with its password. The password travels in the environment only.
 * psql runs in the database container, whose image has it (the app's may not; a container in the
 * app's network namespace would be created on every run, slow on rootless vfs storage): the name
 * resolves there to the container's network address, not loopback (podman's /etc/hosts maps a
 * bridge-networked container's own name to its network addresses, libpod getHostsEntries; aardvark-dns
 * answers the same), so the connection meets pg_hba's `host all all all scram-sha-256`, the app's rule. The postgres image trusts the socket
 * and 127.0.0.1 (e2e/images/postgres-entrypoint.sh cites it): a login there passes any password.
 */
function dbLogin(db: string, appEnv: Record<string, string>): { code: number; error?: string } {
    const result = run("podman", ["exec", "--env", "PGPASSWORD", "--env", "PGCONNECT_TIMEOUT", db, "psql", "-X", "-q",
        "-h", appEnv.POSTGRES_HOST ?? db, "-p", appEnv.POSTGRES_PORT ?? "5432",
        "-U", appEnv.POSTGRES_USER ?? "postgres", "-d", appEnv.POSTGRES_DB ?? "postgres", "-c", "select 1"], {
        env: { ...process.env, PGPASSWORD: appEnv.POSTGRES_PASSWORD ?? "", PGCONNECT_TIMEOUT: "10" },
    });
    const code = result.status ?? 1;
    // psql's own words (e.g. FATAL: password authentication failed for user ...), never the password.
    return code === 0 ? { code } : { code, error: (result.stderr ?? "").trim().split("\n").pop() || undefined };
}

async function observe(settings: HealthSettings): Promise<Observation> {
    const names = observedNames(settings);
    const user = settings.scope === "user" ? ["--user"] : [];
    const containers = Object.fromEntries(names.containers.map((c) => [c, inspect(c)]));
    const healthcheck = Object.fromEntries(names.containers.filter((c) => containers[c]).map((c) => [c, run("podman", ["healthcheck", "run", c]).status ?? 1]));
    const unitDir = settings.scope === "user" ? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "systemd/user") : "/etc/systemd/system";
    const units = Object.fromEntries(names.units.map((unit) => {
        const file = join(unitDir, unit);
        return [unit, {
            enabled: run("systemctl", [...user, "is-enabled", unit]).stdout.trim() || "unknown",
            active: run("systemctl", [...user, "is-active", unit]).stdout.trim() || "unknown",
            result: run("systemctl", [...user, "show", "--property=Result", "--value", unit]).stdout.trim() || "unknown",
            content: existsSync(file) ? readFileSync(file, "utf8") : undefined,
        }];
    }));
    const app = settings.appContainer;
    const appEnv = app && containers[app]?.Config?.Env ? parseEnvLines(containers[app]!.Config!.Env!) : undefined;
    const running = app && containers[app]?.State?.Status === "running";
    return {
        containers, healthcheck, units,
        dbLogin: appEnv && containers[settings.dbContainer]?.State?.Status === "running" ? dbLogin(settings.dbContainer, appEnv) : undefined,
        http: {
            direct: app ? (running ? probeDirect(app, settings.appPort ?? 80) : { error: `${app} is not running` }) : undefined,
            proxy: settings.proxyUrl ? await probeUrl(settings.proxyUrl) : undefined,
        },
    };
}

/** Runs the alert command and posts to the webhook; a failed delivery is logged, never fatal. */
async function deliver(settings: HealthSettings, dir: string, text: string, json: string): Promise<void> {
    if (settings.alertCommand) {
        const result = spawnSync("sh", ["-c", settings.alertCommand], { input: text, encoding: "utf8", timeout: 60_000 });
        if (result.status !== 0) process.stderr.write(`health: alertCommand failed (exit ${result.status ?? result.signal}): ${(result.stderr ?? "").trim().split("\n")[0]}\n`);
    }
    const webhookPath = join(dir, webhookFile(settings.environment));
    if (existsSync(webhookPath)) {
        const url = readFileSync(webhookPath, "utf8").trim();
        try {
            const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: json, signal: AbortSignal.timeout(15_000) });
            if (!response.ok) process.stderr.write(`health: alert webhook answered HTTP ${response.status}\n`);
        } catch (error) {
            // The URL is a secret: name the file, not the URL.
            process.stderr.write(`health: alert webhook (${webhookPath}) failed: ${(error as Error).name}\n`);
        }
    }
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const host = hostname();
    const reports: EnvironmentReport[] = [];
    for (const env of args.stacks) {
        const dir = settingsDirectory(env);
        if (!dir) {
            if (args.explicit) fail(`health: the ${env} stack has no health settings on this host (${settingsFile(env)}); deploy it: npm run stack -- up ${env}`);
            continue;
        }
        const settings = JSON.parse(readFileSync(join(dir, settingsFile(env)), "utf8")) as HealthSettings;
        const report = evaluate(settings, await observe(settings));
        reports.push(report);
        if (args.alert) {
            const statePath = join(dir, stateFile(env));
            const previous = parseAlertState(existsSync(statePath) ? readFileSync(statePath, "utf8") : undefined);
            const { alert, next } = decideAlert(previous, report.ok, new Date(), settings.alertRepeatMinutes);
            if (alert) {
                const message = renderAlert(alert, report, host);
                await deliver(settings, dir, message.text, message.json);
            }
            mkdirSync(dir, { recursive: true });
            writeFileSync(statePath, JSON.stringify(next));
        }
    }
    if (reports.length === 0) fail(`health: no stack has health settings on this host; deploy one: npm run stack -- up <stack>`);
    process.stdout.write(args.json ? renderJson(reports, host) : renderTable(reports, host));
    process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
}

void main();
