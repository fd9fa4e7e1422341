# shellcheck shell=sh
# Waits, bounded, until the container's healthcheck passes, polling every second: rootless
# Podman runs healthchecks from systemd timers at their interval, so waiting for the status
# podman records would cost a whole interval even for a container that is healthy at once.
# Fails naming the container and where to look, and closes the stack's deploy window: the deploy
# stops here, and the health check pages at its next run for what it left, not only once the
# window's end time has passed.
# Parameters:
#   container             the container pulumi up has just created
#   unit                  its systemd unit, named in the failure message
#   timeout_seconds       how long to wait for its healthcheck to pass before the update fails
#   rollback              what the operator runs to go back, named in the failure message
#   window_file           the deploy window's file, in the config folder (host/health-deploy-window.sh)
: "${container:?}" "${unit:?}" "${timeout_seconds:?}" "${rollback:?}" "${window_file:?}"
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
# gate_failed MESSAGE...: each line to stderr, the deploy window closed, exit 1.
gate_failed() {
    for line in "$@"; do echo "$line" >&2; done
    if [ "$scope" = system ] || [ -n "${HOME:-}" ]; then scope_folders; rm -f "$config_dir/$window_file"; fi
    exit 1
}
deadline=$(( $(date +%s) + timeout_seconds ))
until podman healthcheck run "$container" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        state=$(podman inspect --format '{{.State.Status}}, exit code {{.State.ExitCode}}' "$container" 2>/dev/null || echo "no such container")
        gate_failed "rezept-tagebuch: $container did not pass its healthcheck within $timeout_seconds s (it is $state); the update stops here." \
            "rezept-tagebuch: look: podman logs --tail 50 $container; podman healthcheck run $container; journalctl ${user_opt}-u $unit" \
            "rezept-tagebuch: roll back: $rollback"
    fi
    sleep 1
done
echo "rezept-tagebuch: $container is healthy"
