import { ENVIRONMENTS, EnvironmentName, environmentNames } from "./environments";

/**
 * What the other stacks of the project set, by environment: their stack files'
 * keys without the project prefix (readStackConfig reads them; tests pass their own).
 */
export type OtherStacks = Readonly<Partial<Record<EnvironmentName, Readonly<Record<string, string | undefined>>>>>;

/** The stack-file keys that name a volume of the environment, with what the volume holds. */
export const VOLUME_KEYS = { dbDataVolume: "database volume", appDataVolume: "uploads volume" } as const;
export type VolumeKey = keyof typeof VOLUME_KEYS;

/** Another environment that owns a name, and how: "the prod database volume" or "dbDataVolume in Pulumi.prod.yaml". */
export interface Owner {
    readonly environment: EnvironmentName;
    readonly how: string;
}

/**
 * The environment other than `environment` whose volume `volume` is: one of its
 * derived names (lib/environments.ts), or what its stack file sets for a volume key.
 * A stack file that claims one of `environment`'s own derived names does not make
 * it another's: the derived name is the contract, and that other stack is refused
 * for the claim when it runs.
 */
export function foreignVolumeOwner(volume: string, environment: EnvironmentName, otherStacks: OtherStacks): Owner | undefined {
    const own = environmentNames(environment);
    for (const other of ENVIRONMENTS.filter((env) => env !== environment)) {
        const names = environmentNames(other);
        if (volume === names.dbVolume) return { environment: other, how: `the ${other} database volume` };
        if (volume === names.appVolume) return { environment: other, how: `the ${other} uploads volume` };
        if (volume === own.dbVolume || volume === own.appVolume) continue;
        for (const key of Object.keys(VOLUME_KEYS) as VolumeKey[]) {
            if (otherStacks[other]?.[key] === volume) return { environment: other, how: `the ${other} ${VOLUME_KEYS[key]} (${key} in Pulumi.${other}.yaml)` };
        }
    }
    return undefined;
}

/** The environment whose internal (app-to-database) network `network` is, its own included. */
export function internalNetworkOwner(network: string): EnvironmentName | undefined {
    return ENVIRONMENTS.find((env) => environmentNames(env).internalNetwork === network);
}
