import { quote } from "shell-quote";
import { EnvironmentName, PROJECT } from "./environments";
import { HealthExpectation } from "./health";
import { scriptPrelude, SystemdScope } from "./systemd";

/** What the installed check knows: the stack's expectation and its alert settings (no secret: the webhook URL is apart). */
export interface HealthSettings extends HealthExpectation {
    readonly alertCommand?: string;
    readonly alertRepeatMinutes: number;
}

/** How the host runs the check: the project's own runner, from the checkout `pulumi up` ran in. */
export interface HealthInstallSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    readonly intervalMinutes: number;
    /** The node binary and the checkout that deployed the stack (Pulumi runs on the host: hostConnection local). */
    readonly nodePath: string;
    readonly projectDir: string;
    readonly settings: HealthSettings;
}

/** Where the settings, the webhook file (0600) and the alert state live; `$HOME` is expanded by the script. */
export function healthDirectory(scope: SystemdScope): string {
    return scope === "user" ? `\${XDG_CONFIG_HOME:-$HOME/.config}/${PROJECT}` : `/etc/${PROJECT}`;
}

export const healthUnitName = (env: EnvironmentName) => `${PROJECT}-health-${env}`;
export const settingsFile = (env: EnvironmentName) => `health-${env}.json`;
export const webhookFile = (env: EnvironmentName) => `health-${env}.webhook`;
export const stateFile = (env: EnvironmentName) => `health-${env}.state.json`;

/** A path in a unit's command line: systemd expands `%` and splits on spaces. */
function unitPath(path: string): string {
    if (/["\\\n$]/.test(path)) throw new Error(`path ${JSON.stringify(path)} cannot go into a systemd unit (quotes, backslashes, newlines or $); move the checkout`);
    const escaped = path.replace(/%/g, "%%");
    return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

/** The oneshot service the timer starts: the operator's `npm run health` for this stack, sending alerts. */
export function renderHealthService(spec: HealthInstallSpec): string {
    const tsNode = `${spec.projectDir}/node_modules/ts-node/dist/bin.js`;
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${spec.environment} health check (npm run health -- --stack ${spec.environment})`,
        "",
        "[Service]",
        "Type=oneshot",
        `WorkingDirectory=${unitPath(spec.projectDir)}`,
        `ExecStart=${unitPath(spec.nodePath)} ${unitPath(tsNode)} --transpile-only scripts/health.ts --stack ${spec.environment} --alert`,
        // A failing check fails the unit (seen in systemctl --failed); the timer runs it again regardless.
        "TimeoutStartSec=300",
        "",
    ].join("\n");
}

/** Every `intervalMinutes`, and after a boot that missed a run (Persistent=true needs OnCalendar). */
export function renderHealthTimer(spec: HealthInstallSpec): string {
    const minutes = spec.intervalMinutes;
    return [
        `# Installed by the Pulumi stack ${PROJECT}/${spec.environment}; pulumi up overwrites it.`,
        "[Unit]",
        `Description=Rezept-Tagebuch ${spec.environment} health check every ${minutes} min`,
        "",
        "[Timer]",
        `OnCalendar=${minutes === 60 ? "hourly" : `*:0/${minutes}`}`,
        "Persistent=true",
        "AccuracySec=10s",
        `Unit=${healthUnitName(spec.environment)}.service`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

/**
 * Installs the check: service, timer and settings written atomically; the webhook
 * URL read from stdin into a 0600 file (never a unit, a script or a command line);
 * the timer enabled and started.
 */
export function renderHealthInstallScript(spec: HealthInstallSpec): string {
    const unit = healthUnitName(spec.environment);
    const files: [string, string][] = [
        [`"$unit_dir"/${unit}.service`, renderHealthService(spec)],
        [`"$unit_dir"/${unit}.timer`, renderHealthTimer(spec)],
        [`"$health_dir"/${settingsFile(spec.environment)}`, `${JSON.stringify(spec.settings, null, 2)}\n`],
    ];
    return [
        ...scriptPrelude(spec, "Installs the health check of"),
        `health_dir="${healthDirectory(spec.scope)}"`,
        'mkdir -p "$unit_dir" "$health_dir"',
        "write_file() {",
        '    tmp="$1.tmp.$$"',
        "    printf '%s' \"$2\" > \"$tmp\"",
        '    mv -f "$tmp" "$1"',
        "}",
        ...files.map(([path, content]) => `write_file ${path} ${quote([content])}`),
        "umask 077",
        "webhook=$(cat)",
        `if [ -n "$webhook" ]; then write_file "$health_dir"/${webhookFile(spec.environment)} "$webhook"; else rm -f "$health_dir"/${webhookFile(spec.environment)}; fi`,
        "reload",
        `unit_ctl ${unit}.timer enable`,
        `unit_ctl ${unit}.timer restart`,
        `echo "${PROJECT}: installed ${unit}.timer (every ${spec.intervalMinutes} min)"`,
        "",
    ].join("\n");
}

/** Removes the check of this stack: timer, service, settings, webhook file and alert state. */
export function renderHealthRemoveScript(spec: Pick<HealthInstallSpec, "environment" | "scope">): string {
    const unit = healthUnitName(spec.environment);
    const env = spec.environment;
    return [
        ...scriptPrelude(spec, "Removes the health check of"),
        `health_dir="${healthDirectory(spec.scope)}"`,
        `if [ -e "$unit_dir"/${unit}.timer ]; then unit_ctl ${unit}.timer disable --now; fi`,
        `rm -f "$unit_dir"/${unit}.timer "$unit_dir"/${unit}.service "$health_dir"/${settingsFile(env)} "$health_dir"/${webhookFile(env)} "$health_dir"/${stateFile(env)}`,
        "reload",
        `echo "${PROJECT}: removed ${unit}.timer"`,
        "",
    ].join("\n");
}
