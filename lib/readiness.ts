import { quote } from "shell-quote";
import { EnvironmentName, PROJECT, unitName } from "./environments";
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

/**
 * Waits, bounded, until the container's healthcheck passes, polling every second:
 * rootless Podman runs healthchecks from systemd timers at their interval, so
 * waiting for the status podman records would cost a whole interval even for a
 * container that is healthy at once. Fails naming the container and where to look.
 */
function healthGate(spec: ReadinessSpec): string[] {
    const c = quote([spec.container]);
    const user = spec.scope === "user" ? "--user " : "";
    return [
        `container=${c}`,
        `deadline=$(( $(date +%s) + ${spec.timeoutSeconds} ))`,
        'until podman healthcheck run "$container" >/dev/null 2>&1; do',
        '    if [ "$(date +%s)" -ge "$deadline" ]; then',
        `        state=$(podman inspect --format '{{.State.Status}}, exit code {{.State.ExitCode}}' "$container" 2>/dev/null || echo "no such container")`,
        `        echo "${PROJECT}: $container did not pass its healthcheck within ${spec.timeoutSeconds} s (it is $state); the update stops here." >&2`,
        `        echo "${PROJECT}: look: podman logs --tail 50 $container; podman healthcheck run $container; journalctl ${user}-u ${unitName(spec.container)}" >&2`,
        `        echo "${PROJECT}: roll back: ${spec.rollback}" >&2`,
        "        exit 1",
        "    fi",
        "    sleep 1",
        "done",
        `echo "${PROJECT}: $container is healthy"`,
    ];
}

/**
 * Makes the configured password the one the database has. The postgres image reads
 * POSTGRES_PASSWORD only when it initialises an empty data directory, so an adopted
 * volume or a changed dbPassword would leave the app with a password the database
 * does not know. psql runs inside the container, over its local socket (trust in the
 * postgres image), and takes the password from the container's own environment
 * (`\getenv`, psql 15+): it is on no command line, in no script and in no log, and
 * the session keeps the statement out of the server log even if it fails.
 */
const SYNC_PASSWORD_SQL = [
    "SET log_statement = 'none';",
    "SET log_min_error_statement = 'panic';",
    "\\getenv role POSTGRES_USER",
    "\\getenv configured_password POSTGRES_PASSWORD",
    "ALTER ROLE :\"role\" PASSWORD :'configured_password';",
];

/**
 * The script `pulumi up` runs after creating an app container: it succeeds once the app is healthy,
 * and only then runs `then` (the switch of the proxy's name to it, lib/switchover.ts).
 */
export function renderAppReadyScript(spec: ReadinessSpec, then: readonly string[] = []): string {
    return [
        "#!/bin/sh",
        `# Health gate of ${spec.container} (Pulumi stack ${PROJECT}/${spec.environment}). Generated: do not edit.`,
        "set -eu",
        ...healthGate(spec),
        ...then,
        "",
    ].join("\n");
}

/** The script `pulumi up` runs after creating a database container: healthy, then the configured password set. */
export function renderDatabaseReadyScript(spec: ReadinessSpec): string {
    return [
        "#!/bin/sh",
        `# Health gate and password of ${spec.container} (Pulumi stack ${PROJECT}/${spec.environment}). Generated: do not edit.`,
        "set -eu",
        ...healthGate(spec),
        // As the image's superuser (POSTGRES_USER, read inside the container); a user the volume does not know fails to connect.
        `podman exec -i "$container" sh -c 'exec psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres' <<'SQL' || {`,
        ...SYNC_PASSWORD_SQL,
        "SQL",
        `    echo "${PROJECT}: could not set the configured password in $container (is dbUser the user its volume was initialised with?); the app could not log in. Look: podman logs --tail 50 $container" >&2`,
        "    exit 1",
        "}",
        `echo "${PROJECT}: $container has the configured password"`,
        "",
    ].join("\n");
}
