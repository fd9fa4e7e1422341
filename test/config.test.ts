import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig, stackFileSettings } from "../lib/config";
import { OtherStacks } from "../lib/isolation";
import { validConfig } from "./harness";

/** The problems parseStackConfig reports, or [] when it accepts the config. */
function problems(stack: string, raw: Record<string, string | undefined>): string[] {
    try {
        parseStackConfig(stack, raw);
        return [];
    } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return [...(error as ConfigError).problems];
    }
}

function secretValue<T>(output: unknown): Promise<T> {
    return (output as any).promise();
}

/**
 * Each bad input: the stack, the config, the key the one-line message must name,
 * and a word of what is wrong.
 */
const BAD_INPUT: [string, string, Record<string, string | undefined>, string, string][] = [
    ["missing dbPassword", "prod", { ...validConfig("prod"), dbPassword: undefined }, "dbPassword", "is required"],
    ["short dbPassword", "dev", { ...validConfig("dev"), dbPassword: "short" }, "dbPassword", "at least 8"],
    ["missing appImage", "prod", { dbPassword: "long-enough-pw" }, "appImage", "is required"],
    ["missing appImage when test enables its app", "test", { ...validConfig("test"), appEnabled: "true" }, "appImage", "is required"],
    [":latest in prod", "prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:latest" }, "appImage", ":latest"],
    [":latest in dev", "dev", { ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:latest" }, "appImage", ":latest"],
    [":latest in test", "test", { ...validConfig("test"), appEnabled: "true", appImage: "localhost/x:latest" }, "appImage", ":latest"],
    ["no tag in prod", "prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch" }, "appImage", "no tag"],
    ["no tag in dev", "dev", { ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch" }, "appImage", "no tag"],
    [":dev in prod", "prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:dev" }, "appImage", "moving tag"],
    [":main in prod", "prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:main" }, "appImage", "moving tag"],
    ["malformed digest", "prod", { ...validConfig("prod"), appImage: "localhost/x@sha256:abc" }, "appImage", "digest"],
    ["uppercase repository", "prod", { ...validConfig("prod"), appImage: "Localhost/X:v1.2.3" }, "appImage", "not a valid image name"],
    ["appHealthPath without its leading /", "dev", { ...validConfig("dev"), appHealthPath: "api/recipes" }, "appHealthPath", "starts with /"],
    ["appHealthPath with a space", "dev", { ...validConfig("dev"), appHealthPath: "/api/recipes; rm -rf /" }, "appHealthPath", "no spaces"],
    ["appHealthPath with a quote", "dev", { ...validConfig("dev"), appHealthPath: "/api/'x'" }, "appHealthPath", "quotes"],
    ["appHealthPath with a shell character", "dev", { ...validConfig("dev"), appHealthPath: "/api/health?db=1&x=$(id)" }, "appHealthPath", "no spaces, quotes or &"],
    ["appEnv not JSON", "dev", { ...validConfig("dev"), appEnv: "LOG_LEVEL=debug" }, "appEnv", "not a JSON object"],
    ["appEnv not a map", "dev", { ...validConfig("dev"), appEnv: "[1,2]" }, "appEnv", ""],
    ["appEnv value not a string", "dev", { ...validConfig("dev"), appEnv: '{"WORKERS":4}' }, "appEnv", "strings"],
    ["appEnv bad name", "dev", { ...validConfig("dev"), appEnv: '{"LOG-LEVEL":"debug"}' }, "appEnv", "environment variable name"],
    ["appEnv overrides POSTGRES_HOST", "dev", { ...validConfig("dev"), appEnv: '{"POSTGRES_HOST":"seaser-postgres"}' }, "appEnv", "POSTGRES_HOST"],
    ["appSecretEnv overrides DEV_MODE", "dev", { ...validConfig("dev"), appSecretEnv: '{"DEV_MODE":"false"}' }, "appSecretEnv", "DEV_MODE"],
    ["appSecretEnv malformed", "prod", { ...validConfig("prod"), appSecretEnv: "{" }, "appSecretEnv", "not a JSON object"],
    ["same name in both maps", "prod", { ...validConfig("prod"), appEnv: '{"A":"1"}', appSecretEnv: '{"A":"2"}' }, "appEnv", "both set A"],
    ["dbPort 0", "prod", { ...validConfig("prod"), dbPort: "0" }, "dbPort", "1 to 65535"],
    ["dbPort 70000", "prod", { ...validConfig("prod"), dbPort: "70000" }, "dbPort", "1 to 65535"],
    ["dbPort not a number", "prod", { ...validConfig("prod"), dbPort: "fivefour" }, "dbPort", ""],
    ["appPort 65536", "dev", { ...validConfig("dev"), appPort: "65536" }, "appPort", "1 to 65535"],
    ["appPort fraction", "dev", { ...validConfig("dev"), appPort: "80.5" }, "appPort", "whole number"],
    ["sshPort out of range", "prod", { ...validConfig("prod"), hostConnection: "ssh", sshHost: "h", sshUser: "u", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----", dockerHost: "tcp://h:2375", sshPort: "0" }, "sshPort", "1 to 65535"],
    ["appEnabled not boolean", "test", { ...validConfig("test"), appEnabled: "yes" }, "appEnabled", "true or false"],
    ["dbImage :latest", "prod", { ...validConfig("prod"), dbImage: "postgres:latest" }, "dbImage", "not pinned"],
    ["dbImage untagged", "dev", { ...validConfig("dev"), dbImage: "postgres" }, "dbImage", "not pinned"],
    ["dbName with a dash", "prod", { ...validConfig("prod"), dbName: "rezepte-prod" }, "dbName", "identifier"],
    ["dbUser uppercase", "prod", { ...validConfig("prod"), dbUser: "Admin" }, "dbUser", "identifier"],
    ["dbDataVolume with a slash", "prod", { ...validConfig("prod"), dbDataVolume: "/srv/pg" }, "dbDataVolume", "letters, digits"],
    ["appDataVolume with a space", "dev", { ...validConfig("dev"), appDataVolume: "my uploads" }, "appDataVolume", "letters, digits"],
    ["appImage empty where the app runs (the declared default)", "dev", { ...validConfig("dev"), appImage: "" }, "appImage", "is required"],
    ["proxyNetwork with a space", "dev", { ...validConfig("dev"), proxyNetwork: "seaser network" }, "proxyNetwork", "letters, digits"],
    ["backupDir relative", "dev", { ...validConfig("dev"), backupDir: "backups" }, "backupDir", "absolute path"],
    ["backupDir with a space", "dev", { ...validConfig("dev"), backupDir: "/srv/my backups" }, "backupDir", "without spaces"],
    ["backupKeep 0", "dev", { ...validConfig("dev"), backupKeep: "0" }, "backupKeep", "1 to 1000"],
    ["backupMaxAgeDays not a number", "dev", { ...validConfig("dev"), backupMaxAgeDays: "a month" }, "backupMaxAgeDays", "number"],
    ["backupSchedule with a quote", "dev", { ...validConfig("dev"), backupSchedule: "daily'; rm -rf /" }, "backupSchedule", "calendar"],
    ["walReserveMiB not a number", "prod", { ...validConfig("prod"), walReserveMiB: "2 GiB" }, "walReserveMiB", "number"],
    ["walReserveMiB below a few segments", "prod", { ...validConfig("prod"), walReserveMiB: "10" }, "walReserveMiB", "64 to 1048576"],
    ["deploy timeout too long", "dev", { ...validConfig("dev"), deployTimeoutSeconds: "3600" }, "deployTimeoutSeconds", "10 to 1800"],
    ["health timeout too short", "prod", { ...validConfig("prod"), dbHealthTimeoutSeconds: "5" }, "dbHealthTimeoutSeconds", "10 to 1800"],
    ["systemdScope unknown", "prod", { ...validConfig("prod"), systemdScope: "global" }, "systemdScope", "user or system"],
    ["hostConnection unknown", "prod", { ...validConfig("prod"), hostConnection: "winrm" }, "hostConnection", "local or ssh"],
    ["ssh without host", "prod", { ...validConfig("prod"), hostConnection: "ssh", sshUser: "u", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----", dockerHost: "tcp://h:2375" }, "sshHost", "is required"],
    ["ssh without key", "prod", { ...validConfig("prod"), hostConnection: "ssh", sshHost: "h", sshUser: "u", dockerHost: "tcp://h:2375" }, "sshPrivateKey", "is required"],
    ["ssh key not PEM", "prod", { ...validConfig("prod"), hostConnection: "ssh", sshHost: "h", sshUser: "u", sshPrivateKey: "hunter2", dockerHost: "tcp://h:2375" }, "sshPrivateKey", "PEM"],
    ["ssh without dockerHost", "prod", { ...validConfig("prod"), hostConnection: "ssh", sshHost: "h", sshUser: "u", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, "dockerHost", "is required"],
    ["ssh with dockerHost at its declared empty default", "prod", { ...validConfig("prod"), hostConnection: "ssh", sshHost: "h", sshUser: "u", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----", dockerHost: "" }, "dockerHost", "is required"],
    ["dockerHost without scheme", "prod", { ...validConfig("prod"), dockerHost: "/run/podman/podman.sock" }, "dockerHost", "unix://"],
    ["proxyUrl without scheme", "dev", { ...validConfig("dev"), proxyUrl: "host/rezept-tagebuch-dev/" }, "proxyUrl", "http:// or https://"],
    ["alertWebhookUrl not a URL", "prod", { ...validConfig("prod"), alertWebhookUrl: "hooks.example" }, "alertWebhookUrl", "http:// or https://"],
    ["alertCommand on two lines", "prod", { ...validConfig("prod"), alertCommand: "mail\nrm -rf /" }, "alertCommand", "one line"],
    ["alertRepeatMinutes too short", "prod", { ...validConfig("prod"), alertRepeatMinutes: "1" }, "alertRepeatMinutes", "5 to 10080"],
    ["healthIntervalMinutes too long", "prod", { ...validConfig("prod"), healthIntervalMinutes: "90" }, "healthIntervalMinutes", "1 to 60"],
    ["dev on prod's database volume", "dev", { ...validConfig("dev"), dbDataVolume: "seaser-postgres-data" }, "dbDataVolume", "the prod database volume"],
    ["dev on prod's uploads volume", "dev", { ...validConfig("dev"), appDataVolume: "seaser-rezept-tagebuch-volume" }, "appDataVolume", "the prod uploads volume"],
    ["test on dev's database volume", "test", { ...validConfig("test"), dbDataVolume: "seaser-postgres-dev-data" }, "dbDataVolume", "the dev database volume"],
    ["test, without its app, naming prod's uploads volume", "test", { ...validConfig("test"), appDataVolume: "seaser-rezept-tagebuch-volume" }, "appDataVolume", "the prod uploads volume"],
    ["prod on dev's uploads volume", "prod", { ...validConfig("prod"), dbDataVolume: "seaser-rezept-tagebuch-dev-volume" }, "dbDataVolume", "the dev uploads volume"],
    ["prod on test's database volume", "prod", { ...validConfig("prod"), appDataVolume: "seaser-postgres-test-data" }, "appDataVolume", "the test database volume"],
    // Point-in-time recovery's volumes, whose names come from the database container (lib/isolation.ts derivedVolumes):
    // Podman's volume create takes over a volume of that name, so dev would mount prod's WAL archive.
    ["dev's uploads on prod's WAL archive", "dev", { ...validConfig("dev"), appDataVolume: "seaser-postgres-wal" }, "appDataVolume", "is seaser-postgres-wal, the prod WAL archive volume: the dev stack would use prod's data"],
    ["test's database on prod's restore scratch volume", "test", { ...validConfig("test"), dbDataVolume: "seaser-postgres-pitr-data" }, "dbDataVolume", "the prod point-in-time restore's scratch volume"],
    ["dev's database on prod's data kept before a restore", "dev", { ...validConfig("dev"), dbDataVolume: "seaser-postgres-data-before-pitr-20261201T140200Z" }, "dbDataVolume", "the prod data kept before a point-in-time restore"],
    ["prod's uploads on dev's WAL archive", "prod", { ...validConfig("prod"), appDataVolume: "seaser-postgres-dev-wal" }, "appDataVolume", "the dev WAL archive volume"],
    ["prod's uploads in its own WAL archive", "prod", { ...validConfig("prod"), appDataVolume: "seaser-postgres-wal" }, "appDataVolume", "is seaser-postgres-wal, the prod WAL archive volume, which the prod stack and its scripts use for nothing else"],
    ["dev's database in its own restore scratch volume", "dev", { ...validConfig("dev"), dbDataVolume: "seaser-postgres-dev-pitr-data" }, "dbDataVolume", "the dev point-in-time restore's scratch volume"],
    ["the database on the app's uploads volume", "dev", { ...validConfig("dev"), dbDataVolume: "seaser-rezept-tagebuch-dev-volume" }, "dbDataVolume", "the same volume as the app's uploads"],
    ["the uploads on the database's volume", "prod", { ...validConfig("prod"), appDataVolume: "seaser-postgres-data" }, "appDataVolume", "the same volume as the database's"],
    ["both volumes set to one name", "prod", { ...validConfig("prod"), dbDataVolume: "shared", appDataVolume: "shared" }, "appDataVolume", "the same volume"],
    ["proxyNetwork on prod's internal network", "dev", { ...validConfig("dev"), proxyNetwork: "seaser-rezept-tagebuch-prod-internal" }, "proxyNetwork", "dev app would join prod's database network"],
    ["proxyNetwork on its own internal network", "dev", { ...validConfig("dev"), proxyNetwork: "seaser-rezept-tagebuch-dev-internal" }, "proxyNetwork", "the dev internal network"],
    ["proxyNetwork on prod's internal network, in test without its app", "test", { ...validConfig("test"), proxyNetwork: "seaser-rezept-tagebuch-prod-internal" }, "proxyNetwork", "prod's database network"],
    ["misspelt key", "prod", { ...validConfig("prod"), appimage: "x" }, "appimage", "not a setting"],
    ["offsiteRepository without its password", "prod", { ...validConfig("prod"), offsiteRepository: "sftp:backup@b.example:/srv/restic/prod" }, "offsitePassword", "is required when offsiteRepository is set"],
    ["offsiteRepository that restic cannot name", "prod", { ...validConfig("prod"), offsiteRepository: "backup.example:/srv", offsitePassword: "a-long-repository-password" }, "offsiteRepository", "sftp:user@host:/path"],
    ["offsiteRepository with a quote", "prod", { ...validConfig("prod"), offsiteRepository: "sftp:b@h:/x';rm -rf /", offsitePassword: "a-long-repository-password" }, "offsiteRepository", "must be a restic repository"],
    ["offsiteRepository with a password in it", "prod", { ...validConfig("prod"), offsiteRepository: "rest:https://u:hunter2@b.example/prod", offsitePassword: "a-long-repository-password" }, "offsiteRepository", "holds a password"],
    ["offsitePassword short", "prod", { ...validConfig("prod"), offsiteRepository: "/mnt/usb/restic-prod", offsitePassword: "short" }, "offsitePassword", "at least 12"],
    ["resticImage :latest", "prod", { ...validConfig("prod"), resticImage: "docker.io/restic/restic:latest" }, "resticImage", ":latest"],
    ["restoreDrillSchedule with a quote", "prod", { ...validConfig("prod"), restoreDrillSchedule: "weekly'; rm -rf /" }, "restoreDrillSchedule", "calendar"],
    ["appImageVolumes not JSON", "dev", { ...validConfig("dev"), appImageVolumes: "/var/lib/app-cache" }, "appImageVolumes", "not a JSON array"],
    ["appImageVolumes an object", "dev", { ...validConfig("dev"), appImageVolumes: '{"/var/lib/app-cache":"x"}' }, "appImageVolumes", "JSON array of absolute paths"],
    ["appImageVolumes a relative path", "dev", { ...validConfig("dev"), appImageVolumes: '["var/lib/app-cache"]' }, "appImageVolumes", "not an absolute path"],
    ["appImageVolumes a trailing slash", "dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib/app-cache/"]' }, "appImageVolumes", "no trailing '/'"],
    ["appImageVolumes with ..", "dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib/../app-cache"]' }, "appImageVolumes", "not an absolute path"],
    ["appImageVolumes with a space", "dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib/app cache"]' }, "appImageVolumes", "not an absolute path"],
    ["appImageVolumes /", "dev", { ...validConfig("dev"), appImageVolumes: '["/"]' }, "appImageVolumes", "not an absolute path"],
    ["appImageVolumes /data", "dev", { ...validConfig("dev"), appImageVolumes: '["/data"]' }, "appImageVolumes", "/data is the uploads volume's (appDataVolume)"],
    ["appImageVolumes below /data", "dev", { ...validConfig("dev"), appImageVolumes: '["/data/cache"]' }, "appImageVolumes", "/data is the uploads volume's"],
    ["appImageVolumes a path twice", "dev", { ...validConfig("dev"), appImageVolumes: '["/var/cache","/var/cache"]' }, "appImageVolumes", "has /var/cache twice"],
    ["appImageVolumes two paths, one volume", "dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib-x","/var/lib/x"]' }, "appImageVolumes", "share one volume (seaser-rezept-tagebuch-dev-vol-var-lib-x)"],
    ["appDataVolume on one of its own app image volumes", "dev", { ...validConfig("dev"), appDataVolume: "seaser-rezept-tagebuch-dev-vol-var-cache" }, "appDataVolume", "the dev app image volumes (appImageVolumes)"],
    ["appDataVolume on a prod app image volume", "dev", { ...validConfig("dev"), appDataVolume: "seaser-rezept-tagebuch-vol-var-cache" }, "appDataVolume", "the prod app image volumes (appImageVolumes): the dev stack would use prod's data"],
];

describe("config validation: every bad input fails with one line naming the key, the fault and the fix", () => {
    it.each(BAD_INPUT)("%s", (_case, stack, raw, key, fault) => {
        const found = problems(stack, raw);
        expect(found.length).toBeGreaterThan(0);
        const line = found.find((problem) => problem.startsWith(`rezept-tagebuch:${key} `));
        expect(line, `no problem names ${key}: ${found.join(" | ")}`).toBeDefined();
        expect(line).toContain(fault);
        expect(line).toMatch(/; fix: \S/);
        expect(line).not.toContain("\n");
    });

    it("refuses an unknown stack and lists the allowed ones", () => {
        const found = problems("staging", validConfig("prod"));
        expect(found).toHaveLength(1);
        expect(found[0]).toContain('stack "staging"');
        expect(found[0]).toContain("prod, dev, test");
    });

    it("reports every problem at once, one line each", () => {
        const found = problems("prod", { appImage: "x:latest", dbPort: "0", systemdScope: "both" });
        expect(found.map((line) => line.split(" ")[0]).sort()).toEqual(
            ["rezept-tagebuch:appImage", "rezept-tagebuch:dbPassword", "rezept-tagebuch:dbPort", "rezept-tagebuch:systemdScope"],
        );
    });

    it("shows the accepted image forms when it refuses a prod image", () => {
        const [line] = problems("prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:latest" });
        expect(line).toContain("rezept_version_10_11_2025_001");
        expect(line).toContain("v25.11.10");
        expect(line).toContain("@sha256:");
    });
});

describe("a stack names no volume that the other stack files set", () => {
    /** parseStackConfig's problems for `stack` with `raw`, given what the other stacks' files set. */
    function problemsWith(stack: string, raw: Record<string, string>, otherStacks: OtherStacks): string[] {
        try {
            parseStackConfig(stack, raw, () => true, otherStacks);
            return [];
        } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            return [...(error as ConfigError).problems];
        }
    }

    it.each([
        ["dbDataVolume", "dbDataVolume", "the prod database volume (dbDataVolume in Pulumi.prod.yaml)"],
        ["appDataVolume", "appDataVolume", "the prod uploads volume (appDataVolume in Pulumi.prod.yaml)"],
        ["dbDataVolume", "appDataVolume", "the prod uploads volume (appDataVolume in Pulumi.prod.yaml)"],
    ] as const)("refuses dev's %s naming what prod's file sets as %s, one line with the fix", (key, prodKey, how) => {
        const found = problemsWith("dev", { ...validConfig("dev"), [key]: "pg-main" }, { prod: { [prodKey]: "pg-main" } });
        expect(found).toEqual([
            `rezept-tagebuch:${key} is pg-main, ${how}: the dev stack would use prod's data; fix: npm run stack -- config dev rm ${key} (the dev ${key === "dbDataVolume" ? "database" : "uploads"} volume is then ${key === "dbDataVolume" ? "seaser-postgres-dev-data" : "seaser-rezept-tagebuch-dev-volume"}), or npm run stack -- config dev set ${key} <a volume no other stack names>`,
        ]);
    });

    it("refuses it for any other stack, and accepts names no other stack sets", () => {
        expect(problemsWith("prod", { ...validConfig("prod"), dbDataVolume: "pg-t" }, { test: { dbDataVolume: "pg-t" } }))
            .toEqual([expect.stringContaining("rezept-tagebuch:dbDataVolume is pg-t, the test database volume (dbDataVolume in Pulumi.test.yaml)")]);
        expect(problemsWith("dev", { ...validConfig("dev"), dbDataVolume: "pg-dev", appDataVolume: "up-dev" },
            { prod: { dbDataVolume: "pg-prod", appDataVolume: "up-prod" }, test: { dbDataVolume: "pg-test" } })).toEqual([]);
    });

    it("refuses the data another stack kept before a restore into it (host/pitr.sh names it after that stack's dbDataVolume)", () => {
        expect(problemsWith("dev", { ...validConfig("dev"), appDataVolume: "pg-main-before-pitr-20261201T140200Z" }, { prod: { dbDataVolume: "pg-main" } })).toEqual([
            expect.stringMatching(/^rezept-tagebuch:appDataVolume is pg-main-before-pitr-20261201T140200Z, the prod data kept before a point-in-time restore \(from dbDataVolume in Pulumi\.prod\.yaml\): the dev stack would use prod's data; fix: /),
        ]);
        // A name of dev's own that merely begins like it is dev's.
        expect(problemsWith("dev", { ...validConfig("dev"), appDataVolume: "pg-main-uploads" }, { prod: { dbDataVolume: "pg-main" } })).toEqual([]);
    });

    it("a stack file claiming another environment's derived name refuses that stack, not the owner", () => {
        const prodFile = { dbDataVolume: "seaser-postgres-dev-data" };
        expect(problemsWith("dev", validConfig("dev"), { prod: prodFile })).toEqual([]);
        // Also where dev sets its own name (adoption sets the volume in use).
        expect(problemsWith("dev", { ...validConfig("dev"), dbDataVolume: "seaser-postgres-dev-data" }, { prod: prodFile })).toEqual([]);
        expect(problemsWith("prod", { ...validConfig("prod"), ...prodFile }, {})).toEqual([expect.stringContaining("the dev database volume")]);
    });

    it("refuses an offsiteRepository another stack's file sets: each stack's retention and restores meet its own backups only", () => {
        const offsite = { offsiteRepository: "sftp:backup@b.example:/srv/restic/rt/", offsitePassword: "a-long-repository-password" };
        expect(problemsWith("dev", { ...validConfig("dev"), ...offsite }, { prod: { offsiteRepository: "sftp:backup@b.example:/srv/restic/rt" } })).toEqual([
            "rezept-tagebuch:offsiteRepository is also the offsiteRepository of the prod stack (Pulumi.prod.yaml); fix: give each stack a repository of its own, e.g. npm run stack -- config dev set offsiteRepository sftp:backup@b.example:/srv/restic/rt-dev",
        ]);
        expect(problemsWith("dev", { ...validConfig("dev"), ...offsite }, { prod: { offsiteRepository: "sftp:backup@b.example:/srv/restic/rt-prod" } })).toEqual([]);
    });

    it("reads a stack file's plain values with the project prefix, and leaves encrypted ones out", () => {
        expect(stackFileSettings({
            "rezept-tagebuch:dbDataVolume": "pg-main", "rezept-tagebuch:appEnabled": false, "rezept-tagebuch:dbPort": 5433,
            "rezept-tagebuch:dbPassword": { secure: "v1:abc" }, "other-project:dbDataVolume": "x",
        })).toEqual({ dbDataVolume: "pg-main", appEnabled: "false", dbPort: "5433" });
    });
});

describe("config defaults match the host of the incident", () => {
    it("prod", () => {
        const config = parseStackConfig("prod", validConfig("prod"));
        expect(config.names.dbContainer).toBe("seaser-postgres");
        expect(config.names.appContainer).toBe("seaser-rezept-tagebuch");
        expect(config.db).toMatchObject({ name: "rezepte", user: "postgres", port: 5432, image: "docker.io/library/postgres:16-alpine" });
        expect(config.proxyNetwork).toBe("seaser-network");
        expect(config.app?.version).toBe("rezept_version_10_11_2025_001");
        expect(config.app?.healthPath).toBe("/api/version");
        expect(config.boot).toEqual({ scope: "user", dbHealthTimeoutSeconds: 120 });
        expect(config.connection).toEqual({ kind: "local" });
        expect(config.warnings).toEqual([]);
    });

    it("dev keeps its uploads volume and database", () => {
        const config = parseStackConfig("dev", validConfig("dev"));
        expect(config.names.dbContainer).toBe("seaser-postgres-dev");
        expect(config.db.name).toBe("rezepte_dev");
        expect(config.app?.volume).toBe("seaser-rezept-tagebuch-dev-volume");
    });

    it("test has a database and no app unless enabled", () => {
        expect(parseStackConfig("test", validConfig("test")).app).toBeUndefined();
        expect(parseStackConfig("test", validConfig("test")).db.name).toBe("rezepte_test");
        const enabled = parseStackConfig("test", { ...validConfig("test"), appEnabled: "true", appImage: "localhost/x:v1.0.0" });
        expect(enabled.app?.version).toBe("v1.0.0");
    });
});

describe("config accepts what an operator should be able to run", () => {
    it.each([
        ["prod", "localhost/seaser-rezept-tagebuch:rezept_version_10_11_2025_001", "rezept_version_10_11_2025_001"],
        ["prod", "localhost/seaser-rezept-tagebuch:v25.11.10", "v25.11.10"],
        ["prod", "registry.example:5000/seaser/rezept-tagebuch:1.4.2-rc.1", "1.4.2-rc.1"],
        ["prod", `localhost/seaser-rezept-tagebuch@sha256:${"a".repeat(64)}`, `sha256:${"a".repeat(64)}`],
        ["prod", `localhost/seaser-rezept-tagebuch:v1.0.0@sha256:${"b".repeat(64)}`, "v1.0.0"],
    ])("%s runs %s as APP_VERSION %s", (stack, appImage, version) => {
        const config = parseStackConfig(stack, { ...validConfig(stack), appImage });
        expect(config.app?.version).toBe(version);
        expect(config.warnings).toEqual([]);
    });

    it.each(["/api/recipes", "/health/db?full=1", "/api/v2/status.json"])("takes %s as the app's health path", (appHealthPath) => {
        expect(parseStackConfig("dev", { ...validConfig("dev"), appHealthPath }).app?.healthPath).toBe(appHealthPath);
    });

    it("dev runs :dev with a warning naming appImage", () => {
        const config = parseStackConfig("dev", { ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:dev" });
        expect(config.app?.version).toBe("dev");
        expect(config.warnings).toHaveLength(1);
        expect(config.warnings[0]).toContain("appImage");
    });

    it.each(["sftp:backup@backup.example:/srv/restic/rezept-prod", "rest:https://backup.example:8000/rezept-prod", "/mnt/usb-disk/restic/rezept-prod"])(
        "takes %s as an off-host repository, its password a Pulumi secret, restic pinned", async (repository) => {
            const config = parseStackConfig("prod", { ...validConfig("prod"), offsiteRepository: repository, offsitePassword: "a-long-repository-password" });
            expect(config.backup.offsite).toMatchObject({ repository, image: "docker.io/restic/restic:0.17.3", drillSchedule: "Sun *-*-* 04:00:00" });
            expect(await (config.backup.offsite!.password as any).isSecret).toBe(true);
            expect(await secretValue(config.backup.offsite!.password)).toBe("a-long-repository-password");
        });

    it("without offsiteRepository nothing goes off the host; a password alone is a warning", () => {
        expect(parseStackConfig("prod", validConfig("prod")).backup.offsite).toBeUndefined();
        const config = parseStackConfig("prod", { ...validConfig("prod"), offsitePassword: "a-long-repository-password" });
        expect(config.backup.offsite).toBeUndefined();
        expect(config.warnings).toEqual([expect.stringContaining("offsitePassword is set but offsiteRepository is not")]);
    });

    it("keeps secrets as Pulumi secrets and parses the env maps", async () => {
        const config = parseStackConfig("dev", {
            ...validConfig("dev"),
            appEnv: '{"LOG_LEVEL":"debug"}',
            appSecretEnv: '{"SESSION_SECRET":"abc"}',
        });
        expect(config.app?.env).toEqual({ LOG_LEVEL: "debug" });
        expect(await (config.db.password as any).isSecret).toBe(true);
        expect(await secretValue(config.db.password)).toBe("s3cret-pg-password");
        expect(await (config.app!.secretEnv as any).isSecret).toBe(true);
        expect(await secretValue(config.app!.secretEnv)).toEqual({ SESSION_SECRET: "abc" });
    });

    it("takes an SSH connection with the key as a secret", async () => {
        const config = parseStackConfig("prod", {
            ...validConfig("prod"), hostConnection: "ssh", sshHost: "rezept.example", sshUser: "seaser", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh",
            sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", dockerHost: "unix:///tmp/podman.sock",
        });
        expect(config.connection).toMatchObject({ kind: "ssh", host: "rezept.example", user: "seaser", port: 22 });
        if (config.connection.kind !== "ssh") throw new Error("expected ssh");
        expect(await (config.connection.privateKey as any).isSecret).toBe(true);
    });
});
