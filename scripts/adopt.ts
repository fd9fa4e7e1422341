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
 * the volumes in use, and runs `pulumi up`. Safe to run twice.
 */
import { spawnSync } from "node:child_process";
import { AdoptionPlan, Observation, ObservedContainer, OUR_UNIT_MARK, planAdoption, unitsToLookFor } from "../lib/adoption";
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

export function observe(environment: EnvironmentName, scope: SystemdScope, hasApp: boolean, exec: Executor): Observation {
    const names = environmentNames(environment);
    const containers = [names.dbContainer, ...(hasApp ? [names.appContainer] : [])].flatMap((name) => {
        const found = exec(["podman", "container", "inspect", name]);
        return found.status === 0 ? JSON.parse(found.stdout).map(fromInspect) : [];
    });
    const units = unitsToLookFor(names, hasApp).flatMap((file) => {
        const head = exec(["sh", "-c", `head -n 1 "${unitDirectory(scope)}/$1" 2>/dev/null`, "sh", file]);
        return head.status === 0 && head.stdout !== "" ? [{ file, ours: head.stdout.startsWith(OUR_UNIT_MARK) }] : [];
    });
    return { environment, containers, units };
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

function main(argv: string[]): number {
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
    const names = environmentNames(env);
    const plan = planAdoption(observe(env, scope, hasApp, local), names, hasApp);
    for (const line of plan.findings) console.log(`${PROJECT} adopt ${env}: ${line}`);
    for (const line of plan.problems) console.error(`${PROJECT} adopt ${env}: ${line}`);
    if (plan.problems.length > 0) return 1;
    const config = Object.entries(plan.config);
    console.log(`${PROJECT} adopt ${env}: plan: ${[...plan.steps.map((s) => s.kind === "backup" ? "back up" : s.kind === "disable-unit" ? `disable ${s.unit}` : `remove ${s.name}`),
        ...config.map(([k, v]) => `pulumi config set ${k} ${v}`), `npm run stack -- up ${env}`].join("; ")}`);
    if (!flags.includes("--yes")) {
        console.log(`${PROJECT} adopt ${env}: nothing changed; to do it: npm run stack -- adopt ${env}`);
        return 0;
    }
    const backupDir = option("--backup-dir");
    applySteps(plan, {
        environment: env, scope, dbContainer: names.dbContainer,
        app: hasApp ? { container: names.appContainer, volume: plan.config.appDataVolume ?? names.appVolume } : undefined,
        directory: backupDir ? `${backupDir.replace(/\/+$/, "")}/${env}` : defaultBackupDirectory(env),
        keep: 1000, maxAgeDays: 3650,
    }, local);
    // stack.sh has put the CLI on PATH and chosen the backend.
    for (const [key, value] of config) {
        if (spawnSync("pulumi", ["config", "set", "--stack", env, key, value], { stdio: "inherit" }).status !== 0) {
            console.error(`${PROJECT} adopt: pulumi config set ${key} ${value} failed; set it by hand, then: npm run stack -- up ${env}`);
            return 1;
        }
    }
    return spawnSync("pulumi", ["up", "--stack", env], { stdio: "inherit" }).status ?? 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
