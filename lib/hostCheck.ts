import { ENVIRONMENTS, EnvironmentName } from "./environments";
import { DerivedUse, VolumeKey } from "./isolation";
import { healthScriptFile, healthUnitName, STALE_INTERVALS, stateFile } from "./healthUnits";
import { renderHostScript } from "./hostScript";
import { SystemdScope } from "./systemd";

/** What one stack needs of the host before anything of it is put there. */
export interface HostCheckSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    /** The reverse proxy's network, which the app joins and no stack owns; absent when the stack runs no app. */
    readonly proxyNetwork?: string;
    /** The stack's volumes (lib/isolation.ts stackVolumes), each with the config key that makes the stack use it; refused where another environment's. */
    readonly volumes: readonly { readonly name: string; readonly key: VolumeKey | DerivedUse }[];
    /** The stack's internal network; refused where it exists as another environment's. */
    readonly internalNetwork: string;
    /** The installed health check's period: one that has not succeeded for STALE_INTERVALS of them is reported. */
    readonly healthIntervalMinutes: number;
}

/** The label lib/ownership.ts puts on every container and network of a stack. */
const ENVIRONMENT_LABEL = "io.seaser.environment";

/** Where the checks look; the defaults are the real host's, tests point them elsewhere. */
export interface HostCheckOptions {
    /**
     * Where podman looks for aardvark-dns: containers.conf `helper_binaries_dir`, whose
     * Linux default in podman 4.3 (containers/common pkg/config/config_linux.go) is this
     * list. podman 4.3's `podman info` does not report aardvark-dns; without it netavark
     * runs containers without DNS, with only a warning.
     */
    readonly helperDirs?: readonly string[];
    /** Where the check looks for the firewall tool netavark runs (nft or iptables, in /usr/sbin on Debian). */
    readonly firewallToolDirs?: readonly string[];
    /** How long to wait for a user manager that lingering has only just started. */
    readonly managerWaitSeconds?: number;
}

export const PODMAN_HELPER_DIRS = ["/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"] as const;
export const FIREWALL_TOOL_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin"] as const;

/** Folders as one parameter, space-separated: the script splits it into words. */
function folderList(dirs: readonly string[]): string {
    for (const dir of dirs) if (/\s/.test(dir)) throw new Error(`the folder ${JSON.stringify(dir)} has white space in it, which the host check's list cannot hold`);
    return dirs.join(" ");
}

/**
 * Renders the host check (host/host-check.sh): a POSIX sh script that runs before anything of
 * the stack is created on the host. It reads only, prints one line per problem with its fix,
 * and exits non-zero if there is any. The one thing it may change is lingering, which it turns
 * on where the user may (as the install script used to), and only on a host that passes every
 * other check.
 */
export function renderHostCheck(spec: HostCheckSpec, opts: HostCheckOptions = {}): string {
    const env = spec.environment;
    return renderHostScript("host-check.sh", {
        environment: env,
        environments: ENVIRONMENTS.join(" "),
        label: ENVIRONMENT_LABEL,
        proxy_network: spec.proxyNetwork ?? "",
        volumes: spec.volumes.map(({ name, key }) => `${key} ${name}`).join("\n"),
        internal_network: spec.internalNetwork,
        helper_dirs: folderList(opts.helperDirs ?? PODMAN_HELPER_DIRS),
        firewall_tool_dirs: folderList(opts.firewallToolDirs ?? FIREWALL_TOOL_DIRS),
        manager_wait_seconds: opts.managerWaitSeconds ?? 10,
        health_script: healthScriptFile(env),
        health_state: stateFile(env),
        health_unit: healthUnitName(env),
        health_interval_minutes: spec.healthIntervalMinutes,
        health_stale_seconds: spec.healthIntervalMinutes * 60 * STALE_INTERVALS,
        scope: spec.scope,
    });
}
