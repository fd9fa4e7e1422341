import { ENVIRONMENTS, EnvironmentName, environmentNames } from "./environments";
import { walVolumeName } from "./pitr";
import { IMAGE_VOLUME_INFIX } from "./appImageVolumes";

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
 * What host/pitr.sh puts between a stack's data volume and a UTC stamp to name the volume it keeps
 * the data in before a restore into the stack (`aside="${volume}-before-pitr-$(date ...)"`).
 */
export const BEFORE_PITR = "-before-pitr-";

/** Why a stack uses a volume whose name no volume key sets: point-in-time recovery, or an app image's VOLUME (lib/appImageVolumes.ts). */
export type DerivedUse = "pitr" | "appImageVolumes";

/** A volume of an environment: a name, or every name with this beginning (`prefix`), and what it holds. */
export interface EnvironmentVolume {
    /** What the stack uses it for: the volume keys', or what point-in-time recovery or the app image's VOLUMEs keep apart from them. */
    readonly use: VolumeKey | DerivedUse;
    readonly name: string;
    readonly prefix?: true;
    readonly what: string;
}

export const holds = (volume: EnvironmentVolume, name: string) => volume.prefix ? name.startsWith(volume.name) : name === volume.name;

/**
 * The volumes an environment's names give it, whatever its config: the data and uploads volumes
 * (lib/environments.ts), the WAL archive (lib/pitr.ts walVolumeName), the point-in-time restore's
 * scratch volume and the volumes of the data before a restore into the stack (host/pitr.sh, from
 * its data volume), and the volumes at the app image's own VOLUME paths (lib/appImageVolumes.ts). Podman's Docker-compatible volume create takes over an existing volume of the
 * name it is given (containers/podman pkg/api/handlers/compat/volumes.go CreateVolume), so a stack
 * that names any of these would use that environment's data.
 */
export function derivedVolumes(environment: EnvironmentName): EnvironmentVolume[] {
    const names = environmentNames(environment);
    return [
        { use: "dbDataVolume", name: names.dbVolume, what: "database volume" },
        { use: "appDataVolume", name: names.appVolume, what: "uploads volume" },
        { use: "pitr", name: walVolumeName(names.dbContainer), what: "WAL archive volume" },
        { use: "pitr", name: pitrScratchVolumeName(names.dbContainer), what: "point-in-time restore's scratch volume" },
        { use: "pitr", name: `${names.dbVolume}${BEFORE_PITR}`, prefix: true, what: "data kept before a point-in-time restore" },
        { use: "appImageVolumes", name: `${names.appContainer}${IMAGE_VOLUME_INFIX}`, prefix: true, what: "app image volumes (appImageVolumes)" },
    ];
}

/** The point-in-time restore's scratch container's volume (lib/pitr.ts renderPitrScript: `<db>-pitr`, its volume `-data`). */
export const pitrScratchVolumeName = (dbContainer: string) => `${dbContainer}-pitr-data`;

/** The volumes a stack file's settings give its environment besides the derived ones: each volume key's, and the data kept before a restore. */
function configuredVolumes(environment: EnvironmentName, settings: Readonly<Record<string, string | undefined>> = {}): EnvironmentVolume[] {
    const file = `in Pulumi.${environment}.yaml`;
    const volumes: EnvironmentVolume[] = [];
    for (const key of Object.keys(VOLUME_KEYS) as VolumeKey[]) {
        const name = settings[key];
        if (!name) continue;
        volumes.push({ use: key, name, what: `${VOLUME_KEYS[key]} (${key} ${file})` });
        if (key === "dbDataVolume") volumes.push({ use: "pitr", name: `${name}${BEFORE_PITR}`, prefix: true, what: `data kept before a point-in-time restore (from ${key} ${file})` });
    }
    return volumes;
}

/**
 * The environment other than `environment` whose volume `volume` is: one of its derived names
 * (derivedVolumes), or what its stack file gives it (a volume key, and the data kept before a
 * restore from that volume). A stack file that claims one of `environment`'s own derived names does
 * not make it another's: the derived name is the contract, and that other stack is refused for the
 * claim when it runs.
 */
export function foreignVolumeOwner(volume: string, environment: EnvironmentName, otherStacks: OtherStacks): Owner | undefined {
    if (derivedVolumes(environment).some((own) => holds(own, volume))) return undefined;
    const others = ENVIRONMENTS.filter((env) => env !== environment);
    for (const other of others) {
        const derived = derivedVolumes(other).find((v) => holds(v, volume));
        if (derived) return { environment: other, how: `the ${other} ${derived.what}` };
    }
    for (const other of others) {
        const configured = configuredVolumes(other, otherStacks[other]).find((v) => holds(v, volume));
        if (configured) return { environment: other, how: `the ${other} ${configured.what}` };
    }
    return undefined;
}

/** The environment whose internal (app-to-database) network `network` is, its own included. */
export function internalNetworkOwner(network: string): EnvironmentName | undefined {
    return ENVIRONMENTS.find((env) => environmentNames(env).internalNetwork === network);
}

/**
 * Every volume the stack creates or mounts, or that its scripts create under a fixed name, with the
 * key that makes it use the volume: the host check looks at each (index.ts).
 */
export function stackVolumes(spec: {
    readonly environment: EnvironmentName; readonly dbVolume: string; readonly appVolume?: string; readonly appImageVolumes?: readonly string[]; readonly pitr: boolean;
}): { readonly name: string; readonly key: VolumeKey | DerivedUse }[] {
    const db = environmentNames(spec.environment).dbContainer;
    return [
        { name: spec.dbVolume, key: "dbDataVolume" },
        ...(spec.appVolume === undefined ? [] : [{ name: spec.appVolume, key: "appDataVolume" } as const]),
        ...(spec.appImageVolumes ?? []).map((name) => ({ name, key: "appImageVolumes" } as const)),
        ...(spec.pitr ? [{ name: walVolumeName(db), key: "pitr" } as const, { name: pitrScratchVolumeName(db), key: "pitr" } as const] : []),
    ];
}
