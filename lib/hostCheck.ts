import { quote } from "shell-quote";
import { EnvironmentName, PROJECT } from "./environments";
import { SystemdScope } from "./systemd";

/** What one stack needs of the host before anything of it is put there. */
export interface HostCheckSpec {
    readonly environment: EnvironmentName;
    readonly scope: SystemdScope;
    /** The reverse proxy's network, which the app joins and no stack owns; absent when the stack runs no app. */
    readonly proxyNetwork?: string;
}

/** Where the checks look; the defaults are the real host's, tests point them elsewhere. */
export interface HostCheckOptions {
    /**
     * Where podman looks for aardvark-dns: containers.conf `helper_binaries_dir`, whose
     * Linux default in podman 4.3 (containers/common pkg/config/config_linux.go) is this
     * list. podman 4.3's `podman info` does not report aardvark-dns; without it netavark
     * runs containers without DNS, with only a warning.
     */
    readonly helperDirs?: readonly string[];
    /** How long to wait for a user manager that lingering has only just started. */
    readonly managerWaitSeconds?: number;
}

export const PODMAN_HELPER_DIRS = ["/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"] as const;

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
    const waitSeconds = opts.managerWaitSeconds ?? 10;
    const proxy = spec.proxyNetwork;
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
        "aardvark=no",
        `for dir in ${quote([...helperDirs])}; do`,
        '    if [ -x "$dir/aardvark-dns" ]; then aardvark=yes; fi',
        "done",
        'if [ "$aardvark" = no ]; then',
        `    problem "aardvark-dns is not installed (looked in ${helperDirs.join(" ")}), so netavark gives the networks no DNS and the app cannot resolve its database; fix: apt-get install aardvark-dns"`,
        "fi",
        ...(proxy === undefined ? [] : [
            `if ! podman network exists ${quote([proxy])} >/dev/null 2>&1; then`,
            `    problem "the reverse proxy's network ${proxy} (config proxyNetwork) does not exist, so the app container cannot be created; ` +
                `fix: podman network create ${quote([proxy])}, or pulumi config set proxyNetwork <the proxy's network>"`,
            "fi",
        ]),
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
        "",
    ].join("\n");
}
