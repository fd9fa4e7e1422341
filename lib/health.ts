import { appEnvProblems, parseEnvLines } from "./appEnv";
import { EnvironmentName, PROJECT, unitName } from "./environments";
import { SystemdScope, UnitFiles } from "./systemd";

/**
 * The health check's logic, pure: from what was observed on the host to named
 * checks, a report, and when to alert. The runner (scripts/health.ts) gathers the
 * observations with podman, systemctl and curl.
 */

/** What one stack deployed, as it rendered it (written to the host by components/healthCheck.ts). */
export interface HealthExpectation {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    readonly dbContainer: string;
    readonly appContainer?: string;
    /** APP_VERSION the app must report: the stack's appImageTag. */
    readonly version?: string;
    /** The app's port inside its container (the direct probe goes through `podman exec`). */
    readonly appPort?: number;
    /** The app behind the reverse proxy, e.g. http://host/rezept-tagebuch-dev/; absent: no proxy check. */
    readonly proxyUrl?: string;
    /** Unit file name to the content the stack installed. */
    readonly units: UnitFiles;
}

/** The part of `podman inspect` the checks read. */
export interface ContainerInspect {
    readonly State?: { readonly Status?: string; readonly ExitCode?: number; readonly Health?: { readonly Status?: string } };
    readonly Config?: { readonly Env?: readonly string[] };
}

export type HttpAnswer = { readonly status: number; readonly body: string } | { readonly error: string };

export interface UnitObservation {
    /** `systemctl is-enabled`: enabled, disabled, ... */
    readonly enabled: string;
    /** `systemctl is-active`: active, inactive, failed, ... */
    readonly active: string;
    /** The unit file on the host; undefined when it is missing. */
    readonly content?: string;
    /** `systemctl show --property=Result`: how its last run ended (success, exit-code, ...). */
    readonly result?: string;
}

/** What the runner saw on the host for one environment. */
export interface Observation {
    /** `podman inspect` of each expected container; undefined: no such container. */
    readonly containers: Readonly<Record<string, ContainerInspect | undefined>>;
    /** Exit code of `podman healthcheck run` per container. */
    readonly healthcheck: Readonly<Record<string, number>>;
    /** A query as the app logs in: to its POSTGRES_HOST over the network, its user and password; psql's exit code and last error line. */
    readonly dbLogin?: { readonly code: number; readonly error?: string };
    readonly http: { readonly direct?: HttpAnswer; readonly proxy?: HttpAnswer };
    readonly units: Readonly<Record<string, UnitObservation>>;
}

export interface Check {
    readonly name: string;
    readonly ok: boolean;
    /** What was seen; never a secret. */
    readonly detail: string;
    /** For a failure: the one command that fixes or investigates it. */
    readonly fix?: string;
}

export interface EnvironmentReport {
    readonly environment: EnvironmentName;
    readonly ok: boolean;
    readonly checks: readonly Check[];
}

/** The version an /api/version answer reports: a JSON field, or the plain body. */
function reportedVersion(body: string): string {
    try {
        const json = JSON.parse(body) as unknown;
        if (json && typeof json === "object") {
            const record = json as Record<string, unknown>;
            for (const key of ["version", "appVersion", "APP_VERSION"]) if (typeof record[key] === "string") return record[key] as string;
        }
        if (typeof json === "string") return json;
    } catch { /* plain text */ }
    return body.trim();
}

/** Every check of one environment, in the order an operator would look. */
export function evaluate(expected: HealthExpectation, seen: Observation): EnvironmentReport {
    const checks: Check[] = [];
    const user = expected.scope === "user" ? "--user " : "";
    const add = (name: string, ok: boolean, detail: string, fix: string) => checks.push(ok ? { name, ok, detail } : { name, ok, detail, fix });
    const up = `npm run stack -- up ${expected.environment}`;

    const containerChecks = (container: string, role: string) => {
        const inspect = seen.containers[container];
        add(`${role} ${container} exists`, inspect !== undefined, inspect ? "present" : "no such container", up);
        if (!inspect) return;
        const status = inspect.State?.Status ?? "unknown";
        add(`${role} ${container} runs`, status === "running", `${status}${status === "exited" ? ` (exit code ${inspect.State?.ExitCode})` : ""}`,
            `systemctl ${user}restart ${unitName(container)}; journalctl ${user}-u ${unitName(container)} -n 50`);
        const code = seen.healthcheck[container];
        add(`${role} ${container} healthy`, code === 0, code === undefined ? "not checked" : code === 0 ? "healthcheck passes" : `healthcheck exit code ${code}`,
            `podman logs --tail 50 ${container}; podman healthcheck run ${container}`);
    };

    containerChecks(expected.dbContainer, "database");
    if (expected.appContainer !== undefined) {
        const app = expected.appContainer;
        const login = seen.dbLogin;
        add(`database ${expected.dbContainer} accepts the app's login`, login?.code === 0,
            login === undefined ? "not checked (no app environment to log in with)" : login.code === 0 ? "login and query succeed"
                : `login failed (exit code ${login.code})${login.error ? `: ${login.error.slice(0, 200)}` : ""}`,
            `podman logs --tail 50 ${expected.dbContainer}`);
        containerChecks(app, "app");
        const probe = (label: string, answer: HttpAnswer | undefined, fix: string) => {
            if (answer === undefined) return add(label, false, "not checked", fix);
            if ("error" in answer) return add(label, false, answer.error, fix);
            const version = reportedVersion(answer.body);
            const ok = answer.status === 200 && version === expected.version;
            add(label, ok, `HTTP ${answer.status}, version ${JSON.stringify(version.slice(0, 80))}${ok ? "" : `, expected 200 and ${JSON.stringify(expected.version)}`}`,
                answer.status === 200 ? `npm run stack -- output ${expected.environment} appImageTag; ${up}` : fix);
        };
        probe(`app ${app} /api/version`, seen.http.direct, `podman logs --tail 50 ${app}`);
        if (expected.proxyUrl) {
            const url = new URL("api/version", expected.proxyUrl.endsWith("/") ? expected.proxyUrl : `${expected.proxyUrl}/`).toString();
            probe(`app ${app} /api/version via the proxy`, seen.http.proxy, `curl -sS -i ${url} (then the reverse proxy's configuration and logs)`);
        }
        const env = seen.containers[app]?.Config?.Env;
        if (env) {
            const problems = appEnvProblems(expected.environment, parseEnvLines(env), [expected.dbContainer]);
            add(`app ${app} uses the ${expected.environment} database`, problems.length === 0,
                problems.length === 0 ? `POSTGRES_HOST=${expected.dbContainer}` : problems.join("; "),
                // A refresh finds the stack's container gone and the next up creates it, once the name is free.
                `podman rm -f ${app}; npm run stack -- up ${expected.environment} --refresh`);
        }
    }

    const reinstall = `npm run stack -- up ${expected.environment} --replace 'urn:pulumi:${expected.environment}::${PROJECT}::${PROJECT}:index:BootUnits$command:local:Command::${expected.environment}-boot-install'`;
    for (const [unit, content] of Object.entries(expected.units)) {
        const state = seen.units[unit];
        if (/^\[Install\]$/m.test(content)) {
            add(`unit ${unit} enabled`, state?.enabled === "enabled", state?.enabled ?? "not checked", `systemctl ${user}enable ${unit}`);
            add(`unit ${unit} active`, state?.active === "active", state?.active ?? "not checked", `systemctl ${user}start ${unit}; journalctl ${user}-u ${unit} -n 50`);
        } else {
            // A oneshot its timer starts (the nightly backup): not enabled, inactive between runs; its last run must have succeeded.
            add(`unit ${unit} last run succeeded`, state?.result === "success", state?.result ?? "not checked", `journalctl ${user}-u ${unit} -n 50; then: systemctl ${user}start ${unit}`);
        }
        const same = state?.content === content;
        // Re-installing overwrites a hand edit; `systemctl cat` shows it first.
        add(`unit ${unit} file as deployed`, same, state?.content === undefined ? "missing" : same ? "identical" : `changed by hand (systemctl ${user}cat ${unit})`, reinstall);
    }
    return { environment: expected.environment, ok: checks.every((c) => c.ok), checks };
}

/** The names the runner must observe for an expectation: containers and units. */
export function observedNames(expected: HealthExpectation): { containers: string[]; units: string[] } {
    return {
        containers: [expected.dbContainer, ...(expected.appContainer ? [expected.appContainer] : [])],
        units: Object.keys(expected.units),
    };
}

/** One row a check, ✓/✗, and for a failure the command to run. */
export function renderTable(reports: readonly EnvironmentReport[], host: string): string {
    const lines: string[] = [];
    for (const report of reports) {
        lines.push(`${PROJECT} ${report.environment} on ${host}: ${report.ok ? "healthy" : "FAILING"}`);
        const width = Math.max(...report.checks.map((c) => c.name.length));
        for (const check of report.checks) {
            lines.push(`  ${check.ok ? "✓" : "✗"} ${check.name.padEnd(width)}  ${check.detail}`);
            if (!check.ok && check.fix) lines.push(`      fix: ${check.fix}`);
        }
    }
    return `${lines.join("\n")}\n`;
}

export function renderJson(reports: readonly EnvironmentReport[], host: string): string {
    return `${JSON.stringify({ host, ok: reports.every((r) => r.ok), environments: reports }, null, 2)}\n`;
}

/** The alert state kept between runs, per environment, in a small JSON file. */
export interface AlertState {
    readonly failing: boolean;
    /** ISO time of the last alert sent, while failing. */
    readonly lastAlertAt?: string;
}

export type AlertKind = "failing" | "reminder" | "recovered";

/**
 * Whether this run alerts: on healthy -> failing, on failing -> healthy, and while
 * it stays failing a reminder at most every `repeatMinutes`. No state: healthy.
 */
export function decideAlert(previous: AlertState | undefined, ok: boolean, now: Date, repeatMinutes: number): { alert?: AlertKind; next: AlertState } {
    const wasFailing = previous?.failing ?? false;
    if (ok) return wasFailing ? { alert: "recovered", next: { failing: false } } : { next: { failing: false } };
    if (!wasFailing) return { alert: "failing", next: { failing: true, lastAlertAt: now.toISOString() } };
    const last = previous?.lastAlertAt ? Date.parse(previous.lastAlertAt) : Number.NaN;
    if (Number.isNaN(last) || now.getTime() - last >= repeatMinutes * 60_000) {
        return { alert: "reminder", next: { failing: true, lastAlertAt: now.toISOString() } };
    }
    return { next: previous! };
}

/** Parses the state file's text; a missing or damaged file is no state (it alerts once too many rather than never). */
export function parseAlertState(text: string | undefined): AlertState | undefined {
    if (!text) return undefined;
    try {
        const value = JSON.parse(text) as AlertState;
        return typeof value.failing === "boolean" ? value : undefined;
    } catch { return undefined; }
}

/** The alert's text and webhook body: the environment, what failed, the host. */
export function renderAlert(kind: AlertKind, report: EnvironmentReport, host: string): { text: string; json: string } {
    const failed = report.checks.filter((c) => !c.ok);
    const head = kind === "recovered"
        ? `${PROJECT} ${report.environment} on ${host} recovered: all ${report.checks.length} checks pass`
        : `${PROJECT} ${report.environment} on ${host} ${kind === "reminder" ? "still failing" : "FAILING"}: ${failed.map((c) => c.name).join(", ")}`;
    const text = [head, ...failed.map((c) => `✗ ${c.name}: ${c.detail}${c.fix ? `\n  fix: ${c.fix}` : ""}`)].join("\n");
    return { text: `${text}\n`, json: JSON.stringify({ kind, environment: report.environment, host, text, failed: failed.map((c) => c.name) }) };
}
