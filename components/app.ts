import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { EnvironmentName } from "../lib/environments";
import { renderAppEnv } from "../lib/appEnv";
import { AppImageVolume, renderImageVolumeCheck, UPLOADS_PATH } from "../lib/appImageVolumes";
import { renderAppReadyScript } from "../lib/readiness";
import { renderStandbyRemoval, renderStandbyScript, SwitchoverSpec } from "../lib/switchover";
import { Database } from "./database";
import { DeployGate, hostCommand } from "./hostCommand";
import { dataVolume, hostImage, ownedContainer } from "./hostResources";
import { assertSameEnvironment, EnvironmentNetwork } from "./network";

/** AppArgs describe the parameters to an App component. */
export interface AppArgs<E extends EnvironmentName> {
    /** The environment the app serves; it decides which database it may use. */
    readonly environment: E;
    /** The database of the same environment: the only source of the connection settings. */
    readonly database: Database<NoInfer<E>>;
    /** The same environment's internal network, where the database is. */
    readonly network: EnvironmentNetwork<NoInfer<E>>;
    /** The shared reverse-proxy network; no stack owns it. */
    readonly proxyNetwork: string;
    readonly containerName: string;
    /** A versioned image reference (checked by the config). */
    readonly image: string;
    /** The deployed tag, reported by the app as APP_VERSION. */
    readonly version: string;
    /** The port the app listens on inside its container. */
    readonly port: number;
    /** The path its healthcheck asks (appHealthPath): the deploy gate and the standby judge the app by it. */
    readonly healthPath: string;
    /** The uploads volume, mounted at /data. */
    readonly volumeName: string;
    /** The image's own VOLUME paths besides /data, each with the named volume mounted there (lib/appImageVolumes.ts). */
    readonly imageVolumes?: readonly AppImageVolume[];
    /** Extra settings (formerly the .env file). */
    readonly env: Readonly<Record<string, string>>;
    /** Extra secret settings; a Pulumi secret. */
    readonly secretEnv: pulumi.Input<Record<string, string>>;
    /** Take over an uploads volume of this name that already exists on the host. */
    readonly adoptVolume?: boolean;
    /** Where the health gate runs, and how long `pulumi up` waits for a new container to be healthy. */
    readonly gate: DeployGate;
    /** What must be done before the container is created or replaced (the backup). */
    readonly after?: pulumi.Resource[];
}

/** The Rezept-Tagebuch app of one environment: versioned image, uploads volume, healthcheck on appHealthPath. */
export class App<E extends EnvironmentName> extends pulumi.ComponentResource {
    readonly environment: E;
    readonly containerName: string;
    /** The id the deployed image reference resolved to on the host. */
    readonly imageId: pulumi.Output<string>;
    readonly volume: docker.Volume;
    /** The volumes at the image's own VOLUME paths (appImageVolumes), kept across deploys as the uploads are. */
    readonly imageVolumes: docker.Volume[];
    /** Runs once the image is on the host, before the standby or the container: refuses a VOLUME no named volume covers. */
    readonly imageVolumeCheck: command.local.Command | command.remote.Command;
    readonly image: docker.RemoteImage;
    readonly container: docker.Container;
    /** Runs before the container is replaced: a copy of the running app answers under its name meanwhile. */
    readonly standby: command.local.Command | command.remote.Command;
    /** Runs after each new container: `pulumi up` succeeds only once the app is healthy; then it joins the proxy network. */
    readonly ready: command.local.Command | command.remote.Command;
    /** The deployed tag, resolved only once `ready` passed: for the stack output the rollback reads. */
    readonly healthyVersion: pulumi.Output<string>;
    /** `imageId`, resolved only once `ready` passed. */
    readonly healthyImageId: pulumi.Output<string>;

    constructor(name: string, args: AppArgs<E>, opts?: pulumi.ComponentResourceOptions) {
        // Checked before anything is registered: the types stop literal mix-ups, this stops the rest.
        assertSameEnvironment("app", args.environment, args.database, "database");
        assertSameEnvironment("app", args.environment, args.network, "network");
        super("rezept-tagebuch:index:App", name, {}, opts);
        this.environment = args.environment;
        this.containerName = args.containerName;

        // Droppable: `appEnabled false` lets go of it (components/hostResources.ts dataVolume); the uploads stay on the host.
        this.volume = dataVolume(`${name}-data`, args.volumeName, { adopt: args.adoptVolume, droppable: true }, this);
        this.image = hostImage(`${name}-image`, args.image, this);
        this.imageId = this.image.imageId;
        const imageVolumes = args.imageVolumes ?? [];
        const paths = imageVolumes.map((v) => v.path);
        this.imageVolumeCheck = hostCommand(`${name}-image-volumes`, args.gate.connection, {
            create: this.imageId.apply((imageId) => renderImageVolumeCheck({ stack: args.environment, image: args.image, imageId, paths })),
            triggers: [this.imageId, paths],
        }, { parent: this });
        // Made only once the image passed the check, so a refused deploy leaves no new volume either. Droppable as the uploads.
        this.imageVolumes = imageVolumes.map(({ path, volume }) =>
            dataVolume(`${name}-vol${path.replaceAll("/", "-")}`, volume, { droppable: true, after: [this.imageVolumeCheck] }, this));

        const db = args.database;
        const envs = pulumi.all([db.host, db.password, args.secretEnv]).apply(([dbHost, dbPassword, secretEnv]) =>
            renderAppEnv({
                environment: args.environment, version: args.version,
                dbHost, dbPort: db.port, dbName: db.databaseName, dbUser: db.user, dbPassword,
                env: args.env, secretEnv,
            }));
        // No character of the path is special to sh (lib/config.ts appHealthPath).
        const probe = `http://127.0.0.1:${args.port}${args.healthPath}`;
        // Whichever HTTP client the image has. The deploy gate (`podman healthcheck run`) and the standby ask the same.
        const answers = `curl -fsS -o /dev/null ${probe} || wget -q -O /dev/null ${probe}`;
        const switchover: SwitchoverSpec = {
            environment: args.environment, container: args.containerName, proxyNetwork: args.proxyNetwork,
            probe: answers, timeoutSeconds: args.gate.timeoutSeconds,
        };
        const networksAdvanced = [{ name: args.network.networkName }];
        const healthcheck = { tests: ["CMD-SHELL", answers], interval: "15s", timeout: "5s", retries: 3, startPeriod: "30s" };
        const secretEnvs = pulumi.secret(envs);
        // Every input the container is created from (each one replaces it): when one changes, the standby
        // takes over before the old container goes. Secret, as the environment is. The image volumes only
        // where there are any: a changed trigger alone would start a standby that no gate stops.
        this.standby = hostCommand(`${name}-standby`, args.gate.connection, {
            create: renderStandbyScript(switchover),
            delete: renderStandbyRemoval(switchover),
            triggers: [args.containerName, this.image.imageId, secretEnvs, args.volumeName, ...(imageVolumes.length > 0 ? [imageVolumes] : []), networksAdvanced, healthcheck],
        }, { parent: this, dependsOn: [...args.after ?? [], this.imageVolumeCheck] });
        this.container = ownedContainer(`${name}-container`, args.environment, {
            name: args.containerName,
            image: this.image.imageId,
            envs: secretEnvs,
            // Every path the image declares a VOLUME at is one of these (the check above): Podman makes no anonymous
            // volume where a mount is (pkg/specgen/generate/storage.go finalizeMounts), and a standby, a
            // `podman container clone`, mounts the same named volumes.
            volumes: [{ volumeName: this.volume.name, containerPath: UPLOADS_PATH },
                ...this.imageVolumes.map((volume, i) => ({ volumeName: volume.name, containerPath: imageVolumes[i].path }))],
            // Not the proxy network: the health gate connects it there once it is healthy (lib/switchover.ts).
            networksAdvanced,
            healthcheck,
        }, { parent: this, dependsOn: [db.ready, this.standby] }); // created only once the database passed its gate: healthy, with the configured password
        this.ready = hostCommand(`${name}-ready`, args.gate.connection, {
            create: renderAppReadyScript({
                environment: args.environment, scope: args.gate.scope, container: args.containerName, timeoutSeconds: args.gate.timeoutSeconds,
                rollback: `npm run stack -- config ${args.environment} set appImage <the tag before: npm run stack -- output ${args.environment} appImageTag>, then npm run stack -- up ${args.environment}`,
            }, switchover),
            // A new container id is a new container: gate it. The proxy network is named here for the policy pack.
            triggers: [this.container.id, `proxyNetwork=${args.proxyNetwork}`],
        }, { parent: this, dependsOn: [this.container] });
        // The stack outputs that name what is deployed wait for the gate (pulumi/pulumi 1b59498): when it
        // fails, the Node SDK never sends them (sdk/nodejs/runtime/stack.ts:77-86 awaits every output, and
        // sends {} when one rejects; runtime/resource.ts:789-796 rejects a failed resource's outputs), and
        // the engine keeps the previous ones (pkg/resource/deploy/step_executor.go:222-231 and 265-268,
        // finalized in deployment_executor.go:353-362). Plain values would be sent at once and kept: the
        // rollback would read the failed tag.
        const healthy = <T>(value: pulumi.Input<T>) => pulumi.all([this.ready.id, value]).apply(([, v]) => v);
        this.healthyVersion = healthy(args.version);
        this.healthyImageId = healthy(this.imageId);
        this.registerOutputs({ imageId: this.imageId, volumeName: this.volume.name, imageVolumeNames: this.imageVolumes.map((v) => v.name) });
    }
}
