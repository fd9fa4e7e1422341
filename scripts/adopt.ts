/**
 * Hands the containers an operator made by hand over to a stack. On the Podman host,
 * as the user that runs the containers:
 *   npm run adopt -- prod|dev|test [--backup-dir DIR] [--scope user|system]
 * looks at what runs under the stack's names and prints what it found and what it
 * would do, changing nothing;
 *   npm run stack -- adopt prod|dev|test
 * (which runs this with --yes, once stack.sh has the CLI, backend and passphrase
 * ready) takes a backup, disables units that would recreate the old containers,
 * removes those containers (never their volumes), sets the stack's config to import
 * the volumes that exist and create the others, and runs `pulumi up`. Before the first
 * of those steps it checks the plan: the volumes against the host, and the whole stack
 * with `pulumi preview` of the new config (see `preflight`). Safe to run twice.
 */
import { spawnSync } from "node:child_process";
import {
    AdoptionPlan, Observation, ObservedContainer, ObservedVolume, OUR_UNIT_MARK, planAdoption, unitsToLookFor, volumeProblems, volumesToLookFor,
} from "../lib/adoption";
import { BackupSpec, defaultBackupDirectory, renderBackupScript } from "../lib/backup";
import { ENVIRONMENTS, EnvironmentName, environmentNames, PROJECT } from "../lib/environments";
import { SystemdScope, unitDirectory } from "../lib/systemd";

export interface Executed { status: number | null; stdout: string; stderr: string }
/** Runs a command on the host: locally here, inside the test host in the e2e suite. */
export type Executor = (args: string[], input?: string) => Executed;

const local: Executor = (args, input) => {
    const result = spawnSync(args[0], args.slice(1), { encoding: "utf8", input });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? String(result.error ?? "") };
};

/** Only POSTGRES_HOST and DEV_MODE are taken from a container's environment: the rest may hold the password. */
function fromInspect(json: any): ObservedContainer {
    const env = new Map<string, string>((json.Config?.Env ?? []).map((line: string) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
    return {
        name: String(json.Name).replace(/^\//, ""),
        image: json.ImageName ?? json.Config?.Image ?? "",
        running: json.State?.Running === true,
        labels: json.Config?.Labels ?? {},
        postgresHost: env.get("POSTGRES_HOST"),
        devMode: env.get("DEV_MODE"),
        mounts: (json.Mounts ?? []).map((m: any) => ({ volume: m.Type === "volume" ? m.Name : undefined, source: m.Source, destination: m.Destination })),
    };
}

/** A command whose answer says nothing about the host (podman missing, its service down, an error): adoption stops. */
export class HostError extends Error {
    constructor(args: string[], result: Executed) {
        super(`${PROJECT} adopt: cannot tell what the host has: ${args.join(" ")} exited with ${result.status ?? "no status (not run)"}: ${result.stderr.trim() || result.stdout.trim() || "no output"}`);
        this.name = "HostError";
    }
}

/**
 * Whether a container or volume exists: `podman container exists` and `podman volume exists`
 * exit 0 when it does and 1 when it does not (registry.SetExitCode(1): cmd/podman/containers/
 * exists.go:48-49, cmd/podman/volumes/exists.go:35 at v4.3.1); anything else, 125 for an error
 * (podman's default), or no status when podman cannot be run, is no answer.
 */
function exists(exec: Executor, kind: "container" | "volume", name: string): boolean {
    const args = ["podman", kind, "exists", name];
    const result = exec(args);
    if (result.status === 0 || result.status === 1) return result.status === 0;
    throw new HostError(args, result);
}

function inspectJson(exec: Executor, kind: "container" | "volume", name: string): any[] {
    const args = ["podman", kind, "inspect", name];
    const result = exec(args);
    if (result.status !== 0) throw new HostError(args, result);
    return JSON.parse(result.stdout);
}

/** Looks at the host; throws HostError when podman does not answer what is there. */
export function observe(environment: EnvironmentName, scope: SystemdScope, hasApp: boolean, exec: Executor): Observation {
    const names = environmentNames(environment);
    const containers: ObservedContainer[] = [names.dbContainer, ...(hasApp ? [names.appContainer] : [])]
        .flatMap((name) => exists(exec, "container", name) ? inspectJson(exec, "container", name).map(fromInspect) : []);
    const mounted = containers.flatMap((c) => c.mounts.flatMap((m) => m.volume ? [m.volume] : []));
    const volumes: ObservedVolume[] = [...new Set([...mounted, ...volumesToLookFor(names, hasApp)])].flatMap((name) =>
        exists(exec, "volume", name) ? inspectJson(exec, "volume", name).map((v: any) => ({ name: v.Name, anonymous: v.Anonymous === true })) : []);
    const units = unitsToLookFor(names, hasApp).flatMap((file) => {
        const head = exec(["sh", "-c", `head -n 1 "${unitDirectory(scope)}/$1" 2>/dev/null`, "sh", file]);
        return head.status === 0 && head.stdout !== "" ? [{ file, ours: head.stdout.startsWith(OUR_UNIT_MARK) }] : [];
    });
    return { environment, containers, units, volumes };
}

/** Runs the Pulumi CLI (stack.sh has put it on PATH and chosen the backend); returns its exit status. */
export type Pulumi = (args: string[]) => { status: number | null; stdout: string };
const pulumiCli: Pulumi = (args) => {
    // `config get` is read, the rest shown to the operator as it runs.
    const read = args[0] === "config" && args[1] === "get";
    const result = spawnSync("pulumi", args, { encoding: "utf8", stdio: read ? ["inherit", "pipe", "inherit"] : "inherit" });
    return { status: result.status, stdout: result.stdout ?? "" };
};

/**
 * Everything that can be known before the first step changes the host, so a plan that
 * cannot work stops with the old containers still running:
 * - each volume to import still exists, each to create still does not (`volumeProblems`);
 * - the stack's config set to the plan's (old values kept), then `pulumi preview` with the
 *   policy pack: it runs the whole program (every config check, the isolation refusals),
 *   the policies, and reads each volume to import, since the engine's ImportStep calls the
 *   provider's Read in a preview as in an update (pulumi/pulumi pkg/resource/deploy/step.go:1863,
 *   "does not exist" at 1884-1889, v3.248.0). What a preview cannot see, a container create
 *   refused by Podman, is left to `up`, which then fails with the old containers gone and the
 *   backup taken. A failed preview puts the old config back.
 * Returns the problems; empty when the steps may start.
 */
export function preflight(env: EnvironmentName, plan: AdoptionPlan, exec: Executor, pulumi: Pulumi): string[] {
    const problems = volumeProblems(plan, (name) => exists(exec, "volume", name));
    if (problems.length > 0) return problems;
    const previous = new Map<string, string | undefined>();
    const putBack = (what: string) => {
        for (const [key, old] of previous) {
            pulumi(old === undefined ? ["config", "rm", "--stack", env, key] : ["config", "set", "--stack", env, key, old]);
        }
        return [`${what} failed (above); the stack's config was put back and nothing on the host was changed; fix what it says, then run this again`];
    };
    for (const [key, value] of Object.entries(plan.config)) {
        const old = pulumi(["config", "get", "--stack", env, key]);
        previous.set(key, old.status === 0 ? old.stdout.replace(/\n$/, "") : undefined);
        if (pulumi(["config", "set", "--stack", env, key, value]).status !== 0) return putBack(`pulumi config set --stack ${env} ${key} ${value}`);
    }
    if (pulumi(["preview", "--stack", env, "--policy-pack", "policy"]).status === 0) return [];
    return putBack(`pulumi preview --stack ${env} with the adoption's config`);
}

/**
 * The backup before the old containers go: the database, and the uploads where there are
 * any to keep (an uploads volume the plan imports; exporting one that does not exist would
 * fail the backup). Kept apart from the nightly rotation: never deleted by it.
 */
export function adoptionBackup(env: EnvironmentName, scope: SystemdScope, plan: AdoptionPlan, backupDir?: string): BackupSpec {
    const names = environmentNames(env);
    const uploads = plan.volumes.find((v) => v.key === "appDataVolume" && v.action === "import");
    return {
        environment: env, scope, dbContainer: names.dbContainer,
        app: uploads && { container: names.appContainer, volume: uploads.name },
        directory: backupDir ? `${backupDir.replace(/\/+$/, "")}/${env}` : defaultBackupDirectory(env),
        keep: 1000, maxAgeDays: 3650,
    };
}

/** Carries out the steps before the hand-over; throws, naming the step, at the first that fails. */
export function applySteps(plan: AdoptionPlan, backup: BackupSpec, exec: Executor): void {
    const must = (what: string, args: string[]) => {
        const result = exec(args);
        if (result.status !== 0) throw new Error(`${PROJECT} adopt: ${what} failed:\n${result.stdout}${result.stderr}`);
        return result.stdout;
    };
    const systemctl = backup.scope === "user" ? ["systemctl", "--user"] : ["systemctl"];
    for (const step of plan.steps) {
        if (step.kind === "backup") {
            process.stdout.write(must("the backup", ["sh", "-c", renderBackupScript(backup)]));
        } else if (step.kind === "disable-unit") {
            must(`disabling ${step.unit}`, [...systemctl, "disable", "--now", step.unit]);
            // Set aside, not deleted: the operator may want to read it; the stack writes its own under the name.
            must(`setting ${step.unit} aside`, ["sh", "-c", `mv "${unitDirectory(backup.scope)}/$1" "${unitDirectory(backup.scope)}/$1.pre-adoption"`, "sh", step.unit]);
            must("systemctl daemon-reload", [...systemctl, "daemon-reload"]);
            console.log(`${PROJECT} adopt: disabled ${step.unit}, kept as ${step.unit}.pre-adoption`);
        } else {
            must(`stopping ${step.name}`, ["podman", "stop", "--time", "30", step.name]);
            must(`removing ${step.name}`, ["podman", "rm", step.name]);
            console.log(`${PROJECT} adopt: removed the container ${step.name}; its volumes stay`);
        }
    }
}

export function main(argv: string[], exec: Executor = local, pulumi: Pulumi = pulumiCli): number {
    const [environment, ...flags] = argv;
    const usage = `usage: npm run adopt -- ${ENVIRONMENTS.join("|")} [--yes] [--backup-dir DIR] [--scope user|system] [--no-app]`;
    if (!(ENVIRONMENTS as readonly string[]).includes(environment)) {
        console.error(`${PROJECT} adopt: ${environment === undefined ? "name the stack" : `unknown stack '${environment}'`}\n${usage}`);
        return 2;
    }
    const env = environment as EnvironmentName;
    const option = (name: string) => { const i = flags.indexOf(name); return i >= 0 ? flags[i + 1] : undefined; };
    const scope = (option("--scope") ?? "user") as SystemdScope;
    if (scope !== "user" && scope !== "system") { console.error(`${PROJECT} adopt: --scope must be user or system\n${usage}`); return 2; }
    const hasApp = !flags.includes("--no-app") && env !== "test";
    try {
        return adopt(env, scope, hasApp, flags.includes("--yes"), option("--backup-dir"), exec, pulumi);
    } catch (error) {
        if (!(error instanceof HostError)) throw error;
        console.error(`${error.message}\nnothing was changed; fix podman (podman info shows what it says), then run this again`);
        return 1;
    }
}

function adopt(env: EnvironmentName, scope: SystemdScope, hasApp: boolean, yes: boolean, backupDir: string | undefined, exec: Executor, pulumi: Pulumi): number {
    const plan = planAdoption(observe(env, scope, hasApp, exec), environmentNames(env), hasApp);
    for (const line of plan.findings) console.log(`${PROJECT} adopt ${env}: ${line}`);
    for (const line of plan.problems) console.error(`${PROJECT} adopt ${env}: ${line}`);
    if (plan.problems.length > 0) return 1;
    const config = Object.entries(plan.config);
    console.log(`${PROJECT} adopt ${env}: plan: ${[...plan.steps.map((s) => s.kind === "backup" ? "back up" : s.kind === "disable-unit" ? `disable ${s.unit}` : `remove ${s.name}`),
        ...config.map(([k, v]) => `npm run stack -- config ${env} set ${k} ${v}`), `npm run stack -- up ${env}`].join("; ")}`);
    if (!yes) {
        console.log(`${PROJECT} adopt ${env}: nothing changed; to do it: npm run stack -- adopt ${env}`);
        return 0;
    }
    // Nothing to change before `up` (which previews itself): nothing to check first.
    const problems = plan.steps.length > 0 ? preflight(env, plan, exec, pulumi) : [];
    for (const line of problems) console.error(`${PROJECT} adopt ${env}: ${line}`);
    if (problems.length > 0) return 1;
    applySteps(plan, adoptionBackup(env, scope, plan, backupDir), exec);
    return pulumi(["up", "--stack", env, "--policy-pack", "policy"]).status ?? 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
