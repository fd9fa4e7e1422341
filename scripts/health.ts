/**
 * npm run health -- [--stack prod|dev|test|all] [--json] [--identity FILE]
 * Runs each stack's installed check (lib/healthUnits.ts renders it, the stack's `pulumi up`
 * installs it) where it is installed: on this machine for hostConnection local, on the
 * host over SSH for ssh, trusting only the host key the stack pins. Prints its table or
 * JSON; exits 0 only when every check passes, 1 when one fails, 2 when a check could not run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { quote } from "shell-quote";
import { ConfigError, HealthConnection, healthConnection, knownHostsLine, stackFileSettings } from "../lib/config";
import { ENVIRONMENTS, EnvironmentName } from "../lib/environments";
import { healthDirectory, healthScriptFile } from "../lib/healthUnits";

const USAGE = "usage: npm run health -- [--stack prod|dev|test|all] [--json] [--identity ~/.ssh/id_ed25519]";
/** The remote command's answer when the stack's check is not installed there. */
const NOT_INSTALLED = 3;

function fail(message: string): never {
    process.stderr.write(`${message}\n`);
    process.exit(2);
}

function parseArgs(argv: string[]): { stacks: EnvironmentName[]; json: boolean; identity?: string; explicit: boolean } {
    let stack = "all";
    let json = false;
    let identity: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") json = true;
        else if (arg === "--stack" && argv[i + 1] !== undefined) stack = argv[++i];
        else if (arg.startsWith("--stack=")) stack = arg.slice("--stack=".length);
        else if (arg === "--identity" && argv[i + 1] !== undefined) identity = argv[++i];
        else fail(`health: unknown argument '${arg}'; ${USAGE}`);
    }
    if (stack !== "all" && !(ENVIRONMENTS as readonly string[]).includes(stack)) fail(`health: --stack '${stack}' is not prod, dev, test or all; ${USAGE}`);
    if (identity !== undefined && !existsSync(identity)) fail(`health: --identity ${identity} does not exist; give the private key that logs in to the stack's sshUser`);
    return { stacks: stack === "all" ? [...ENVIRONMENTS] : [stack as EnvironmentName], json, identity, explicit: stack !== "all" };
}

/** The stack's connection, from its stack file beside Pulumi.yaml (as `pulumi config` keeps it). */
function connectionOf(env: EnvironmentName): HealthConnection {
    const file = join(process.cwd(), `Pulumi.${env}.yaml`);
    const settings = existsSync(file) ? stackFileSettings(parseYaml(readFileSync(file, "utf8"))?.config ?? {}) : {};
    try {
        return healthConnection(env, settings);
    } catch (error) {
        if (error instanceof ConfigError) fail(error.problems.map((problem) => `health: ${env}: ${problem}`).join("\n"));
        throw error;
    }
}

/** Runs the installed check: `sh <script> [--json]`, or NOT_INSTALLED where the stack has none. */
function runCheck(env: EnvironmentName, connection: HealthConnection, json: boolean, identity?: string) {
    const script = `${healthDirectory(connection.scope)}/${healthScriptFile(env)}`;
    const remote = `script="${script}"; [ -f "$script" ] || exit ${NOT_INSTALLED}; exec sh "$script"${json ? " --json" : ""}`;
    if (connection.kind === "local") return spawnSync("sh", ["-c", remote], { encoding: "utf8", timeout: 600_000 });
    const dir = mkdtempSync(join(tmpdir(), "rezept-health-"));
    try {
        const knownHosts = join(dir, "known_hosts");
        writeFileSync(knownHosts, knownHostsLine(connection), { mode: 0o600 });
        return spawnSync("ssh", [
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "ConnectTimeout=15",
            ...(identity ? ["-o", "IdentitiesOnly=yes", "-i", identity] : []),
            "-p", String(connection.port), `${connection.user}@${connection.host}`, quote(["sh", "-c", remote]),
        ], { encoding: "utf8", timeout: 600_000 });
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function main(): void {
    const args = parseArgs(process.argv.slice(2));
    const outputs: string[] = [];
    let worst = 0;
    for (const env of args.stacks) {
        const connection = connectionOf(env);
        const where = connection.kind === "ssh" ? `${connection.user}@${connection.host}` : "this host";
        const result = runCheck(env, connection, args.json, args.identity);
        if (result.error) fail(`health: ${env}: ${result.error.message}`);
        if (result.status === NOT_INSTALLED) {
            if (args.explicit) fail(`health: the ${env} stack has no health check on ${where} (${healthScriptFile(env)}); deploy it: npm run stack -- up ${env}`);
            continue;
        }
        if (result.status === 255 && connection.kind === "ssh") fail(`health: ${env}: ssh to ${where} port ${connection.port} failed: ${result.stderr.trim().split("\n").pop()}`);
        process.stderr.write(result.stderr);
        outputs.push(result.stdout);
        worst = Math.max(worst, result.status ?? 2);
    }
    if (outputs.length === 0) fail("health: no stack has a health check on its host; deploy one: npm run stack -- up <stack>");
    if (args.json) {
        // One document: each check's `--json` is one host and one environment.
        const docs = outputs.map((text) => JSON.parse(text) as { host: string; ok: boolean; environments: { environment: string }[] });
        const environments = docs.flatMap((doc) => doc.environments.map((e) => ({ ...e, host: doc.host })));
        process.stdout.write(`${JSON.stringify({ host: docs[0].host, ok: docs.every((doc) => doc.ok), environments }, null, 2)}\n`);
    } else {
        process.stdout.write(outputs.join(""));
    }
    process.exitCode = worst;
}

main();
