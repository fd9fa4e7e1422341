import { EnvironmentName, EnvironmentNames, PROJECT, unitName } from "./environments";
import { isVersioned, parseImageRef } from "./imageRef";
import { foreignVolumeOwner } from "./isolation";

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

/** A volume found on the host: one a container mounts, or one under a name the stack would create. */
export interface ObservedVolume {
    readonly name: string;
    /**
     * Made by Podman for one container (no -v at a path the image declares a VOLUME for, or
     * `-v /path`): `podman volume inspect` says `"Anonymous": true` (libpod/define/volume_inspect.go:47-50
     * at v4.3.1), while `podman container inspect` shows it as any volume, a random 64-hex Name
     * and Type "volume" (libpod/container_inspect.go:240-263, runtime_ctr.go:466-470). Podman
     * removes it with any container that uses it when asked to remove volumes (runtime_ctr.go:815-835).
     */
    readonly anonymous: boolean;
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
    /** Every volume of `volumesToLookFor` that exists; one not listed does not. */
    readonly volumes: readonly ObservedVolume[];
}

/** A data volume of the stack and what its first `pulumi up` does with it. */
export interface PlannedVolume {
    readonly key: "dbDataVolume" | "appDataVolume";
    readonly name: string;
    /** import: it exists on the host and is taken over; create: it does not exist yet. */
    readonly action: "import" | "create";
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
    /** Stack config that makes `pulumi up` import exactly the volumes that exist and create the others. */
    readonly config: Readonly<Record<string, string>>;
    /** The data volumes `config` names, checked against the host again before the first step. */
    readonly volumes: readonly PlannedVolume[];
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

/** The config key that imports each data volume (lib/config.ts). */
export const ADOPT_KEY = { dbDataVolume: "adoptDbDataVolume", appDataVolume: "adoptAppDataVolume" } as const;

/**
 * Plans the hand-over of one environment's hand-made containers to its stack: the
 * data volumes in use, or left on the host under the stack's names, are imported
 * (config), the others created; the old containers and any units that would recreate
 * them behind Pulumi's back go, after a backup. Safe to run again: containers the
 * stack made are left alone.
 */
export function planAdoption(observation: Observation, names: EnvironmentNames, hasApp: boolean): AdoptionPlan {
    const findings: string[] = [];
    const problems: string[] = [];
    const config: Record<string, string> = {};
    const volumes: PlannedVolume[] = [];
    const steps: AdoptionStep[] = [];
    const env = observation.environment;
    const find = (name: string) => observation.containers.find((c) => c.name === name);
    const onHost = (name: string) => observation.volumes.find((v) => v.name === name);
    const db = find(names.dbContainer);
    const app = hasApp ? find(names.appContainer) : undefined;
    const ours = (c: ObservedContainer | undefined) => c !== undefined && c.labels[OWNER_LABEL] === PROJECT;
    // The app first: it is stopped before its database.
    const foreign = [app, db].filter((c): c is ObservedContainer => c !== undefined && !ours(c));

    /** Decides one data volume: what its container keeps at `destination`, else what the host has under the stack's name. */
    const planVolume = (key: PlannedVolume["key"], container: ObservedContainer | undefined, containerName: string, destination: string, expected: string) => {
        const mount = container?.mounts.find((m) => m.destination === destination);
        const plan = (name: string, action: PlannedVolume["action"]) => {
            volumes.push({ key, name, action });
            config[key] = name;
            config[ADOPT_KEY[key]] = String(action === "import");
        };
        if (container && mount && !mount.volume) {
            problems.push(`${container.name} keeps ${destination} in a bind mount (${mount.source}), not a volume; fix: copy it into a volume (podman volume create ${expected}), or back it up and restore it after the first deploy`);
        } else if (container && mount?.volume && onHost(mount.volume)?.anonymous) {
            problems.push(anonymousVolumeProblem(container.name, mount.volume, destination, expected, onHost(expected) !== undefined));
        } else if (container && mount?.volume && foreignVolumeOwner(mount.volume, env, {})) {
            // Refused here, before anything is removed: the stack's own config check would refuse it only at `up`.
            const owner = foreignVolumeOwner(mount.volume, env, {})!;
            problems.push(`${container.name} keeps ${destination} in ${mount.volume}, ${owner.how}: adopting it would give the ${env} stack ${owner.environment}'s data; fix: if it really holds ${env}'s data, copy it with ${container.name} stopped (podman volume create ${expected}; podman volume export ${mount.volume} | podman volume import ${expected} -), then podman rm ${container.name} and run this again; otherwise podman rm ${container.name} (the stack creates ${expected})`);
        } else if (container && mount?.volume) {
            findings.push(`${container.name} keeps ${destination} in the volume ${mount.volume}: it will be imported, not created`);
            plan(mount.volume, "import");
        } else {
            const why = container ? `${container.name} keeps no volume at ${destination}` : `${containerName} does not exist`;
            if (onHost(expected)) {
                findings.push(`${why}; the volume ${expected} exists: it will be imported with what it holds, not created`);
                plan(expected, "import");
            } else {
                findings.push(`${why}: the stack creates ${expected}`);
                plan(expected, "create");
            }
        }
    };

    for (const container of foreign) {
        findings.push(`${container.name} exists (${container.running ? "running" : "stopped"}), image ${container.image}, not made by the stack: it will be stopped and removed, its volumes stay`);
        steps.push({ kind: "remove-container", name: container.name });
    }
    // Only while something is adopted; a volume of a container the stack made is the stack's already.
    if (foreign.length > 0) {
        if (!ours(db)) planVolume("dbDataVolume", db, names.dbContainer, DB_DATA, names.dbVolume);
        if (hasApp && !ours(app)) planVolume("appDataVolume", app, names.appContainer, UPLOADS, names.appVolume);
    }
    if (app && foreign.includes(app)) {
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
    return { findings, problems, config, volumes, steps, adopted };
}

/**
 * The refusal of data in an anonymous volume, with the Podman 4.3 commands that copy it
 * into the volume the stack expects and leave no container on the anonymous one, so the
 * next run imports the copy: stop (a clean PostgreSQL shutdown, so the files are
 * consistent), `volume create`, `volume export | volume import NAME -` (cmd/podman/volumes/
 * export.go, import.go at v4.3.1: a tar of the volume, `-` reads stdin), and `rm` without
 * `-v`, which keeps the anonymous volume untouched (runtime_ctr.go:815-817): the copy's
 * source stays until the operator removes it.
 */
function anonymousVolumeProblem(container: string, anonymous: string, destination: string, named: string, namedExists: boolean): string {
    const commands = [
        `podman stop --time 30 ${container}`,
        `podman volume create ${named}`,
        `podman volume export ${anonymous} | podman volume import ${named} -`,
        `podman rm ${container}`,
    ];
    return `${container} keeps ${destination} in an anonymous volume (${anonymous}), which Podman deletes with any container that mounts it when volumes are removed; `
        + `it is not adopted. Fix: copy it into the volume the stack expects, ${named}`
        + (namedExists ? ` (which exists already: see what it holds, podman volume inspect ${named}, and podman volume rm ${named} if nothing you need)` : "")
        + `, then run this again (it imports ${named}; ${anonymous} stays as it is until you podman volume rm it):\n`
        + commands.map((command) => `    ${command}`).join("\n");
}

function order(step: AdoptionStep): number {
    return step.kind === "backup" ? 0 : step.kind === "disable-unit" ? 1 : 2;
}

/** The volumes adoption looks for besides those the containers mount: the ones the stack would create. */
export function volumesToLookFor(names: EnvironmentNames, hasApp: boolean): string[] {
    return [names.dbVolume, ...(hasApp ? [names.appVolume] : [])];
}

/**
 * What is wrong with the plan on the host as it is now: a volume to import that is gone,
 * one to create that exists (Podman's Docker-compatible API, which the provider calls,
 * answers a create of an existing name with that volume, 201, pkg/api/handlers/compat/
 * volumes.go:113-131 at v4.3.1, so the stack would quietly run on whatever it holds).
 */
export function volumeProblems(plan: AdoptionPlan, exists: (name: string) => boolean): string[] {
    return plan.volumes.flatMap((v) => {
        const there = exists(v.name);
        if (v.action === "import" && !there) return [`the volume ${v.name} (${v.key}) was to be imported and does not exist any more; fix: run this again to plan anew`];
        if (v.action === "create" && there) return [`the volume ${v.name} (${v.key}) was to be created and exists now; fix: run this again to plan anew`];
        return [];
    });
}

/** The unit names adoption looks for: the stack's own, as `podman generate systemd` names them too. */
export function unitsToLookFor(names: EnvironmentNames, hasApp: boolean): string[] {
    return [unitName(names.dbContainer), ...(hasApp ? [unitName(names.appContainer)] : [])];
}
