import { EnvironmentName, PROJECT } from "./environments";

/** Labels on everything a stack creates, so `podman ps --filter label=...` finds one environment. */
export function ownerLabels(environment: EnvironmentName): { label: string; value: string }[] {
    return [
        { label: "io.seaser.project", value: PROJECT },
        { label: "io.seaser.environment", value: environment },
    ];
}

/**
 * Pulumi owns a container's definition; the stack's systemd unit owns whether it
 * runs. So podman keeps no restart policy of its own (two supervisors would race),
 * and a stopped container is no reason for Pulumi to drop or recreate it on
 * refresh (`mustRun`): its unit starts it again.
 */
export const SYSTEMD_OWNS_RUNNING = { restart: "no", mustRun: false } as const;
