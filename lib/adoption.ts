import { EnvironmentName, EnvironmentNames, PROJECT, unitName } from "./environments";
import { isVersioned, parseImageRef } from "./imageRef";

/** A container found on the host under one of the stack's names; only the settings adoption needs. */
export interface ObservedContainer {
    readonly name: string;
    readonly image: string;
    readonly running: boolean;
    readonly labels: Readonly<Record<string, string>>;
    /** The two settings of its environment that decide isolation; no other variable is read (they hold the password). */
    readonly postgresHost?: string;
    readonly devMode?: string;
    /** Named volumes by mount point; a bind mount has no volume name. */
    readonly mounts: readonly { readonly volume?: string; readonly source: string; readonly destination: string }[];
}

/** A unit file found under one of the stack's unit names. */
export interface ObservedUnit {
    readonly file: string;
    /** Written by this program (its first line says so), not by `podman generate systemd` or by hand. */
    readonly ours: boolean;
}

/** What the adoption command saw on the host for one stack. */
export interface Observation {
    readonly environment: EnvironmentName;
    readonly containers: readonly ObservedContainer[];
    readonly units: readonly ObservedUnit[];
}

export type AdoptionStep =
    | { readonly kind: "backup" }
    | { readonly kind: "disable-unit"; readonly unit: string }
    | { readonly kind: "remove-container"; readonly name: string };

export interface AdoptionPlan {
    /** What exists, one line each, with what the stack will do differently. */
    readonly findings: string[];
    /** Problems that stop the adoption, each with its fix. */
    readonly problems: string[];
    /** Stack config that makes `pulumi up` import the volumes in use. */
    readonly config: Readonly<Record<string, string>>;
    /** What the command does before it hands over to `pulumi up`, in order. */
    readonly steps: readonly AdoptionStep[];
    /** The stack already owns what is there: nothing to do but `pulumi up`. */
    readonly adopted: boolean;
}

const DB_DATA = "/var/lib/postgresql/data";
const UPLOADS = "/data";
/** The label every container of a stack carries (lib/ownership.ts). */
const OWNER_LABEL = "io.seaser.project";

/** Marks the first line of every unit the program writes (lib/systemd.ts). */
export const OUR_UNIT_MARK = `# Installed by the Pulumi stack ${PROJECT}/`;

/**
 * Plans the hand-over of one environment's hand-made containers to its stack: the
 * data volumes in use are imported (config), the old containers and any units that
 * would recreate them behind Pulumi's back go, after a backup. Safe to run again:
 * containers the stack made are left alone.
 */
export function planAdoption(observation: Observation, names: EnvironmentNames, hasApp: boolean): AdoptionPlan {
    const findings: string[] = [];
    const problems: string[] = [];
    const config: Record<string, string> = {};
    const steps: AdoptionStep[] = [];
    const env = observation.environment;
    const find = (name: string) => observation.containers.find((c) => c.name === name);
    const db = find(names.dbContainer);
    const app = hasApp ? find(names.appContainer) : undefined;
    // The app first: it is stopped before its database.
    const foreign = [app, db].filter((c): c is ObservedContainer => c !== undefined && c.labels[OWNER_LABEL] !== PROJECT);

    const volumeAt = (container: ObservedContainer, destination: string, key: string, expected: string) => {
        const mount = container.mounts.find((m) => m.destination === destination);
        if (!mount) {
            findings.push(`${container.name} keeps no volume at ${destination}: the stack creates ${expected}`);
        } else if (!mount.volume) {
            problems.push(`${container.name} keeps ${destination} in a bind mount (${mount.source}), not a volume; fix: copy it into a volume (podman volume create ${expected}), or back it up and restore it after the first deploy`);
        } else {
            findings.push(`${container.name} keeps ${destination} in the volume ${mount.volume}: it will be imported, not created`);
            config[key] = mount.volume;
        }
    };

    for (const container of foreign) {
        findings.push(`${container.name} exists (${container.running ? "running" : "stopped"}), image ${container.image}, not made by the stack: it will be stopped and removed, its volumes stay`);
        steps.push({ kind: "remove-container", name: container.name });
    }
    if (db && foreign.includes(db)) volumeAt(db, DB_DATA, "dbDataVolume", names.dbVolume);
    if (app && foreign.includes(app)) {
        volumeAt(app, UPLOADS, "appDataVolume", names.appVolume);
        if (app.postgresHost !== undefined && app.postgresHost !== names.dbContainer) {
            findings.push(`${app.name} uses POSTGRES_HOST=${app.postgresHost}, not its own database ${names.dbContainer}: the stack's container uses ${names.dbContainer}`);
        }
        if ((app.devMode === "true") !== (env === "dev")) {
            findings.push(`${app.name} has DEV_MODE=${app.devMode ?? "(unset)"}: the stack's container has ${env === "dev" ? "DEV_MODE=true" : "no DEV_MODE"}`);
        }
        const ref = parseImageRef(app.image);
        if (typeof ref === "string" || !isVersioned(ref)) {
            findings.push(`${app.name} runs ${app.image}, a moving tag: the stack runs appImage from its config, a versioned tag`);
        }
    }
    if (Object.keys(config).length > 0) config.adoptExistingVolumes = "true";

    for (const unit of [...observation.units].filter((u) => !u.ours).reverse()) {
        findings.push(`${unit.file} exists and was not written by the stack (podman generate systemd?): it would start or recreate the old container; it will be disabled and set aside`);
        steps.push({ kind: "disable-unit", unit: unit.file });
    }
    // The units go before the containers, or they would restart them; a backup goes before either.
    steps.sort((a, b) => order(a) - order(b));
    if (db?.running && steps.length > 0) steps.unshift({ kind: "backup" });
    if (db && !db.running && foreign.includes(db)) {
        problems.push(`${db.name} is stopped, so it cannot be backed up first; fix: podman start ${db.name}, then run this again`);
    }
    const adopted = steps.length === 0 && problems.length === 0;
    if (adopted) findings.push(`nothing to adopt: ${db ? `${db.name} is the stack's own` : "no container of the stack exists yet"}`);
    return { findings, problems, config, steps, adopted };
}

function order(step: AdoptionStep): number {
    return step.kind === "backup" ? 0 : step.kind === "disable-unit" ? 1 : 2;
}

/** The unit names adoption looks for: the stack's own, as `podman generate systemd` names them too. */
export function unitsToLookFor(names: EnvironmentNames, hasApp: boolean): string[] {
    return [unitName(names.dbContainer), ...(hasApp ? [unitName(names.appContainer)] : [])];
}
