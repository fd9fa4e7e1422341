import { EnvironmentName, unitName } from "./environments";
import { deployWindowFile } from "./healthUnits";
import { renderHostScript } from "./hostScript";
import { SwitchoverSpec, switchParams } from "./switchover";
import { SystemdScope } from "./systemd";

/** A container that `pulumi up` has just created, and how long the update waits for it. */
export interface ReadinessSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    readonly container: string;
    /** How long to wait for its healthcheck to pass before the update fails. */
    readonly timeoutSeconds: number;
    /** What the operator runs to go back, named in the failure message. */
    readonly rollback: string;
}

/** The parameters of host/lib/health-gate.sh: waits, bounded, until the container's healthcheck passes. */
function gateParams(spec: ReadinessSpec) {
    return {
        container: spec.container, unit: unitName(spec.container), timeout_seconds: spec.timeoutSeconds, rollback: spec.rollback, scope: spec.scope,
        window_file: deployWindowFile(spec.environment),
    };
}

/**
 * The script `pulumi up` runs after creating an app container (host/app-ready.sh): it succeeds once the app is
 * healthy, and only then switches the proxy's name to it (lib/switchover.ts), where `switchover` is given.
 */
export function renderAppReadyScript(spec: ReadinessSpec, switchover?: SwitchoverSpec): string {
    return renderHostScript("app-ready.sh", { ...gateParams(spec), ...(switchover ? switchParams(switchover) : { network: "", standby: "", proxy_cache_seconds: "" }) });
}

/** The script `pulumi up` runs after creating a database container (host/database-ready.sh): healthy, then the configured password set. */
export function renderDatabaseReadyScript(spec: ReadinessSpec): string {
    return renderHostScript("database-ready.sh", gateParams(spec));
}
