import { quote } from "shell-quote";
import { PROJECT } from "./environments";

/**
 * How the reverse proxy's name of an app (its container name on the proxy network) keeps
 * answering while a deploy replaces the app container. The container keeps its one fixed
 * name, so its unit, the health check, the backups and `podman logs <name>` never change,
 * and the provider deletes it before it creates the new one. Around that gap:
 *
 * 1. Before the old container goes, a copy of it (`podman container clone`: same image,
 *    environment and volumes, no secret on a command line) starts as `<name>-standby`,
 *    carrying `<name>` as an alias on the proxy network; aardvark-dns answers a name with
 *    every address that has it (v1.4.0 src/config/mod.rs:150-157), so the proxy finds both.
 * 2. The new container is created on its internal network only. Once it passes its health
 *    gate, the gate connects it to the proxy network, where its name makes it reachable,
 *    waits until the proxy has had time to look the name up again, and stops the standby.
 *
 * A new version that fails its gate is never on the proxy network: the standby, the old
 * version, goes on serving until the next successful deploy (a rollback) retires it.
 */
export interface SwitchoverSpec {
    readonly environment: string;
    /** The app container's fixed name: the name the proxy uses. */
    readonly container: string;
    readonly proxyNetwork: string;
    /** The app's health probe, run inside a container with `sh -c` (clone does not copy a healthcheck in Podman 4.3). */
    readonly probe: string;
    /** How long the standby may take to answer before the deploy stops. */
    readonly timeoutSeconds: number;
}

/**
 * How long the proxy may keep answers it looked up: nginx's `resolver ... valid=1s` (README)
 * caches for up to two seconds, as it compares whole seconds (src/core/ngx_resolver.c:616 at
 * release-1.22.1). The switch waits this long after each change of the name's addresses
 * before it takes away the address the proxy may still hold.
 */
export const PROXY_CACHE_SECONDS = 3;

export const standbyName = (container: string) => `${container}-standby`;

/** A shell function: whether container $1 is on the proxy network ($network). */
const ON_NETWORK = `on_network() { podman inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$1" | tr ' ' '\\n' | grep -qxF "$network"; }`;

function prelude(spec: SwitchoverSpec, purpose: string): string[] {
    return [
        "#!/bin/sh",
        `# ${purpose} (Pulumi stack ${PROJECT}/${spec.environment}). Generated: do not edit.`,
        "set -eu",
        `app=${quote([spec.container])}`,
        `standby=${quote([standbyName(spec.container)])}`,
        `network=${quote([spec.proxyNetwork])}`,
        `answers() { podman exec "$1" sh -c ${quote([spec.probe])} >/dev/null 2>&1; }`,
        `running() { [ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }`,
        ON_NETWORK,
    ];
}

/** Run before a deploy replaces the app container: a standby copy of it takes over the proxy's name. */
export function renderStandbyScript(spec: SwitchoverSpec): string {
    return [
        ...prelude(spec, `Keeps ${spec.container} answering on ${spec.proxyNetwork} while the deploy replaces it`),
        // A standby left by a deploy whose new version failed its gate serves the version before: keep it.
        'if podman container exists "$standby"; then',
        '    if running "$standby" && answers "$standby"; then',
        `        echo "${PROJECT}: $standby (the version before) goes on answering as $app"`,
        "        exit 0",
        "    fi",
        '    podman rm --force --time 0 "$standby" >/dev/null',
        "fi",
        'if ! podman container exists "$app" || ! running "$app" || ! answers "$app"; then',
        `    echo "${PROJECT}: $app is not answering, so there is nothing to keep serving during this deploy"`,
        "    exit 0",
        "fi",
        'podman container clone "$app" "$standby" >/dev/null',
        // The clone has the app's networks, under its own name; on the proxy network it takes the app's. (An app
        // a deploy stopped before its gate never joined the proxy network; the standby joins it all the same.)
        'if on_network "$standby"; then podman network disconnect "$network" "$standby"; fi',
        'podman network connect --alias "$app" "$network" "$standby"',
        'podman start "$standby" >/dev/null',
        `deadline=$(( $(date +%s) + ${spec.timeoutSeconds} ))`,
        'until answers "$standby"; do',
        '    if [ "$(date +%s)" -ge "$deadline" ]; then',
        '        podman rm --force --time 0 "$standby" >/dev/null 2>&1 || true',
        `        echo "${PROJECT}: the standby copy of $app did not answer within ${spec.timeoutSeconds} s; nothing was replaced. Look: podman logs $app" >&2`,
        "        exit 1",
        "    fi",
        "    sleep 0.25",
        "done",
        // The proxy must know the standby's address before the old container's goes.
        `sleep ${PROXY_CACHE_SECONDS}`,
        `echo "${PROJECT}: $standby answers as $app on $network while $app is replaced"`,
        "",
    ].join("\n");
}

/**
 * Run by the app's health gate once the new container passed it: the new container joins
 * the proxy network (under its name), and the standby, if any, stops once the proxy can
 * have looked the name up again. Idempotent.
 */
export function renderSwitchLines(spec: SwitchoverSpec): string[] {
    return [
        `network=${quote([spec.proxyNetwork])}`,
        `standby=${quote([standbyName(spec.container)])}`,
        ON_NETWORK,
        'if ! on_network "$container"; then podman network connect "$network" "$container"; fi',
        `echo "${PROJECT}: $container answers on $network"`,
        'if podman container exists "$standby"; then',
        `    sleep ${PROXY_CACHE_SECONDS}`,
        '    podman rm --force --time 30 "$standby" >/dev/null',
        `    echo "${PROJECT}: $standby stopped"`,
        "fi",
    ];
}

/** What the stack's removal leaves: no standby of a deploy that failed. */
export function renderStandbyRemoval(spec: Pick<SwitchoverSpec, "container">): string {
    return `podman rm --force --ignore --time 30 ${quote([standbyName(spec.container)])} >/dev/null\n`;
}
