import { EnvironmentName, PROJECT } from "./environments";

/** Labels on everything a stack creates, so `podman ps --filter label=...` finds one environment. */
export function ownerLabels(environment: EnvironmentName): { label: string; value: string }[] {
    return [
        { label: "io.seaser.project", value: PROJECT },
        { label: "io.seaser.environment", value: environment },
    ];
}
