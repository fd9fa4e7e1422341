import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { App, AppArgs } from "../components/app";
import { Database } from "../components/database";
import { EnvironmentNetwork } from "../components/network";
import { EnvironmentName } from "../lib/environments";
import { BEFORE_PITR, derivedVolumes } from "../lib/isolation";
import { readScriptFiles, readScriptParams } from "../lib/hostScript";
import { Recorder, runProgram, startRecording, TYPES, validConfig } from "./harness";

const gate = { connection: { kind: "local" }, scope: "user", timeoutSeconds: 60 } as const;

/** Builds one environment's network and database the way index.ts does. */
function environment<E extends EnvironmentName>(env: E) {
    const network = new EnvironmentNetwork(`${env}`, { environment: env, networkName: `${env}-internal` });
    const database = new Database(`${env}-db`, {
        environment: env, network, containerName: `db-${env}`, image: "postgres:16-alpine",
        databaseName: `rezepte_${env}`, user: "postgres", port: 5432, volumeName: `db-${env}-data`, password: "pw-for-tests", gate,
    });
    return { network, database };
}

const appSettings = {
    proxyNetwork: "seaser-network", containerName: "seaser-rezept-tagebuch-dev", image: "localhost/app:v1.0.0",
    version: "v1.0.0", port: 80, healthPath: "/api/version", volumeName: "uploads", env: {}, secretEnv: {}, gate,
};

describe("DEV can only reference its own database", () => {
    let recorder: Recorder;
    beforeEach(async () => { recorder = await startRecording("dev"); });
    // A test's registrations finish after it returns; the next test's mocks must not receive them ("unknown resource").
    afterEach(async () => { await recorder.settle(); });

    it("is a type error to hand a prod database to a dev app", () => {
        const prod = environment("prod");
        const dev = environment("dev");
        const wrong: AppArgs<"dev"> = {
            ...appSettings, environment: "dev", network: dev.network,
            // @ts-expect-error a Database<"prod"> is not a Database<"dev">
            database: prod.database,
        };
        // ...and inference does not widen the environment to "dev" | "prod" to make it fit.
        // @ts-expect-error the environment is inferred from `environment` alone
        expect(() => new App("dev-app", { ...appSettings, environment: "dev", network: dev.network, database: prod.database })).toThrow();
        expect(wrong.database.environment).toBe("prod");
    });

    it("is a type error to put a dev database on the prod network", () => {
        const prod = environment("prod");
        expect(() => new Database("mixed-db", {
            environment: "dev",
            // @ts-expect-error a network of another environment
            network: prod.network,
            containerName: "x", image: "postgres:16-alpine", databaseName: "x", user: "postgres", port: 5432, volumeName: "x", password: "pw-for-tests", gate,
        })).toThrow(/dev database was given the prod network/);
    });

    it("throws at run time, before registering anything, when types cannot tell (a value typed as any environment)", async () => {
        const prod = environment("prod");
        const dev = environment("dev");
        await recorder.settle();
        const before = recorder.resources.length;
        const devEnv: EnvironmentName = "dev" as EnvironmentName;
        const prodDb: Database<EnvironmentName> = prod.database;
        expect(() => new App("dev-app", { ...appSettings, environment: devEnv, network: dev.network, database: prodDb }))
            .toThrow("the dev app was given the prod database; an environment may only use its own database (pass the dev database)");
        await recorder.settle();
        expect(recorder.resources.length).toBe(before);
        expect(recorder.resources.filter((r) => r.name.startsWith("dev-app"))).toEqual([]);
    });

    it("accepts the database of the same environment", async () => {
        const dev = environment("dev");
        const app = new App("dev-app", { ...appSettings, environment: "dev", network: dev.network, database: dev.database });
        await recorder.settle();
        expect(app.environment).toBe("dev");
        expect(recorder.resources.some((r) => r.name === "dev-app-container")).toBe(true);
    });
});

describe("the volumes lib/isolation.ts gives an environment are those its stack and scripts use", () => {
    it("prod with point-in-time recovery: the restore script's data, WAL and scratch volumes, and the name of the data it keeps before a restore", async () => {
        const run = await runProgram("prod", { ...validConfig("prod"), offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-prod", offsitePassword: "a-long-repository-password" });
        const install = run.find(TYPES.localCommand, "prod-boot-install").inputs.create as string;
        const pitr = readScriptFiles(install, "scripts")["pitr-prod.sh"];
        const params = readScriptParams(pitr);
        const owned = derivedVolumes("prod");
        for (const [param, use] of [["data_volume", "dbDataVolume"], ["wal_volume", "pitr"], ["scratch_volume", "pitr"]] as const) {
            expect(owned.filter((volume) => !volume.prefix && volume.name === params[param]).map((volume) => volume.use), param).toEqual([use]);
        }
        // host/pitr.sh: aside="${volume}-before-pitr-$(date ...)", with volume the data volume.
        expect(pitr).toContain(`aside="\${volume}${BEFORE_PITR}$(date`);
        expect(owned).toContainEqual(expect.objectContaining({ name: `${params.data_volume}${BEFORE_PITR}`, prefix: true }));
        // And every volume the stack registers is one of them.
        for (const volume of run.ofType(TYPES.volume)) expect(owned.map((v) => v.name)).toContain(volume.inputs.name);
    });
});
