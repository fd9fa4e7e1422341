import { quote } from "shell-quote";
import { ENVIRONMENTS, EnvironmentName, PROJECT } from "./environments";
import { VolumeKey } from "./isolation";
import { healthDirectory, healthScriptFile, healthUnitName, STALE_INTERVALS, stateFile } from "./healthUnits";
import { SystemdScope } from "./systemd";

/** What one stack needs of the host before anything of it is put there. */
export interface HostCheckSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    /** The reverse proxy's network, which the app joins and no stack owns; absent when the stack runs no app. */
    readonly proxyNetwork?: string;
    /** The stack's data volumes, each with the config key that names it; refused where another environment's. */
    readonly volumes: readonly { readonly name: string; readonly key: VolumeKey }[];
    /** The stack's internal network; refused where it exists as another environment's. */
    readonly internalNetwork: string;
    /** The installed health check's period: one that has not succeeded for STALE_INTERVALS of them is reported. */
    readonly healthIntervalMinutes: number;
}

/** The label lib/ownership.ts puts on every container and network of a stack. */
const ENVIRONMENT_LABEL = "io.seaser.environment";
const LABEL_FORMAT = `{{index .Labels "${ENVIRONMENT_LABEL}"}}`;

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

/**
 * The line the host check prints about what the host's Podman gives the stack, as sh text over
 * $version (and $network_cmd in the user scope); script lines. The units are the same on every version
 * (docs/podman5.md): the app waits for a healthy database by running `podman healthcheck run`,
 * whose exit code is 0 only for healthy on 4.3 and 5.4 (cmd/podman/healthcheck/run.go:38 at v4.3.1,
 * also "starting" is non-zero at v5.4.2); DefaultDependencies=no is needed before 4.4 (podman#14531:
 * v4.3.1 stops the healthcheck timer with job mode "fail", libpod/healthcheck_linux.go:103, v5.4.2
 * with "ignore-dependencies", :132) and harmless after.
 */
function hostMechanisms(user: boolean): string[] {
    const mechanisms = [
        "podman ${version:-(version unknown)}",
        ...(user ? ["rootless networks through $network_cmd"] : []),
        "database readiness by podman healthcheck run",
        "shutdown ordering DefaultDependencies=no ($shutdown_ordering)",
    ];
    return [
        'case "$version" in',
        '    "") shutdown_ordering="needed before podman 4.4, podman#14531";;',
        '    [0-3].*|4.[0-3].*) shutdown_ordering="needed: podman#14531";;',
        '    *) shutdown_ordering="kept, not needed since podman 4.4";;',
        "esac",
        `echo "${PROJECT}: host: ${mechanisms.join("; ")}"`,
    ];
}

/**
 * Renders the host check: a POSIX sh script that runs before anything of the stack
 * is created on the host. It reads only, prints one line per problem with its fix,
 * and exits non-zero if there is any. The one thing it may change is lingering,
 * which it turns on where the user may (as the install script used to), and only
 * on a host that passes every other check.
 */
export function renderHostCheck(spec: HostCheckSpec, opts: HostCheckOptions = {}): string {
    const user = spec.scope === "user";
    const systemctl = user ? "systemctl --user" : "systemctl";
    const helperDirs = opts.helperDirs ?? PODMAN_HELPER_DIRS;
    const toolDirs = opts.firewallToolDirs ?? FIREWALL_TOOL_DIRS;
    const waitSeconds = opts.managerWaitSeconds ?? 10;
    const proxy = spec.proxyNetwork;
    const env = spec.environment;
    // Only the project's environment names count as an owner: a label of some other tool's is no claim.
    const others = ENVIRONMENTS.filter((other) => other !== env).join("|");
    return [
        "#!/bin/sh",
        `# Checks the host before the Pulumi stack ${PROJECT}/${spec.environment} puts anything on it. Generated: do not edit.`,
        "set -u",
        ...(user ? ['XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"', "export XDG_RUNTIME_DIR"] : []),
        "problems=0",
        `problem() { echo "${PROJECT}: host check: $1" >&2; problems=$((problems + 1)); }`,
        "",
        // CNI (kept by hosts set up under Podman 3) gives an internal network no DNS: POSTGRES_HOST would not resolve.
        "backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) || backend=\"\"",
        'if [ "$backend" != netavark ]; then',
        '    problem "podman\'s network backend is ${backend:-unknown (podman info failed)}, not netavark, so the internal networks have no DNS and the app cannot resolve its database; ' +
            'fix: apt-get install netavark aardvark-dns, set network_backend = \\"netavark\\" in the [network] table of containers.conf, then create the networks again (they do not carry over, see podman-network(1))"',
        "fi",
        // Podman's helpers and netavark's firewall tools are outside a user's PATH on Debian: looked for by directory.
        "# first_exe NAME DIR...: the first DIR/NAME that is executable, or nothing.",
        'first_exe() { name=$1; shift; for dir in "$@"; do if [ -x "$dir/$name" ]; then echo "$dir/$name"; return; fi; done; }',
        `if [ -z "$(first_exe aardvark-dns ${quote([...helperDirs])})" ]; then`,
        `    problem "aardvark-dns is not installed (looked in ${helperDirs.join(" ")}), so netavark gives the networks no DNS and the app cannot resolve its database; fix: apt-get install aardvark-dns"`,
        "fi",
        // netavark sets up each network's firewall, rootless too (inside the rootless network namespace), with
        // the driver it was built for unless containers.conf firewall_driver says otherwise (netavark
        // src/firewall/mod.rs:55-101, build.rs:66-79 at v1.14.0: iptables unless NETAVARK_DEFAULT_FW).
        // Debian 13's is built for nftables, and without nft every container start fails ("unable to
        // execute nft"); Debian 12's 1.4 has no such build setting and runs iptables. `netavark version`
        // names the default from 1.14 (src/commands/version.rs:15).
        "firewall=\"\"",
        `netavark=$(first_exe netavark ${quote([...helperDirs])})`,
        'if [ -n "$netavark" ]; then',
        `    firewall=$("$netavark" version 2>/dev/null | sed -n 's/.*"default_fw_driver": *"\\([a-z]*\\)".*/\\1/p')`,
        '    firewall=${firewall:-iptables}',
        "fi",
        'case "$firewall" in',
        "    nftables) firewall_tool=nft; firewall_package=nftables;;",
        "    iptables) firewall_tool=iptables; firewall_package=iptables;;",
        '    *) firewall_tool="";;',
        "esac",
        `if [ -n "$firewall_tool" ] && [ -z "$(first_exe "$firewall_tool" ${quote([...toolDirs])})" ]; then`,
        '    problem "netavark sets up the firewall of the networks with $firewall_tool (its default driver, $firewall), which is not installed, so every container start fails; fix: apt-get install $firewall_package"',
        "fi",
        // What this host's Podman is, and the mechanisms it gets from it (docs/podman5.md): one design on
        // every version, so this only says which; the one thing to refuse is a rootless network command
        // that is not installed.
        "version=$(podman version --format '{{.Client.Version}}' 2>/dev/null) || version=\"\"",
        ...(user ? [
            // Podman 5 runs rootless networks through containers.conf default_rootless_network_cmd, "pasta" unless
            // set (containers/common pkg/config/default.go:261, libnetwork/internal/rootlessnetns/netns_linux.go:158-164,
            // vendored in podman v5.4.2; `podman info` reports it, libpod/info.go:129). Podman 4 has no such field
            // (the template fails) and only slirp4netns. `podman info` reports each executable only where it is
            // found (libpod/info_linux.go:64-90 at v5.4.2, :57-73 at v4.3.1).
            "network_cmd=$(podman info --format '{{.Host.RootlessNetworkCmd}}' 2>/dev/null) || network_cmd=\"\"",
            'case "$network_cmd" in',
            "    pasta) network_exe=$(podman info --format '{{.Host.Pasta.Executable}}' 2>/dev/null) || network_exe=\"\"; network_package=passt;;",
            "    *) network_cmd=slirp4netns; network_exe=$(podman info --format '{{.Host.Slirp4NetNS.Executable}}' 2>/dev/null) || network_exe=\"\"; network_package=slirp4netns;;",
            "esac",
            'if [ -z "$network_exe" ]; then',
            '    problem "podman ${version:-(version unknown)} runs rootless networks through $network_cmd, which is not installed, so no container of the stack can start on its networks; fix: apt-get install $network_package"',
            "fi",
        ] : []),
        ...(proxy === undefined ? [] : [
            `if ! podman network exists ${quote([proxy])} >/dev/null 2>&1; then`,
            `    problem "the reverse proxy's network ${proxy} (config proxyNetwork) does not exist, so the app container cannot be created; ` +
                `fix: podman network create ${quote([proxy])}, or npm run stack -- config ${env} set proxyNetwork <the proxy's network>"`,
            "else",
            `    owner=$(podman network inspect --format '${LABEL_FORMAT}' ${quote([proxy])} 2>/dev/null) || owner=""`,
            `    case "$owner" in ${ENVIRONMENTS.join("|")}) problem "the reverse proxy's network ${proxy} (config proxyNetwork) is labelled ${ENVIRONMENT_LABEL}=$owner, the $owner environment's internal network, so the ${env} app would join a database network; ` +
                `fix: npm run stack -- config ${env} set proxyNetwork <the reverse proxy's network>";; esac`,
            "fi",
        ]),
        // Environment isolation on the host: what the config check (lib/config.ts) cannot know by name.
        // The stacks label their containers and networks (lib/ownership.ts) but not their volumes (an
        // import must match the unlabelled volumes already there, components/hostResources.ts), so a
        // volume is another environment's when it carries that label or a container of that
        // environment mounts it (podman ps --filter volume=<name> matches named volumes by name:
        // containers/podman pkg/domain/filters/containers.go, case "volume").
        ...spec.volumes.flatMap(({ name, key }) => [
            `owner=$(podman volume inspect --format '${LABEL_FORMAT}' ${quote([name])} 2>/dev/null) || owner=""`,
            `case "$owner" in ${others}) problem "the volume ${name} (config ${key}) is labelled ${ENVIRONMENT_LABEL}=$owner, so the ${env} stack would use the $owner environment's data; ` +
                `fix: npm run stack -- config ${env} set ${key} <a volume of ${env}'s own>, or npm run stack -- config ${env} rm ${key}";; esac`,
            `users=$(podman ps -a --filter volume=${quote([name])} --format '{{.Names}}:${LABEL_FORMAT}' 2>/dev/null) || users=""`,
            "for user in $users; do",
            `    case "\${user#*:}" in ${others}) problem "the volume ${name} (config ${key}) is mounted by \${user%%:*} of the \${user#*:} environment, so the ${env} stack would use its data; ` +
                `fix: npm run stack -- config ${env} set ${key} <a volume of ${env}'s own>, or npm run stack -- config ${env} rm ${key}";; esac`,
            "done",
        ]),
        `owner=$(podman network inspect --format '${LABEL_FORMAT}' ${quote([spec.internalNetwork])} 2>/dev/null) || owner=""`,
        `case "$owner" in ${others}) problem "the network ${spec.internalNetwork}, the ${env} internal network, exists labelled ${ENVIRONMENT_LABEL}=$owner, so the ${env} database would join the $owner environment's network; ` +
            `fix: see what uses it (podman ps -a --filter network=${quote([spec.internalNetwork])}) and remove it once nothing does (podman network rm ${quote([spec.internalNetwork])}); the stack creates its own";; esac`,
        ...(user ? [
            // Without lingering the user's units neither start at boot nor survive the last logout.
            "me=$(id -un)",
            'linger=$(loginctl show-user "$me" --property=Linger --value 2>/dev/null) || linger=""',
            'if [ "$linger" != yes ]; then',
            '    if [ "$problems" -ne 0 ] || ! loginctl enable-linger "$me" >/dev/null 2>&1; then',
            '        problem "lingering is off for $me, so its units would not start at boot and would stop at its last logout; fix: sudo loginctl enable-linger $me"',
            "    fi",
            "fi",
        ] : []),
        // The self-watch seen from outside: a check whose timer stopped running sends no alert at all.
        // Reported, not refused: this deploy re-installs the check.
        `health_dir="${healthDirectory(spec.scope)}"`,
        `if [ -f "$health_dir/${healthScriptFile(env)}" ]; then`,
        `    since=$(sed -n 's/^last_success=\\([0-9]*\\)$/\\1/p' "$health_dir/${stateFile(env)}" 2>/dev/null | tail -n 1)`,
        `    installed=$(stat -c %Y "$health_dir/${healthScriptFile(env)}" 2>/dev/null || echo 0)`,
        '    [ "${since:-0}" -ge "$installed" ] || since=$installed',
        `    if [ $(($(date +%s) - since)) -gt ${spec.healthIntervalMinutes * 60 * STALE_INTERVALS} ]; then`,
        `        echo "${PROJECT}: host check: warning: the ${env} health check has not run successfully for $((($(date +%s) - since) / 60)) min (every ${spec.healthIntervalMinutes} min), so no alert reached you meanwhile; this deploy re-installs it; see: journalctl ${user ? "--user " : ""}-u ${healthUnitName(env)}.service -n 50" >&2`,
        "    fi",
        "fi",
        // A manager that lingering has only just started may take a moment to answer.
        `waited=0`,
        `while :; do`,
        `    state=$(${systemctl} is-system-running 2>/dev/null) || true`,
        '    case "$state" in running|degraded|starting|initializing) break;; esac',
        `    if [ "$waited" -ge ${waitSeconds} ]; then`,
        user
            ? `        problem "the systemd user manager of $me does not answer (state: \${state:-none}), so the units cannot be installed; fix: run as $me in a login session or with lingering on (sudo loginctl enable-linger $me), with XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR; see: systemctl status user@$(id -u).service"`
            : `        problem "systemd does not answer (state: \${state:-none}), so the units cannot be installed; fix: run on a host booted with systemd, as root; see: systemctl status"`,
        "        break",
        "    fi",
        "    sleep 1",
        "    waited=$((waited + 1))",
        "done",
        "",
        'if [ "$problems" -ne 0 ]; then exit 1; fi',
        `echo "${PROJECT}: host check passed for the ${spec.environment} stack"`,
        ...hostMechanisms(user),
        "",
    ].join("\n");
}
