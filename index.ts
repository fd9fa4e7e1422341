import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { readStackConfig } from "./lib/config";
import { EnvironmentNetwork } from "./components/network";
import { Database } from "./components/database";
import { App } from "./components/app";
import { Backups } from "./components/backups";
import { BootUnits } from "./components/bootUnits";
import { HostCheck } from "./components/hostCheck";
import { DeployWindow, HealthCheck } from "./components/healthCheck";
import { DRILL_RESULT_FILE } from "./lib/offsite";
import { walVolumeName } from "./lib/pitr";
import { HealthSettings } from "./lib/healthUnits";
import { BootSpec, bootGraceSeconds, stackUnitFiles } from "./lib/systemd";
import { stackVolumes } from "./lib/isolation";

const config = readStackConfig();
config.warnings.forEach((warning) => pulumi.log.warn(warning));
const env = config.environment;
const names = config.names;

// Nothing of the stack goes on a host that fails the check: every docker resource uses this provider.
const hostCheck = new HostCheck(`${env}-host-check`, {
    spec: {
        environment: env, scope: config.boot.scope, proxyNetwork: config.app && config.proxyNetwork, internalNetwork: names.internalNetwork,
        healthIntervalMinutes: config.health.intervalMinutes,
        volumes: stackVolumes({
            environment: env, dbVolume: config.db.volume, appVolume: config.app?.volume,
            appImageVolumes: config.app?.imageVolumes.map((v) => v.volume), pitr: config.backup.offsite?.pitr ?? false,
        }),
    },
    connection: config.connection,
});
// Without dockerHost the provider uses DOCKER_HOST, e.g. the user's Podman socket.
const podman = new docker.Provider("podman", config.dockerHost ? { host: config.dockerHost } : {}, { dependsOn: [hostCheck.command] });
const opts = { providers: [podman] };
const gate = { connection: config.connection, scope: config.boot.scope, timeoutSeconds: config.deployTimeoutSeconds };

const backups = new Backups(`${env}-backup`, {
    spec: {
        environment: env, scope: config.boot.scope, dbContainer: names.dbContainer,
        app: config.app && { container: names.appContainer, volume: config.app.volume },
        directory: config.backup.directory, keep: config.backup.keep, maxAgeDays: config.backup.maxAgeDays,
    },
    schedule: config.backup.schedule,
    offsite: config.backup.offsite && {
        spec: { repository: config.backup.offsite.repository, image: config.backup.offsite.image, dbImage: config.db.image },
        password: config.backup.offsite.password,
        drillSchedule: config.backup.offsite.drillSchedule,
        pitr: config.backup.offsite.pitr ? { dbUser: config.db.user, dbName: config.db.name, dataVolume: config.db.volume, walVolume: walVolumeName(names.dbContainer) } : undefined,
    },
    connection: config.connection,
    hostCheck: hostCheck.command,
    risks: {
        appImage: config.app?.image, dbImage: config.db.image, dbName: config.db.name,
        dbUser: config.db.user, dbPort: config.db.port, dbDataVolume: config.db.volume,
        // Turning archiving on replaces the database container; only then a key, so other stacks' triggers stay as they were.
        ...(config.backup.offsite?.pitr ? { pitr: "on", walReserveMiB: config.backup.offsite.walReserveMiB } : {}),
    },
}, opts);
const bootSpec: BootSpec = {
    environment: env,
    scope: config.boot.scope,
    dbContainer: names.dbContainer,
    appContainer: config.app && names.appContainer,
    dbHealthTimeoutSeconds: config.boot.dbHealthTimeoutSeconds,
};
// The check runs on the host from what the stack installs there: nothing of this machine or checkout.
const health: HealthSettings = {
    environment: env,
    scope: config.boot.scope,
    connection: config.connection.kind,
    dbContainer: names.dbContainer,
    appContainer: config.app && names.appContainer,
    version: config.app?.version,
    appPort: config.app?.port,
    proxyUrl: config.health.proxyUrl,
    units: stackUnitFiles(bootSpec, backups.files.units),
    alertCommand: config.health.alertCommand,
    alertRepeatMinutes: config.health.alertRepeatMinutes,
    intervalMinutes: config.health.intervalMinutes,
    drillResultFile: config.backup.offsite && `${config.backup.directory}/${DRILL_RESULT_FILE}`,
    offsiteCopies: config.backup.offsite && {
        backupDirectory: config.backup.directory,
        pitr: config.backup.offsite.pitr ? { walReserveMiB: config.backup.offsite.walReserveMiB } : undefined,
    },
    bootGraceSeconds: bootGraceSeconds(bootSpec),
};
const deployWindow = new DeployWindow(`${env}-deploy-window`, {
    settings: health,
    configuration: config,
    deployTimeoutSeconds: config.deployTimeoutSeconds,
    connection: config.connection,
    hostCheck: hostCheck.command,
});
const network = new EnvironmentNetwork(env, { environment: env, networkName: names.internalNetwork }, opts);
const database = new Database(`${env}-db`, {
    environment: env,
    network,
    containerName: names.dbContainer,
    image: config.db.image,
    databaseName: config.db.name,
    user: config.db.user,
    port: config.db.port,
    volumeName: config.db.volume,
    password: config.db.password,
    adoptVolume: config.adoptDbDataVolume,
    pitr: config.backup.offsite?.pitr ?? false,
    walReserveMiB: config.backup.offsite?.walReserveMiB,
    gate,
    after: [backups.beforeDeploy, deployWindow.opened],
}, opts);

const app = config.app && new App(`${env}-app`, {
    environment: env,
    database,
    network,
    proxyNetwork: config.proxyNetwork,
    containerName: names.appContainer,
    image: config.app.image,
    version: config.app.version,
    port: config.app.port,
    healthPath: config.app.healthPath,
    volumeName: config.app.volume,
    imageVolumes: config.app.imageVolumes,
    env: config.app.env,
    secretEnv: config.app.secretEnv,
    adoptVolume: config.adoptAppDataVolume,
    gate,
    after: [backups.beforeDeploy, deployWindow.opened],
}, opts);

const boot = new BootUnits(`${env}-boot`, {
    spec: bootSpec,
    connection: config.connection,
    containers: app ? [database.ready, app.ready] : [database.ready],
    extra: backups.files,
});

new HealthCheck(`${env}-health`, {
    settings: deployWindow.settings,
    webhookUrl: config.health.alertWebhookUrl,
    connection: config.connection,
    dependsOn: [boot.installer],
    deployWindow,
});

export const environment = env;
export const dbContainer = database.containerName;
export const dbVolume = database.volume.name;
// null, not undefined, where the environment runs no app: Pulumi drops undefined outputs with a warning.
export const appContainer = app?.containerName ?? null;
export const appVolume = app?.volume.name ?? null;
/** The tag that last passed the health gate: a rollback sets appImage back to it (a failed deploy leaves it unchanged). */
export const appImageTag = app?.healthyVersion ?? null;
export const appImageId = app?.healthyImageId ?? null;
export const systemdUnits = boot.units;
