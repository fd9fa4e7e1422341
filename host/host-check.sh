#!/bin/sh
# Checks the host before pulumi up puts anything of a stack on it (lib/hostCheck.ts): it reads
# only, prints one line per problem with its fix, and exits non-zero if there is any. The one
# thing it may change is lingering, which it turns on where the user may, and only on a host
# that passes every other check.
# Parameters:
#   environment               the stack: prod, dev or test
#   environments              the project's environments, space-separated: a label of another tool is no claim
#   label                     the label the stacks put on their containers and networks, naming the environment
#   proxy_network             the reverse proxy's network, which the app joins and no stack owns; empty: no app
#   volumes                   the stack's volumes, "CONFIG_KEY NAME" a line: the key that makes the stack use it (pitr, appImageVolumes: names of their own)
#   internal_network          the stack's internal network
#   helper_dirs               where podman looks for its helpers (aardvark-dns, netavark), space-separated
#   firewall_tool_dirs        where to look for the firewall tool netavark runs, space-separated
#   manager_wait_seconds      how long to wait for a user manager that lingering has only just started
#   health_script             the installed health check's file, in the config folder
#   health_state              its alert state's file
#   health_unit               its unit, without .service
#   health_interval_minutes   how often it runs
#   health_stale_seconds      how long it may go without success before it is reported
: "${environment:?}" "${environments:?}" "${label:?}" "${proxy_network?}" "${volumes?}" "${internal_network:?}" "${helper_dirs:?}" \
    "${firewall_tool_dirs:?}" "${manager_wait_seconds:?}" "${health_script:?}" "${health_state:?}" "${health_unit:?}" \
    "${health_interval_minutes:?}" "${health_stale_seconds:?}"
set -u
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
find_user_manager
label_format="{{index .Labels \"$label\"}}"
problems=0
problem() { echo "rezept-tagebuch: host check: $1" >&2; problems=$((problems + 1)); }
# another_environment OWNER: whether OWNER is one of the project's environments other than this one.
another_environment() { for other in $environments; do [ "$1" = "$other" ] && [ "$1" != "$environment" ] && return 0; done; return 1; }

# CNI (kept by hosts set up under Podman 3) gives an internal network no DNS: POSTGRES_HOST would not resolve.
backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) || backend=""
if [ "$backend" != netavark ]; then
    problem "podman's network backend is ${backend:-unknown (podman info failed)}, not netavark, so the internal networks have no DNS and the app cannot resolve its database; fix: apt-get install netavark aardvark-dns, set network_backend = \"netavark\" in the [network] table of containers.conf, then create the networks again (they do not carry over, see podman-network(1))"
fi
# Podman's helpers and netavark's firewall tools are outside a user's PATH on Debian: looked for by directory.
# first_exe NAME DIRS: the first DIR/NAME of the space-separated DIRS that is executable, or nothing.
first_exe() { for dir in $2; do if [ -x "$dir/$1" ]; then echo "$dir/$1"; return; fi; done; }
if [ -z "$(first_exe aardvark-dns "$helper_dirs")" ]; then
    problem "aardvark-dns is not installed (looked in $helper_dirs), so netavark gives the networks no DNS and the app cannot resolve its database; fix: apt-get install aardvark-dns"
fi
# netavark sets up each network's firewall, rootless too (inside the rootless network namespace), with
# the driver it was built for unless containers.conf firewall_driver says otherwise (netavark
# src/firewall/mod.rs:55-101, build.rs:66-79 at v1.14.0: iptables unless NETAVARK_DEFAULT_FW).
# Debian 13's is built for nftables, and without nft every container start fails ("unable to
# execute nft"); Debian 12's 1.4 has no such build setting and runs iptables. `netavark version`
# names the default from 1.14 (src/commands/version.rs:15).
firewall=""
netavark=$(first_exe netavark "$helper_dirs")
if [ -n "$netavark" ]; then
    firewall=$("$netavark" version 2>/dev/null | sed -n 's/.*"default_fw_driver": *"\([a-z]*\)".*/\1/p')
    firewall=${firewall:-iptables}
fi
case "$firewall" in
    nftables) firewall_tool=nft; firewall_package=nftables;;
    iptables) firewall_tool=iptables; firewall_package=iptables;;
    *) firewall_tool="";;
esac
if [ -n "$firewall_tool" ] && [ -z "$(first_exe "$firewall_tool" "$firewall_tool_dirs")" ]; then
    problem "netavark sets up the firewall of the networks with $firewall_tool (its default driver, $firewall), which is not installed, so every container start fails; fix: apt-get install $firewall_package"
fi
# What this host's Podman is, and the mechanisms it gets from it (docs/podman5.md): one design on
# every version, so this only says which; the one thing to refuse is a rootless network command
# that is not installed.
version=$(podman version --format '{{.Client.Version}}' 2>/dev/null) || version=""
if [ "$scope" = user ]; then
    # Podman 5 runs rootless networks through containers.conf default_rootless_network_cmd, "pasta" unless
    # set (containers/common pkg/config/default.go:261, libnetwork/internal/rootlessnetns/netns_linux.go:158-164,
    # vendored in podman v5.4.2; `podman info` reports it, libpod/info.go:129). Podman 4 has no such field
    # (the template fails) and only slirp4netns. `podman info` reports each executable only where it is
    # found (libpod/info_linux.go:64-90 at v5.4.2, :57-73 at v4.3.1).
    network_cmd=$(podman info --format '{{.Host.RootlessNetworkCmd}}' 2>/dev/null) || network_cmd=""
    case "$network_cmd" in
        pasta) network_exe=$(podman info --format '{{.Host.Pasta.Executable}}' 2>/dev/null) || network_exe=""; network_package=passt;;
        *) network_cmd=slirp4netns; network_exe=$(podman info --format '{{.Host.Slirp4NetNS.Executable}}' 2>/dev/null) || network_exe=""; network_package=slirp4netns;;
    esac
    if [ -z "$network_exe" ]; then
        problem "podman ${version:-(version unknown)} runs rootless networks through $network_cmd, which is not installed, so no container of the stack can start on its networks; fix: apt-get install $network_package"
    fi
fi
if [ -n "$proxy_network" ]; then
    if ! podman network exists "$proxy_network" >/dev/null 2>&1; then
        problem "the reverse proxy's network $proxy_network (config proxyNetwork) does not exist, so the app container cannot be created; fix: podman network create $proxy_network, or npm run stack -- config $environment set proxyNetwork <the proxy's network>"
    else
        owner=$(podman network inspect --format "$label_format" "$proxy_network" 2>/dev/null) || owner=""
        # Any environment's, this one's too: an internal network is no proxy network.
        for any in $environments; do
            if [ "$owner" = "$any" ]; then
                problem "the reverse proxy's network $proxy_network (config proxyNetwork) is labelled $label=$owner, the $owner environment's internal network, so the $environment app would join a database network; fix: npm run stack -- config $environment set proxyNetwork <the reverse proxy's network>"
            fi
        done
    fi
fi
# Environment isolation on the host: what the config check (lib/config.ts) cannot know by name.
# The stacks label their containers and networks (lib/ownership.ts) but not their volumes (an
# import must match the unlabelled volumes already there, components/hostResources.ts), so a
# volume is another environment's when it carries that label or a container of that
# environment mounts it (podman ps --filter volume=<name> matches named volumes by name:
# containers/podman pkg/domain/filters/containers.go, case "volume").
while read -r key volume <&3; do
    [ -n "$key" ] || continue
    # Point-in-time recovery's and the app image's volumes have fixed names: the other environment's hold on it has to go, or pitr.
    case "$key" in
        pitr) fix="fix: free it of the other environment (podman ps -a --filter volume=$volume; the $environment stack's name for it is fixed), or npm run stack -- config $environment set pitr false";;
        appImageVolumes) fix="fix: free it of the other environment (podman ps -a --filter volume=$volume; the $environment stack's name for it follows from the path)";;
        *) fix="fix: npm run stack -- config $environment set $key <a volume of $environment's own>, or npm run stack -- config $environment rm $key";;
    esac
    owner=$(podman volume inspect --format "$label_format" "$volume" 2>/dev/null) || owner=""
    if another_environment "$owner"; then
        problem "the volume $volume (config $key) is labelled $label=$owner, so the $environment stack would use the $owner environment's data; $fix"
    fi
    users=$(podman ps -a --filter "volume=$volume" --format "{{.Names}}:$label_format" 2>/dev/null) || users=""
    for user in $users; do
        if another_environment "${user#*:}"; then
            problem "the volume $volume (config $key) is mounted by ${user%%:*} of the ${user#*:} environment, so the $environment stack would use its data; $fix"
        fi
    done
done 3<<VOLUMES
$volumes
VOLUMES
owner=$(podman network inspect --format "$label_format" "$internal_network" 2>/dev/null) || owner=""
if another_environment "$owner"; then
    problem "the network $internal_network, the $environment internal network, exists labelled $label=$owner, so the $environment database would join the $owner environment's network; fix: see what uses it (podman ps -a --filter network=$internal_network) and remove it once nothing does (podman network rm $internal_network); the stack creates its own"
fi
if [ "$scope" = user ]; then
    # Without lingering the user's units neither start at boot nor survive the last logout.
    me=$(id -un)
    linger=$(loginctl show-user "$me" --property=Linger --value 2>/dev/null) || linger=""
    if [ "$linger" != yes ]; then
        if [ "$problems" -ne 0 ] || ! loginctl enable-linger "$me" >/dev/null 2>&1; then
            problem "lingering is off for $me, so its units would not start at boot and would stop at its last logout; fix: sudo loginctl enable-linger $me"
        fi
    fi
fi
# The self-watch seen from outside: a check whose timer stopped running sends no alert at all.
# Reported, not refused: this deploy re-installs the check.
if [ -f "$config_dir/$health_script" ]; then
    since=$(sed -n 's/^last_success=\([0-9]*\)$/\1/p' "$config_dir/$health_state" 2>/dev/null | tail -n 1)
    installed=$(stat -c %Y "$config_dir/$health_script" 2>/dev/null || echo 0)
    [ "${since:-0}" -ge "$installed" ] || since=$installed
    if [ $(($(date +%s) - since)) -gt "$health_stale_seconds" ]; then
        echo "rezept-tagebuch: host check: warning: the $environment health check has not run successfully for $((($(date +%s) - since) / 60)) min (every $health_interval_minutes min), so no alert reached you meanwhile; this deploy re-installs it; see: journalctl ${user_opt}-u $health_unit.service -n 50" >&2
    fi
fi
# A manager that lingering has only just started may take a moment to answer.
waited=0
while :; do
    state=$(scope_systemctl is-system-running 2>/dev/null) || true
    case "$state" in running|degraded|starting|initializing) break;; esac
    if [ "$waited" -ge "$manager_wait_seconds" ]; then
        if [ "$scope" = user ]; then
            problem "the systemd user manager of $me does not answer (state: ${state:-none}), so the units cannot be installed; fix: run as $me in a login session or with lingering on (sudo loginctl enable-linger $me), with XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR; see: systemctl status user@$(id -u).service"
        else
            problem "systemd does not answer (state: ${state:-none}), so the units cannot be installed; fix: run on a host booted with systemd, as root; see: systemctl status"
        fi
        break
    fi
    sleep 1
    waited=$((waited + 1))
done

if [ "$problems" -ne 0 ]; then exit 1; fi
echo "rezept-tagebuch: host check passed for the $environment stack"
# What the host's Podman gives the stack (docs/podman5.md). The units are the same on every version:
# the app waits for a healthy database by running `podman healthcheck run`, whose exit code is 0 only
# for healthy on 4.3 and 5.4 (cmd/podman/healthcheck/run.go:38 at v4.3.1, also "starting" is non-zero
# at v5.4.2); DefaultDependencies=no is needed before 4.4 (podman#14531: v4.3.1 stops the healthcheck
# timer with job mode "fail", libpod/healthcheck_linux.go:103, v5.4.2 with "ignore-dependencies", :132)
# and harmless after.
case "$version" in
    "") shutdown_ordering="needed before podman 4.4, podman#14531";;
    [0-3].*|4.[0-3].*) shutdown_ordering="needed: podman#14531";;
    *) shutdown_ordering="kept, not needed since podman 4.4";;
esac
if [ "$scope" = user ]; then rootless_networks="; rootless networks through $network_cmd"; else rootless_networks=""; fi
echo "rezept-tagebuch: host: podman ${version:-(version unknown)}$rootless_networks; database readiness by podman healthcheck run; shutdown ordering DefaultDependencies=no ($shutdown_ordering)"
