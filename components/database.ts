import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { EnvironmentName } from "../lib/environments";
import { archivingCommand, walVolumeName, WAL_MOUNT } from "../lib/pitr";
import { renderDatabaseReadyScript } from "../lib/readiness";
import { DeployGate, hostCommand } from "./hostCommand";
import { dataVolume, hostImage, ownedContainer } from "./hostResources";
import { assertSameEnvironment, EnvironmentNetwork } from "./network";

/** DatabaseArgs describe the parameters to a Database component. */
export interface DatabaseArgs<E extends EnvironmentName> {
    /** The environment the database serves. */
    readonly environment: E;
    /** The environment's internal network; the database joins no other. */
    readonly network: EnvironmentNetwork<NoInfer<E>>;
    /** Container name, also its host name on the internal network. */
    readonly containerName: string;
    /** A pinned PostgreSQL image. */
    readonly image: string;
    readonly databaseName: string;
    readonly user: string;
    readonly port: number;
    /** The data volume's name; it outlives the container and the stack. */
    readonly volumeName: string;
    /** The superuser password; a Pulumi secret. */
    readonly password: pulumi.Input<string>;
    /**
     * Point-in-time recovery: the server archives its WAL (lib/pitr.ts) into a second volume,
     * `<container>-wal`, kept on the host as the data volume is, but not protected: `pitr false` drops it from the stack.
     */
    readonly pitr?: boolean;
    /** With pitr: the free MiB its archive leaves on its disk (lib/pitr.ts DEFAULT_WAL_RESERVE_MIB). */
    readonly walReserveMiB?: number;
    /** Take over a volume of this name that already exists on the host, instead of creating it. */
    readonly adoptVolume?: boolean;
    /** Where the health gate runs, and how long `pulumi up` waits for a new container to be healthy. */
    readonly gate: DeployGate;
    /** What must be done before the container is created or replaced (the backup). */
    readonly after?: pulumi.Resource[];
}

const DATA_DIR = "/var/lib/postgresql/data";

/** The PostgreSQL of one environment: data volume, pinned image and container with a pg_isready healthcheck. */
export class Database<E extends EnvironmentName> extends pulumi.ComponentResource {
    /** The environment the database serves; an app of another environment refuses it. */
    readonly environment: E;
    readonly containerName: string;
    /** Host name the app connects to. */
    readonly host: pulumi.Output<string>;
    readonly port: number;
    readonly databaseName: string;
    readonly user: string;
    readonly password: pulumi.Output<string>;
    readonly volume: docker.Volume;
    /** The WAL archive's volume, where point-in-time recovery is on. */
    readonly walVolume?: docker.Volume;
    readonly image: docker.RemoteImage;
    readonly container: docker.Container;
    /** Runs after each new container: succeeds once it is healthy and has the configured password. Apps are created after it. */
    readonly ready: pulumi.Resource;

    constructor(name: string, args: DatabaseArgs<E>, opts?: pulumi.ComponentResourceOptions) {
        assertSameEnvironment("database", args.environment, args.network, "network");
        super("rezept-tagebuch:index:Database", name, {}, opts);
        this.environment = args.environment;
        this.containerName = args.containerName;
        this.port = args.port;
        this.databaseName = args.databaseName;
        this.user = args.user;
        this.password = pulumi.secret(args.password);

        this.volume = dataVolume(`${name}-data`, args.volumeName, { adopt: args.adoptVolume }, this);
        // Mounted at the image's /var/lib/postgresql, the parent of PGDATA, which the image owns as postgres: Podman
        // gives an empty named volume the owner of the directory it is mounted over (its copy-up of the image's
        // content), so postgres can write the archive there; mounted where the image has no directory it stays root's.
        // Droppable: `pitr false` lets go of it (components/hostResources.ts dataVolume); the archive stays on the host.
        this.walVolume = args.pitr ? dataVolume(`${name}-wal`, walVolumeName(args.containerName), { droppable: true }, this) : undefined;
        this.image = hostImage(`${name}-image`, args.image, this);

        const readiness = ["pg_isready", "-h", "127.0.0.1", "-p", `${args.port}`, "-U", args.user, "-d", args.databaseName];
        this.container = ownedContainer(`${name}-container`, args.environment, {
            name: args.containerName,
            image: this.image.imageId,
            envs: this.password.apply((password) => [
                `POSTGRES_PASSWORD=${password}`,
                `POSTGRES_USER=${args.user}`,
                `POSTGRES_DB=${args.databaseName}`,
                // postgres and pg_isready both take their default port from PGPORT.
                `PGPORT=${args.port}`,
            ]),
            // Without PITR no command: the image's own (Optional+Computed in the provider, so no diff on what it reads back).
            command: args.pitr ? archivingCommand(args.walReserveMiB) : undefined,
            volumes: [
                ...(this.walVolume ? [{ volumeName: this.walVolume.name, containerPath: WAL_MOUNT }] : []),
                { volumeName: this.volume.name, containerPath: DATA_DIR },
            ],
            networksAdvanced: [{ name: args.network.networkName }],
            // 127.0.0.1, not the socket: during first-run initialisation the image's
            // temporary server listens on the socket only and must not count as ready.
            healthcheck: { tests: ["CMD", ...readiness], interval: "10s", timeout: "5s", retries: 5, startPeriod: "30s" },
        }, { parent: this, dependsOn: args.after ?? [] });
        // The configured name, not the container's output: an app whose envs came from the container would be
        // replaced with it whenever the database is (the engine's dependent replacement of a delete-before-replace).
        this.host = pulumi.output(args.containerName);
        this.ready = hostCommand(`${name}-ready`, args.gate.connection, {
            create: renderDatabaseReadyScript({
                environment: args.environment, scope: args.gate.scope, container: args.containerName, timeoutSeconds: args.gate.timeoutSeconds,
                rollback: `npm run stack -- config ${args.environment} set dbImage <the image before> (or dbPassword), then npm run stack -- up ${args.environment}`,
            }),
            // A new container id is a new container: gate it, and give it the password again.
            triggers: [this.container.id],
        }, { parent: this, dependsOn: [this.container] });
        this.registerOutputs({ host: this.host, volumeName: this.volume.name });
    }
}
