import { renderHostScript } from "./hostScript";

/**
 * How the reverse proxy's name of an app (its container name on the proxy network) keeps
 * answering while a deploy replaces the app container. The container keeps its one fixed
 * name, so its unit, the health check, the backups and `podman logs <name>` never change,
 * and the provider deletes it before it creates the new one. Around that gap:
 *
 * 1. Before the old container goes, a copy of it (`podman container clone`: same image,
 *    environment and volumes, no secret on a command line) starts as `<name>-standby`,
 *    carrying `<name>` as an alias on the proxy network; aardvark-dns answers a name with
 *    every address that has it (v1.4.0 src/config/mod.rs:150-157), so the proxy finds both
 *    (host/standby.sh).
 * 2. The new container is created on its internal network only. Once it passes its health
 *    gate, the gate connects it to the proxy network, where its name makes it reachable,
 *    waits until the proxy has had time to look the name up again, and stops the standby
 *    (host/app-ready.sh).
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

/** The parameters of the switch in the app's health gate (host/app-ready.sh, rendered by lib/readiness.ts). */
export function switchParams(spec: SwitchoverSpec) {
    return { network: spec.proxyNetwork, standby: standbyName(spec.container), proxy_cache_seconds: PROXY_CACHE_SECONDS };
}

/** Run before a deploy replaces the app container: a standby copy of it takes over the proxy's name. */
export function renderStandbyScript(spec: SwitchoverSpec): string {
    return renderHostScript("standby.sh", {
        app: spec.container, standby: standbyName(spec.container), network: spec.proxyNetwork, probe: spec.probe,
        timeout_seconds: spec.timeoutSeconds, proxy_cache_seconds: PROXY_CACHE_SECONDS,
    });
}

/** What the stack's removal leaves: no standby of a deploy that failed. */
export function renderStandbyRemoval(spec: Pick<SwitchoverSpec, "container">): string {
    return renderHostScript("standby-remove.sh", { standby: standbyName(spec.container) });
}
