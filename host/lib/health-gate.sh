# shellcheck shell=sh
# Waits, bounded, until the container's healthcheck passes, polling every second: rootless
# Podman runs healthchecks from systemd timers at their interval, so waiting for the status
# podman records would cost a whole interval even for a container that is healthy at once.
# Fails naming the container and where to look.
# Parameters:
#   container             the container pulumi up has just created
#   unit                  its systemd unit, named in the failure message
#   timeout_seconds       how long to wait for its healthcheck to pass before the update fails
#   rollback              what the operator runs to go back, named in the failure message
: "${container:?}" "${unit:?}" "${timeout_seconds:?}" "${rollback:?}"
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
deadline=$(( $(date +%s) + timeout_seconds ))
until podman healthcheck run "$container" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        state=$(podman inspect --format '{{.State.Status}}, exit code {{.State.ExitCode}}' "$container" 2>/dev/null || echo "no such container")
        echo "rezept-tagebuch: $container did not pass its healthcheck within $timeout_seconds s (it is $state); the update stops here." >&2
        echo "rezept-tagebuch: look: podman logs --tail 50 $container; podman healthcheck run $container; journalctl ${user_opt}-u $unit" >&2
        echo "rezept-tagebuch: roll back: $rollback" >&2
        exit 1
    fi
    sleep 1
done
echo "rezept-tagebuch: $container is healthy"
