import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { MANAGED_APP_ENV } from "./appEnv";
import { AppImageVolume, imageVolumeName, imageVolumePathProblems } from "./appImageVolumes";
import { defaultBackupDirectory } from "./backup";
import { DEFAULT_WAL_RESERVE_MIB } from "./pitr";
import { ACCEPTED_FORMS, checkAppImage, checkPinnedImage, imageVersion } from "./imageRef";
import { ENVIRONMENTS, EnvironmentName, environmentNames, EnvironmentNames, PROJECT } from "./environments";
import { derivedVolumes, foreignVolumeOwner, holds, internalNetworkOwner, OtherStacks, VOLUME_KEYS, VolumeKey } from "./isolation";

/** The validated configuration of one stack. Secrets are Pulumi secrets from the moment they are read. */
export interface StackConfig {
    readonly environment: EnvironmentName;
    readonly names: EnvironmentNames;
    /** The reverse-proxy network the apps join; no stack owns it. */
    readonly proxyNetwork: string;
    /** Import the database's data volume that already exists on the host (adoption), instead of creating it. */
    readonly adoptDbDataVolume: boolean;
    /** Import the app's uploads volume that already exists on the host (adoption), instead of creating it. */
    readonly adoptAppDataVolume: boolean;
    /** Set to reach the Podman API elsewhere than DOCKER_HOST. */
    readonly dockerHost?: string;
    readonly db: {
        readonly image: string;
        readonly name: string;
        readonly user: string;
        readonly port: number;
        readonly volume: string;
        readonly password: pulumi.Output<string>;
    };
    /** Absent when the environment runs no app (test, by default). */
    readonly app?: {
        readonly image: string;
        /** The deployed tag (or digest): APP_VERSION and the stack output. */
        readonly version: string;
        readonly port: number;
        /** What the deploy gate, the standby and the container's healthcheck ask the app (components/app.ts). */
        readonly healthPath: string;
        readonly volume: string;
        readonly env: Readonly<Record<string, string>>;
        readonly secretEnv: pulumi.Output<Record<string, string>>;
        /** The image's own VOLUME paths besides /data, each mounted from a named volume of the stack (lib/appImageVolumes.ts). */
        readonly imageVolumes: readonly AppImageVolume[];
    };
    readonly boot: {
        readonly scope: "user" | "system";
        /** How long an app unit waits for its database to be healthy. */
        readonly dbHealthTimeoutSeconds: number;
    };
    /** How long `pulumi up` waits for a new container to be healthy before it fails. */
    readonly deployTimeoutSeconds: number;
    readonly backup: {
        /** This environment's backup directory on the host (`$HOME` expanded there). */
        readonly directory: string;
        readonly keep: number;
        readonly maxAgeDays: number;
        /** systemd OnCalendar expression of the nightly backup. */
        readonly schedule: string;
        /** Where copies go off the host (restic); absent: the backups stay on the host only. */
        readonly offsite?: {
            readonly repository: string;
            readonly password: pulumi.Output<string>;
            readonly image: string;
            /** systemd OnCalendar expression of the weekly repository check and restore drill. */
            readonly drillSchedule: string;
            /** Point-in-time recovery: WAL archived continuously and copied off the host every 30 s, a nightly base backup (lib/pitr.ts). */
            readonly pitr: boolean;
            /** The free space (MiB) the WAL archive leaves on its disk: below it, it keeps no segment (lib/pitr.ts). */
            readonly walReserveMiB: number;
        };
    };
    readonly connection:
        | { readonly kind: "local" }
        | {
            readonly kind: "ssh"; readonly host: string; readonly user: string; readonly port: number; readonly privateKey: pulumi.Output<string>;
            /** The host's public key as `<type> <base64>`: the command provider refuses any other (without one it accepts any). */
            readonly hostKey: string;
        };
    /** The installed health check (components/healthCheck.ts) and its alerts. */
    readonly health: {
        /** The app behind the reverse proxy, checked through it; absent: no proxy check. */
        readonly proxyUrl?: string;
        /** Run with the alert text on stdin. */
        readonly alertCommand?: string;
        /** Receives a JSON POST per alert; a Pulumi secret (the URL often carries a token). */
        readonly alertWebhookUrl?: pulumi.Output<string>;
        readonly alertRepeatMinutes: number;
        readonly intervalMinutes: number;
    };
    /** Accepted but worth telling the operator (e.g. a moving tag in dev). */
    readonly warnings: readonly string[];
}

/** Invalid configuration. One line per problem, each naming the key, the fault and the fix. RunError hides the stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: readonly string[]) {
        super(`invalid configuration of stack:\n${problems.join("\n")}`);
        this.name = "ConfigError";
    }
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** A whole number from `min` to `max`, with the range in the message. */
const wholeNumber = (min: number, max: number) => z.coerce.number("must be a number").int("must be a whole number")
    .min(min, `must be ${min} to ${max}`).max(max, `must be ${min} to ${max}`);
const port = wholeNumber(1, 65535);
const bool = z.enum(["true", "false"], "must be true or false").transform((v) => v === "true");
const resourceName = z.string().regex(NAME, "must start with a letter or digit and contain only letters, digits, '_', '.', '-'");
/** A key's text parsed as JSON, "is not a JSON <what>" where it is none; the shape is piped after it. */
const jsonText = (what: string) => z.string().transform((text, ctx) => {
    try { return JSON.parse(text) as unknown; } catch {
        ctx.addIssue({ code: "custom", message: `is not a JSON ${what}` });
        return z.NEVER;
    }
});
const envMap = jsonText("object").pipe(z.record(
    z.string().regex(ENV_VAR, "has a key that is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"),
    z.string("must map names to strings"),
    "must be a JSON object of NAME to string",
));

const pathList = jsonText("array").pipe(z.array(z.string("must list paths as strings"), "must be a JSON array of absolute paths"));

/** A zod issue as a phrase after the key, with the map entry it concerns. */
function describeIssue(issue: z.core.$ZodIssue): string {
    const message = issue.code === "invalid_key" ? issue.issues[0]?.message ?? issue.message : issue.message;
    return issue.path.length > 0 ? `${message} (at ${issue.path.join(".")})` : message;
}

/** Every key the program reads, with its parser, default and how to fix a bad value. */
const KEYS = {
    appImage: { schema: z.string(), hint: "npm run stack -- config <stack> set appImage localhost/seaser-rezept-tagebuch:rezept_version_10_11_2025_001" },
    appEnabled: { schema: bool, hint: "npm run stack -- config <stack> set appEnabled true" },
    appPort: { schema: port, hint: "npm run stack -- config <stack> set appPort 80 (the port the app listens on inside its container)" },
    appHealthPath: {
        // It goes unquoted into the healthcheck's shell command (components/app.ts), which then stays the same for
        // the default as before the key: no character here is special to sh there.
        schema: z.string().regex(/^\/[A-Za-z0-9\/._~%+:,@=?-]*$/, "must be a URL path that starts with / and has only letters, digits and / . _ ~ % + : , @ = ? - (no spaces, quotes or &)"),
        hint: "npm run stack -- config <stack> set appHealthPath /api/recipes (an endpoint that answers 2xx only when the app can read its database; default /api/version)",
    },
    appEnv: { schema: envMap, hint: `npm run stack -- config <stack> set appEnv '{"NAME":"value"}'` },
    appSecretEnv: { schema: envMap, hint: `npm run stack -- config <stack> set --secret appSecretEnv < file-with-a-json-object (e.g. {"NAME":"value"}; the value never on the command line)`, secret: true },
    appDataVolume: { schema: resourceName, hint: "npm run stack -- config <stack> set appDataVolume <volume name>" },
    appImageVolumes: {
        schema: pathList,
        hint: `npm run stack -- config <stack> set appImageVolumes '["/var/lib/app-cache"]' (each VOLUME the app image declares besides /data: podman image inspect --format '{{json .Config.Volumes}}' <appImage>)`,
    },
    dbPassword: { schema: z.string().min(8, "must be at least 8 characters"), hint: "npm run stack -- config <stack> set --secret dbPassword (it prompts for the password; in a script: npm run stack -- config <stack> set --secret dbPassword < password-file)", secret: true },
    dbImage: { schema: z.string(), hint: "npm run stack -- config <stack> set dbImage docker.io/library/postgres:16-alpine" },
    dbName: { schema: z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier"), hint: "npm run stack -- config <stack> set dbName rezepte" },
    dbUser: { schema: z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier"), hint: "npm run stack -- config <stack> set dbUser postgres" },
    dbPort: { schema: port, hint: "npm run stack -- config <stack> set dbPort 5432" },
    dbDataVolume: { schema: resourceName, hint: "npm run stack -- config <stack> set dbDataVolume <volume name>" },
    dbHealthTimeoutSeconds: {
        schema: wholeNumber(10, 1800),
        hint: "npm run stack -- config <stack> set dbHealthTimeoutSeconds 120",
    },
    backupDir: {
        schema: z.string().regex(/^(\/|\$HOME\/)[A-Za-z0-9_.\/-]*$/, "must be an absolute path or start with $HOME/, without spaces or quotes"),
        hint: "npm run stack -- config <stack> set backupDir '$HOME/rezept-tagebuch-backups' (each stack uses a folder of its own name below it)",
    },
    backupKeep: {
        schema: wholeNumber(1, 1000),
        hint: "npm run stack -- config <stack> set backupKeep 14",
    },
    backupMaxAgeDays: {
        schema: wholeNumber(1, 3650),
        hint: "npm run stack -- config <stack> set backupMaxAgeDays 30",
    },
    backupSchedule: {
        schema: z.string().regex(/^[A-Za-z0-9*:,./~ -]+$/, "is not a systemd calendar expression (see: systemd-analyze calendar '<expression>')"),
        hint: "npm run stack -- config <stack> set backupSchedule '*-*-* 03:00:00'",
    },
    offsiteRepository: {
        schema: z.string()
            .regex(/^(sftp:[^\s'"]+|rest:https?:\/\/[^\s'"]+|\/[A-Za-z0-9_.\/-]+)$/, "must be a restic repository: sftp:user@host:/path, rest:https://host/path or an absolute path on another disk")
            .refine((repo) => !/^rest:https?:\/\/[^/@]*:[^/@]*@/.test(repo), "holds a password (user:password@): it would be on restic's command line; use an sftp: repository with the container user's SSH key, or a REST server without one"),
        hint: "npm run stack -- config <stack> set offsiteRepository sftp:backup@backup.example.org:/srv/restic/rezept-tagebuch-<stack> (a repository of this stack's own)",
    },
    offsitePassword: {
        schema: z.string().min(12, "must be at least 12 characters").regex(/^[^\n]+$/, "must be one line"),
        hint: "npm run stack -- config <stack> set --secret offsitePassword (it prompts; keep a copy off the host: without it the off-host backups cannot be read)",
        secret: true,
    },
    resticImage: { schema: z.string(), hint: "npm run stack -- config <stack> set resticImage docker.io/restic/restic:0.17.3" },
    restoreDrillSchedule: {
        schema: z.string().regex(/^[A-Za-z0-9*:,./~ -]+$/, "is not a systemd calendar expression (see: systemd-analyze calendar '<expression>')"),
        hint: "npm run stack -- config <stack> set restoreDrillSchedule 'Sun *-*-* 04:00:00'",
    },
    pitr: {
        schema: bool,
        hint: "npm run stack -- config <stack> set pitr true (needs offsiteRepository: the WAL goes there), or npm run stack -- config <stack> set pitr false",
    },
    walReserveMiB: {
        schema: wholeNumber(64, 1048576),
        hint: "npm run stack -- config <stack> set walReserveMiB 2048 (the free MiB the WAL archive leaves on its disk; the health check alerts below twice that)",
    },
    deployTimeoutSeconds: {
        schema: wholeNumber(10, 1800),
        hint: "npm run stack -- config <stack> set deployTimeoutSeconds 180",
    },
    adoptDbDataVolume: { schema: bool, hint: "npm run stack -- config <stack> set adoptDbDataVolume true (only when the volume dbDataVolume names exists on the host)" },
    adoptAppDataVolume: { schema: bool, hint: "npm run stack -- config <stack> set adoptAppDataVolume true (only when the volume appDataVolume names exists on the host)" },
    proxyNetwork: { schema: resourceName, hint: "npm run stack -- config <stack> set proxyNetwork seaser-network" },
    systemdScope: { schema: z.enum(["user", "system"], "must be user or system"), hint: "npm run stack -- config <stack> set systemdScope user" },
    hostConnection: { schema: z.enum(["local", "ssh"], "must be local or ssh"), hint: "npm run stack -- config <stack> set hostConnection local" },
    dockerHost: {
        schema: z.string().regex(/^(unix|tcp|ssh):\/\/\S+$/, "must be a unix://, tcp:// or ssh:// address"),
        hint: "npm run stack -- config <stack> set dockerHost unix:///run/user/1000/podman/podman.sock",
    },
    sshHost: { schema: z.string().regex(/^[A-Za-z0-9.:-]+$/, "must be a host name or address"), hint: "npm run stack -- config <stack> set sshHost host.example" },
    sshUser: { schema: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "must be a user name"), hint: "npm run stack -- config <stack> set sshUser seaser" },
    sshPort: { schema: port, hint: "npm run stack -- config <stack> set sshPort 22" },
    sshHostKey: {
        schema: z.string().transform((line, ctx) => {
            const parsed = parseHostKey(line);
            if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
            return parsed.ok ? parsed.key : z.NEVER;
        }),
        hint: "npm run stack -- config <stack> set sshHostKey \"$(ssh-keyscan -t ed25519 <sshHost> | grep -v '^#')\" (check its fingerprint with ssh-keygen -lf against the host's own: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)",
    },
    proxyUrl: { schema: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, "must be an http:// or https:// URL"), hint: "npm run stack -- config <stack> set proxyUrl http://host/rezept-tagebuch-dev/" },
    alertCommand: { schema: z.string().regex(/^[^\n]+$/, "must be one line"), hint: "npm run stack -- config <stack> set alertCommand 'mail -s rezept-tagebuch ops@example.org'" },
    alertWebhookUrl: { schema: z.string().regex(/^https?:\/\/\S+$/, "must be an http:// or https:// URL"), hint: "npm run stack -- config <stack> set --secret alertWebhookUrl (it prompts for the URL; in a script: npm run stack -- config <stack> set --secret alertWebhookUrl < url-file)", secret: true },
    alertRepeatMinutes: {
        schema: wholeNumber(5, 10080),
        hint: "npm run stack -- config <stack> set alertRepeatMinutes 60",
    },
    healthIntervalMinutes: {
        schema: wholeNumber(1, 60),
        hint: "npm run stack -- config <stack> set healthIntervalMinutes 5",
    },
    sshPrivateKey: { schema: z.string().includes("PRIVATE KEY", "is not a PEM private key"), hint: "npm run stack -- config <stack> set --secret sshPrivateKey < ~/.ssh/id_ed25519", secret: true },
} as const;

export type ConfigKey = keyof typeof KEYS;
/** Keys whose values must be Pulumi secrets. */
export const SECRET_KEYS = (Object.keys(KEYS) as ConfigKey[]).filter((key) => "secret" in KEYS[key]);
export const CONFIG_KEYS = Object.keys(KEYS) as ConfigKey[];
type Parsed<K extends ConfigKey> = z.output<(typeof KEYS)[K]["schema"]>;

/**
 * Validates the raw configuration of one stack. Every problem is collected, so
 * the operator fixes them in one round; nothing is registered before this returns.
 * `given` maps keys without the project prefix to their string values. An empty value
 * is no value, for every key and every check below: Pulumi.yaml declares "" as the
 * default of keys whose default the program derives, because the CLI requires every
 * declared key without a default, and the CLI hands the program that "".
 * `isSecret` tells whether a key's value came from an encrypted (`secure:`) entry.
 * `otherStacks` is what the project's other stack files set (stackFileSettings): a
 * stack may not name a volume they set, nor any other environment's derived names.
 */
export function parseStackConfig(
    stack: string,
    given: Readonly<Record<string, string | undefined>>,
    isSecret: (key: string) => boolean = () => true,
    otherStacks: OtherStacks = {},
): StackConfig {
    const raw: Readonly<Record<string, string>> = Object.fromEntries(
        Object.entries(given).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ""));
    const problems: string[] = [];
    // Each fix names `npm run stack`, which finds the CLI also where it is the project's own copy, not on PATH.
    const fail = (key: string, what: string, fix: string) => problems.push(`${PROJECT}:${key} ${what}; fix: ${fix.replaceAll("<stack>", stack)}`);

    if (!(ENVIRONMENTS as readonly string[]).includes(stack)) {
        throw new ConfigError([`stack "${stack}" is not an environment of ${PROJECT}; allowed stacks: ${ENVIRONMENTS.join(", ")}; fix: npm run stack -- preview prod|dev|test (the stack names are the environments)`]);
    }
    const environment = stack as EnvironmentName;
    const names = environmentNames(environment);

    if (raw.adoptExistingVolumes !== undefined) {
        // One flag imported both volumes, and failed after the old containers were gone when one of them did not exist.
        const set = raw.adoptExistingVolumes === "true" ? ` && npm run stack -- config ${stack} set adoptDbDataVolume true && npm run stack -- config ${stack} set adoptAppDataVolume true (each only if that volume exists on the host)` : "";
        fail("adoptExistingVolumes", "was replaced by adoptDbDataVolume and adoptAppDataVolume, one per volume (npm run adopt sets them)", `npm run stack -- config ${stack} rm adoptExistingVolumes${set}`);
    }
    for (const key of Object.keys(raw)) {
        if (!(key in KEYS) && key !== "adoptExistingVolumes") {
            fail(key, "is not a setting of this program (a typo?)", `npm run stack -- config ${stack} rm ${key}; known keys: ${CONFIG_KEYS.join(", ")}`);
        }
    }
    // The CLI enforces `secret: true` only on keys without a default, so the optional secrets are checked here.
    for (const key of SECRET_KEYS) {
        if (raw[key] && !isSecret(key)) fail(key, "is stored in plaintext", `npm run stack -- config ${stack} set --secret ${key} (it asks for the value), then commit the encrypted stack file`);
    }

    function read<K extends ConfigKey>(key: K): Parsed<K> | undefined;
    function read<K extends ConfigKey>(key: K, fallback: Parsed<K>): Parsed<K>;
    function read<K extends ConfigKey>(key: K, fallback?: Parsed<K>): Parsed<K> | undefined {
        const value = raw[key];
        if (value === undefined) return fallback;
        const result = KEYS[key].schema.safeParse(value);
        if (result.success) return result.data as Parsed<K>;
        fail(key, describeIssue(result.error.issues[0]), KEYS[key].hint);
        return fallback;
    }
    function need<K extends ConfigKey>(key: K, why: string): Parsed<K> | undefined {
        if (!raw[key]) fail(key, `is required ${why}`, KEYS[key].hint);
        return read(key);
    }

    const warnings: string[] = [];
    const dbPassword = need("dbPassword", "(the PostgreSQL password, kept as a secret)");
    const dbImage = read("dbImage", "docker.io/library/postgres:16-alpine");
    const dbImageCheck = checkPinnedImage(dbImage);
    if (!dbImageCheck.ok) fail("dbImage", dbImageCheck.reason, KEYS.dbImage.hint);

    const appEnabled = read("appEnabled", true);
    let app: StackConfig["app"];
    if (appEnabled) {
        const image = need("appImage", `when the ${environment} app is enabled`);
        const env = read("appEnv", {});
        const secretEnv = read("appSecretEnv", {});
        for (const [mapKey, map] of [["appEnv", env], ["appSecretEnv", secretEnv]] as const) {
            const managed = Object.keys(map).filter((name) => MANAGED_APP_ENV.includes(name));
            if (managed.length > 0) {
                fail(mapKey, `sets ${managed.join(", ")}, which the program derives from the database and image`, `remove ${managed[0]} from the JSON object in ${mapKey}`);
            }
        }
        const both = Object.keys(env).filter((name) => name in secretEnv);
        if (both.length > 0) fail("appEnv", `and appSecretEnv both set ${both.join(", ")}`, `keep ${both[0]} in one of them`);
        if (image !== undefined) {
            const check = checkAppImage(environment, image);
            if (!check.ok) {
                fail("appImage", check.reason, `npm run stack -- config ${stack} set appImage with a versioned image: ${ACCEPTED_FORMS}`);
            } else {
                if (check.warning) warnings.push(check.warning);
                const paths = read("appImageVolumes", []);
                for (const problem of imageVolumePathProblems(paths, names.appContainer)) fail("appImageVolumes", problem, KEYS.appImageVolumes.hint);
                app = {
                    image,
                    version: imageVersion(check.ref),
                    port: read("appPort", 80),
                    healthPath: read("appHealthPath", "/api/version"),
                    volume: read("appDataVolume", names.appVolume),
                    env,
                    secretEnv: pulumi.secret(secretEnv),
                    imageVolumes: paths.map((path) => ({ path, volume: imageVolumeName(names.appContainer, path) })),
                };
            }
        }
    }

    const hostConnection = read("hostConnection", "local");
    let connection: StackConfig["connection"] = { kind: "local" };
    if (hostConnection === "ssh") {
        const host = need("sshHost", "when hostConnection is ssh");
        const user = need("sshUser", "when hostConnection is ssh");
        const privateKey = need("sshPrivateKey", "when hostConnection is ssh");
        // Without it the command provider accepts any host key (pulumi-command v1.2.1,
        // provider/pkg/provider/remote/connection.go:88-98, InsecureIgnoreHostKey): a man in the middle would get the key's sessions.
        const hostKey = need("sshHostKey", "when hostConnection is ssh (the host's public key, so no other host is trusted)");
        // The docker provider cannot reuse the command's key: the Podman API must be reachable on its own.
        if (raw.dockerHost === undefined) fail("dockerHost", "is required when hostConnection is ssh (the Podman API of the same host)", KEYS.dockerHost.hint);
        if (host !== undefined && user !== undefined && privateKey !== undefined && hostKey !== undefined) {
            connection = { kind: "ssh", host, user, port: read("sshPort", 22), privateKey: pulumi.secret(privateKey), hostKey };
        }
    }

    let offsite: StackConfig["backup"]["offsite"];
    const offsiteRepository = read("offsiteRepository");
    const resticImage = read("resticImage", "docker.io/restic/restic:0.17.3");
    const resticImageCheck = checkPinnedImage(resticImage);
    if (!resticImageCheck.ok) fail("resticImage", resticImageCheck.reason, KEYS.resticImage.hint);
    const drillSchedule = read("restoreDrillSchedule", "Sun *-*-* 04:00:00");
    // On by default where it matters most, prod, once there is somewhere off the host for the WAL to go.
    const pitr = read("pitr", environment === "prod" && offsiteRepository !== undefined);
    const walReserveMiB = read("walReserveMiB", DEFAULT_WAL_RESERVE_MIB);
    if (pitr && offsiteRepository === undefined) {
        fail("pitr", "is true but offsiteRepository is not set: point-in-time recovery keeps its WAL and base backups in the off-host repository",
            `npm run stack -- config ${stack} set offsiteRepository sftp:backup@backup.example.org:/srv/restic/rezept-tagebuch-${stack} (and --secret offsitePassword), or npm run stack -- config ${stack} set pitr false`);
    }
    if (offsiteRepository !== undefined) {
        const offsitePassword = need("offsitePassword", "when offsiteRepository is set (restic encrypts the repository with it)");
        // One repository per stack: one stack's retention or restore never meets another's backups.
        for (const [other, settings] of Object.entries(otherStacks)) {
            if (settings?.offsiteRepository?.replace(/\/+$/, "") === offsiteRepository.replace(/\/+$/, "")) {
                fail("offsiteRepository", `is also the offsiteRepository of the ${other} stack (Pulumi.${other}.yaml)`, `give each stack a repository of its own, e.g. npm run stack -- config ${stack} set offsiteRepository ${offsiteRepository.replace(/\/+$/, "")}-${stack}`);
            }
        }
        if (offsitePassword !== undefined) offsite = { repository: offsiteRepository, password: pulumi.secret(offsitePassword), image: resticImage, drillSchedule, pitr, walReserveMiB };
    } else if (raw.offsitePassword !== undefined) {
        warnings.push(`${PROJECT}:offsitePassword is set but offsiteRepository is not, so nothing goes off the host; set offsiteRepository (README: Disaster recovery)`);
    }

    const alertWebhookUrl = read("alertWebhookUrl");
    const config: StackConfig = {
        environment,
        names,
        proxyNetwork: read("proxyNetwork", "seaser-network"),
        adoptDbDataVolume: read("adoptDbDataVolume", false),
        adoptAppDataVolume: read("adoptAppDataVolume", false),
        dockerHost: read("dockerHost"),
        db: {
            image: dbImage,
            name: read("dbName", names.dbName),
            user: read("dbUser", "postgres"),
            port: read("dbPort", 5432),
            volume: read("dbDataVolume", names.dbVolume),
            password: pulumi.secret(dbPassword ?? ""),
        },
        app,
        boot: {
            scope: read("systemdScope", "user"),
            dbHealthTimeoutSeconds: read("dbHealthTimeoutSeconds", 120),
        },
        deployTimeoutSeconds: read("deployTimeoutSeconds", 180),
        backup: {
            directory: backupDirectory(environment, read("backupDir")),
            keep: read("backupKeep", 14),
            maxAgeDays: read("backupMaxAgeDays", 30),
            schedule: read("backupSchedule", "*-*-* 03:00:00"),
            offsite,
        },
        connection,
        health: {
            proxyUrl: read("proxyUrl"),
            alertCommand: read("alertCommand"),
            alertWebhookUrl: alertWebhookUrl === undefined ? undefined : pulumi.secret(alertWebhookUrl),
            alertRepeatMinutes: read("alertRepeatMinutes", 60),
            intervalMinutes: read("healthIntervalMinutes", 5),
        },
        warnings,
    };
    isolationProblems(config, raw, otherStacks, fail);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
}

const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"];

/**
 * The public key of a known_hosts line (`ssh-keyscan` prints `<host> <type> <base64>`) or of a
 * `.pub` file (`<type> <base64> [comment]`), as `<type> <base64>`: the form the command provider
 * parses (ssh.ParseAuthorizedKey, connection.go:89). A key's base64 starts with its own type name
 * (RFC 4253 6.6), so a cut or pasted-wrong key is caught here, not at the first connection.
 */
export function parseHostKey(line: string): { ok: true; key: string } | { ok: false; reason: string } {
    const fields = line.trim().split(/\s+/);
    const at = fields.findIndex((field) => HOST_KEY_TYPES.includes(field));
    if (at < 0 || at > 1 || fields.length < at + 2) {
        return { ok: false, reason: `is not a host key line (expected "<host> <type> <base64>" as ssh-keyscan prints it, or "<type> <base64>" of /etc/ssh/ssh_host_*_key.pub; types: ${HOST_KEY_TYPES.join(", ")})` };
    }
    const [type, encoded] = [fields[at], fields[at + 1]];
    const blob = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, "base64") : Buffer.alloc(0);
    // The wire form is length-prefixed fields, the first the type's name (RFC 4253 6.6); a cut key ends inside a field.
    const parts: Buffer[] = [];
    for (let offset = 0; offset + 4 <= blob.length && offset + 4 + blob.readUInt32BE(offset) <= blob.length; offset += 4 + blob.readUInt32BE(offset)) {
        parts.push(blob.subarray(offset + 4, offset + 4 + blob.readUInt32BE(offset)));
    }
    const whole = parts.reduce((length, part) => length + 4 + part.length, 0) === blob.length;
    if (!whole || parts.length < 2 || parts[0].toString("latin1") !== type) {
        return { ok: false, reason: `is a ${type} line whose data is not a whole ${type} key (cut short or pasted wrong?)` };
    }
    return { ok: true, key: `${type} ${encoded}` };
}

/**
 * The known_hosts line that pins a host key, as pulumi-command pins it: ssh.ParseAuthorizedKey
 * of the key, then ssh.FixedHostKey, the only key of the only algorithm accepted (connection.go:88-94).
 * OpenSSH names a host on another port than 22 `[host]:port` (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT).
 */
export function knownHostsLine(target: { readonly host: string; readonly port: number; readonly hostKey: string }): string {
    const name = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
    const [type, key] = target.hostKey.trim().split(/\s+/);
    return `${name} ${type} ${key}\n`;
}

/**
 * Environment isolation by name, before anything is registered: dev must not run on
 * prod's data files nor join prod's database network because a key names them. A
 * derived name is the environment's own, so only a key that is set can name another's.
 */
function isolationProblems(
    config: StackConfig, raw: Readonly<Record<string, string>>, otherStacks: OtherStacks,
    fail: (key: string, what: string, fix: string) => void,
): void {
    const env = config.environment;
    const defaults: Record<VolumeKey, string> = { dbDataVolume: config.names.dbVolume, appDataVolume: config.names.appVolume };
    for (const key of Object.keys(VOLUME_KEYS) as VolumeKey[]) {
        const owner = raw[key] === undefined ? undefined : foreignVolumeOwner(raw[key], env, otherStacks);
        if (owner) {
            fail(key, `is ${raw[key]}, ${owner.how}: the ${env} stack would use ${owner.environment}'s data`,
                `npm run stack -- config ${env} rm ${key} (the ${env} ${VOLUME_KEYS[key]} is then ${defaults[key]}), or npm run stack -- config ${env} set ${key} <a volume no other stack names>`);
        }
    }
    // A key naming one of its own environment's point-in-time recovery volumes: data or uploads in the WAL archive
    // (whose clean-up deletes files, lib/pitr.ts) or in the restore's scratch volume (pitr-<env>.sh removes it with --force).
    // Or one of its app image volumes' names (lib/appImageVolumes.ts): the uploads or the data would share a volume with an image path.
    for (const key of Object.keys(VOLUME_KEYS) as VolumeKey[]) {
        const reserved = raw[key] === undefined ? undefined : derivedVolumes(env)
            .find((volume) => (volume.use === "pitr" && !volume.prefix && volume.name === raw[key]) || (volume.use === "appImageVolumes" && holds(volume, raw[key])));
        if (reserved) {
            fail(key, `is ${raw[key]}, the ${env} ${reserved.what}, which the ${env} stack and its scripts use for nothing else`,
                `npm run stack -- config ${env} rm ${key} (it is then ${defaults[key]}), or npm run stack -- config ${env} set ${key} <another volume>`);
        }
    }
    if (config.app && config.app.volume === config.db.volume) {
        const key: VolumeKey = raw.appDataVolume === undefined ? "dbDataVolume" : "appDataVolume";
        fail(key, `is ${raw[key]}, the same volume as the ${key === "appDataVolume" ? "database's (dbDataVolume)" : "app's uploads (appDataVolume)"}: the app's uploads would land in the database's data files`,
            `npm run stack -- config ${env} rm ${key} (it is then ${defaults[key]}), or npm run stack -- config ${env} set ${key} <another volume>`);
    }
    const owner = internalNetworkOwner(config.proxyNetwork);
    if (owner) {
        const what = owner === env ? `the ${env} internal network: the reverse proxy would have to join the ${env} database's network to reach the app` : `the ${owner} internal network: the ${env} app would join ${owner}'s database network`;
        fail("proxyNetwork", `is ${config.proxyNetwork}, ${what}`, `npm run stack -- config ${env} set proxyNetwork seaser-network (the reverse proxy's own network, which no environment owns)`);
    }
}

/**
 * A stack file's `config:` as parseStackConfig takes it: keys of this project without
 * the prefix, plain values as text. An encrypted value (`secure:`) is left out: no
 * volume or network key is a secret, and another stack's secrets stay unread.
 */
export function stackFileSettings(config: Readonly<Record<string, unknown>>): Record<string, string> {
    const prefix = `${PROJECT}:`;
    const settings: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(prefix) && (typeof value === "string" || typeof value === "number" || typeof value === "boolean")) {
            settings[key.slice(prefix.length)] = String(value);
        }
    }
    return settings;
}

/** Each stack keeps its backups in a folder of its own name, below backupDir or the default. */
function backupDirectory(environment: EnvironmentName, configured: string | undefined): string {
    return configured === undefined ? defaultBackupDirectory(environment) : `${configured.replace(/\/+$/, "")}/${environment}`;
}

/**
 * Reads this stack's configuration from Pulumi, and the project's other stack files
 * from beside Pulumi.yaml: the working directory, where the CLI runs the program
 * (run.js --pwd, @pulumi/pulumi cmd/run/run.js; the project sets no `main`). Not
 * getRootDirectory(): without the CLI it is the literal "rootDirectory"
 * (runtime/state.js). The only place the program touches config.
 */
export function readStackConfig(): StackConfig {
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
    }
    // Internal to the SDK (not in its typings): whether the CLI passed a key as a secret.
    const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
    const stack = pulumi.getStack();
    const otherStacks: Partial<Record<EnvironmentName, Record<string, string>>> = {};
    for (const other of ENVIRONMENTS.filter((env) => env !== stack)) {
        const file = join(process.cwd(), `Pulumi.${other}.yaml`);
        if (!existsSync(file)) continue;
        try {
            otherStacks[other] = stackFileSettings(parseYaml(readFileSync(file, "utf8"))?.config ?? {});
        } catch (error) {
            throw new ConfigError([`Pulumi.${other}.yaml cannot be read (${(error as Error).message.split("\n")[0]}), so the ${stack} stack cannot be checked against the ${other} stack's volumes; fix: repair the file (npm run stack -- config ${other} reads it)`]);
        }
    }
    return parseStackConfig(stack, raw, (key) => runtime.isConfigSecret(prefix + key), otherStacks);
}

/** How `npm run health` reaches a stack's host: here, or over SSH with the key the stack pins. */
export type HealthConnection =
    | { readonly kind: "local"; readonly scope: "user" | "system" }
    | { readonly kind: "ssh"; readonly scope: "user" | "system"; readonly host: string; readonly user: string; readonly port: number; readonly hostKey: string };

/**
 * The connection settings of a stack file (stackFileSettings' form), checked as the program
 * checks them; the private key stays encrypted: the operator's own SSH key or agent logs in.
 */
export function healthConnection(stack: EnvironmentName, settings: Readonly<Record<string, string>>): HealthConnection {
    const problems: string[] = [];
    const read = <K extends "systemdScope" | "hostConnection" | "sshHost" | "sshUser" | "sshPort" | "sshHostKey">(key: K): Parsed<K> | undefined => {
        const value = settings[key];
        if (value === undefined || value === "") return undefined;
        const result = KEYS[key].schema.safeParse(value);
        if (result.success) return result.data as Parsed<K>;
        problems.push(`${PROJECT}:${key} ${describeIssue(result.error.issues[0])}; fix: ${KEYS[key].hint.replaceAll("<stack>", stack)}`);
        return undefined;
    };
    const scope = read("systemdScope") ?? "user";
    const kind = read("hostConnection") ?? "local";
    if (kind === "local") {
        if (problems.length > 0) throw new ConfigError(problems);
        return { kind, scope };
    }
    const need = <K extends "sshHost" | "sshUser" | "sshHostKey">(key: K) => {
        const value = read(key);
        if (value === undefined && !problems.some((p) => p.startsWith(`${PROJECT}:${key} `))) {
            problems.push(`${PROJECT}:${key} is required when hostConnection is ssh; fix: ${KEYS[key].hint.replaceAll("<stack>", stack)}`);
        }
        return value;
    };
    const host = need("sshHost");
    const user = need("sshUser");
    const hostKey = need("sshHostKey");
    const port = read("sshPort") ?? 22;
    if (problems.length > 0 || host === undefined || user === undefined || hostKey === undefined) throw new ConfigError(problems);
    return { kind, scope, host, user, port, hostKey };
}
