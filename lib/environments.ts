/** The environments this project deploys; each is one Pulumi stack of the same name. */
export const ENVIRONMENTS = ["prod", "dev", "test"] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

export const PROJECT = "rezept-tagebuch";

/**
 * Names the host already uses (see the incident report). The reverse proxy, the
 * operators' scripts and the existing volumes rely on them, so they are a contract.
 */
export interface EnvironmentNames {
    readonly dbContainer: string;
    readonly appContainer: string;
    readonly dbName: string;
    readonly dbVolume: string;
    readonly appVolume: string;
    readonly internalNetwork: string;
}

export function environmentNames(env: EnvironmentName): EnvironmentNames {
    const suffix = env === "prod" ? "" : `-${env}`;
    const appContainer = `seaser-rezept-tagebuch${suffix}`;
    const dbContainer = `seaser-postgres${suffix}`;
    return {
        dbContainer,
        appContainer,
        dbName: env === "prod" ? "rezepte" : `rezepte_${env}`,
        dbVolume: `${dbContainer}-data`,
        // The dev app's volume on the host is `seaser-rezept-tagebuch-dev-volume`.
        appVolume: `${appContainer}-volume`,
        internalNetwork: `seaser-rezept-tagebuch-${env}-internal`,
    };
}

/** systemd unit file name of a container: the convention of `podman generate systemd`. */
export function unitName(container: string): string {
    return `container-${container}.service`;
}
