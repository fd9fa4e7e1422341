import { beforeAll, describe, expect, it } from "vitest";
import { EnvironmentName, ENVIRONMENTS, environmentNames } from "../lib/environments";
import { readScriptFiles, readScriptParams } from "../lib/hostScript";
import { fakeImageId, ProgramRun, runProgram, TYPES, validConfig, withoutSecrets } from "./harness";

/**
 * What every stack must register, asserted on the inputs and options the program
 * gives the engine. Each stack's test file calls this once, so each program run
 * has its own worker.
 */
export function describeStack(env: EnvironmentName, config: Record<string, string> = validConfig(env)): void {
    const names = environmentNames(env);
    const hasApp = env !== "test" || config.appEnabled === "true";
    const password = config.dbPassword;

    describe(`the ${env} stack`, () => {
        let run: ProgramRun;
        beforeAll(async () => { run = await runProgram(env, config, { secretKeys: ["dbPassword", "appSecretEnv"] }); });
        const dbContainer = () => run.find(TYPES.container, `${env}-db-container`);
        const appContainer = () => run.find(TYPES.container, `${env}-app-container`);
        const env_ = (container: () => { inputs: Record<string, any> }) =>
            Object.fromEntries((container().inputs.envs as string[]).map((line) => line.split(/=(.*)/s).slice(0, 2)));

        it("registers its host check, network, database, app, boot units, health check and deploy window as components", () => {
            const components = run.resources.filter((r) => !r.custom && !r.type.startsWith("pulumi:")).map((r) => `${r.type}::${r.name}`).sort();
            expect(components).toEqual([
                ...(hasApp ? [`rezept-tagebuch:index:App::${env}-app`] : []),
                `rezept-tagebuch:index:Backups::${env}-backup`,
                `rezept-tagebuch:index:BootUnits::${env}-boot`,
                `rezept-tagebuch:index:Database::${env}-db`,
                `rezept-tagebuch:index:DeployWindow::${env}-deploy-window`,
                `rezept-tagebuch:index:EnvironmentNetwork::${env}`,
                `rezept-tagebuch:index:HealthCheck::${env}-health`,
                `rezept-tagebuch:index:HostCheck::${env}-host-check`,
            ]);
            expect(run.ofType(TYPES.container).map((r) => r.inputs.name).sort()).toEqual(
                (hasApp ? [names.appContainer, names.dbContainer] : [names.dbContainer]).sort(),
            );
        });

        it("names nothing of another environment", () => {
            const others = ENVIRONMENTS.filter((other) => other !== env).map(environmentNames);
            const everything = JSON.stringify(run.resources.map((r) => r.inputs));
            for (const other of others) {
                for (const name of [other.dbContainer, other.appContainer, other.internalNetwork, other.dbVolume, other.appVolume]) {
                    // prod's names are prefixes of the others' ("seaser-postgres" of "seaser-postgres-dev"), and
                    // the image repository shares prod's app name ("localhost/seaser-rezept-tagebuch:tag"): whole names only.
                    expect(everything).not.toMatch(new RegExp(`[":= ]${name}(?![\\w:-])`));
                }
            }
        });

        it("runs PostgreSQL on its own internal network only, with its data volume and a pg_isready healthcheck", () => {
            const network = run.find(TYPES.network, `${env}-network`);
            expect(network.inputs).toMatchObject({ name: names.internalNetwork, internal: true });
            const db = dbContainer().inputs;
            expect(db.networksAdvanced).toEqual([{ name: names.internalNetwork }]);
            expect(db.volumes).toEqual([{ volumeName: names.dbVolume, containerPath: "/var/lib/postgresql/data" }]);
            expect(db.image).toBe(fakeImageId("docker.io/library/postgres:16-alpine"));
            expect(db.healthcheck.tests).toEqual(["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", names.dbName]);
            expect(env_(dbContainer)).toEqual({ POSTGRES_PASSWORD: password, POSTGRES_USER: "postgres", POSTGRES_DB: names.dbName, PGPORT: "5432" });
        });

        it("leaves running to systemd: no podman restart policy, no mustRun", () => {
            for (const container of run.ofType(TYPES.container)) {
                expect(container.inputs).toMatchObject({ restart: "no", mustRun: false });
                // The provider's default (true) deletes a container's anonymous volumes with it, at every replacement.
                expect(container.inputs.removeVolumes, container.name).toBe(false);
                // A fixed container name cannot exist twice: the old one goes first.
                expect(container.deleteBeforeReplace).toBe(true);
            }
        });

        if (hasApp) it("keeps the app when only the database is replaced: no input of the app comes from a database resource", () => {
            // A delete-before-replace (the database container) makes the engine diff every dependent whose
            // input properties come from it with those inputs unknown, and replace it when that diff does
            // (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go:3009-3110); envs is ForceNew.
            // A dependsOn edge alone, as on the database's gate, counts for order only.
            // The harness's URNs leave out the parent types the engine puts in: compare by type and name.
            const database = run.resources.filter((r) => r.custom && r.parent.endsWith(`::${env}-db`)).map((r) => `${r.type}::${r.name}`);
            const isDatabase = (urn: string) => database.some((tail) => urn.endsWith(`$${tail}`) || urn.endsWith(`::${tail}`));
            expect(database).toContain(`${TYPES.container}::${env}-db-container`);
            for (const [property, urns] of Object.entries(appContainer().propertyDependencies)) {
                expect(urns.filter(isDatabase), `the app container's ${property}`).toEqual([]);
            }
            // Created only once the database passed its gate.
            expect(appContainer().dependencies.some((urn) => urn.endsWith(`::${env}-db-ready`))).toBe(true);
        });

        it("stops a replaced container as its unit does, not with a kill", () => {
            const units = run.outputs.systemdUnits as Record<string, string>;
            for (const container of run.ofType(TYPES.container)) {
                const unitStop = Number(/stop --time (\d+) /.exec(units[`container-${container.inputs.name}.service`])![1]);
                // Unset, the docker provider stops with a timeout of 0: SIGKILL.
                expect(container.inputs.destroyGraceSeconds, container.name).toBe(unitStop);
            }
        });

        it("leaves what Podman fills in out of the diff, and replaces what the provider cannot update", () => {
            // Read-back values the program never sets (test/provider.test.ts shows them in Podman's answers).
            for (const container of run.ofType(TYPES.container)) {
                expect(container.ignoreChanges, container.name).toEqual(["capabilities"]);
                expect(container.replaceOnChanges, container.name).toEqual(["healthcheck"]);
            }
            expect(run.find(TYPES.network, `${env}-network`).ignoreChanges).toEqual(["ipamOptions"]);
        });

        it("never deletes data: every volume is retained on delete; the database's, which the program never drops, protected too", () => {
            const volumes = run.ofType(TYPES.volume);
            expect(volumes.map((v) => v.inputs.name).sort()).toEqual(hasApp ? [names.appVolume, names.dbVolume].sort() : [names.dbVolume]);
            for (const volume of volumes) expect(volume.retainOnDelete, volume.name).toBe(true);
            // The uploads volume leaves the program with appEnabled false: protected, the engine would refuse that (components/hostResources.ts).
            expect(volumes.map((v) => [v.inputs.name, v.protect])).toEqual(expect.arrayContaining([[names.dbVolume, true], ...(hasApp ? [[names.appVolume, false]] : [])]));
        });

        it("creates every docker resource through the podman provider", () => {
            const dockerResources = run.resources.filter((r) => r.custom && r.type.startsWith("docker:"));
            expect(dockerResources.length).toBeGreaterThan(0);
            for (const resource of dockerResources) expect(resource.provider).toMatch(/pulumi:providers:docker::podman::/);
        });

        it("keeps the password out of plaintext: inputs, outputs, units and scripts", async () => {
            const plaintextInputs = JSON.stringify(run.resources.map((r) => withoutSecrets(r.wireInputs)));
            expect(plaintextInputs).not.toContain(password);
            // ...while it really is there, as a secret, for the containers.
            expect(JSON.stringify(run.resources.map((r) => r.wireInputs))).toContain(password);
            for (const [name, value] of Object.entries(run.outputs)) {
                const resolved = await run.resolve(value);
                if (!resolved.secret) expect(JSON.stringify(resolved.value ?? null), `output ${name}`).not.toContain(password);
            }
        });

        it("exports the deployed tag, the image id and the units", async () => {
            const outputs = run.outputs;
            expect(Object.keys(outputs.systemdUnits as object).sort()).toEqual([
                ...(hasApp ? [`container-${names.appContainer}.service`] : []), `container-${names.dbContainer}.service`,
                `rezept-tagebuch-backup-${env}.service`, `rezept-tagebuch-backup-${env}.timer`,
            ].sort());
            if (!hasApp) {
                expect(outputs.appImageTag).toBeNull();
                return;
            }
            const tag = config.appImage.split(":").pop();
            expect((await run.resolve(outputs.appImageTag)).value).toBe(tag);
            expect((await run.resolve(outputs.appImageId)).value).toBe(fakeImageId(config.appImage));
        });

        it("installs exactly its own units, after its containers passed their health gates", () => {
            const installer = run.find(TYPES.localCommand, `${env}-boot-install`);
            const units = run.outputs.systemdUnits as Record<string, string>;
            // The installer's parameters: the units with their content, and what its removal stops and deletes.
            expect(readScriptFiles(installer.inputs.create, "units")).toEqual(units);
            const removal = readScriptParams(installer.inputs.delete);
            expect(installer.inputs.delete).toContain("disable --now");
            expect([...removal.disable.split("\n"), ...removal.others.split("\n").filter(Boolean)].sort()).toEqual(Object.keys(units).sort());
            // ...and the backup and restore scripts, whose content also re-installs.
            const scripts = Object.keys(readScriptFiles(installer.inputs.create, "scripts"));
            expect(scripts.sort()).toEqual([`backup-${env}.sh`, `restore-${env}.sh`]);
            // Only another scope replaces it; another set of files is an update (test/systemd.test.ts).
            expect(installer.inputs.triggers).toEqual(["scope=user"]);
            expect(installer.deleteBeforeReplace).toBe(true);
            expect(installer.dependencies.some((urn) => urn.endsWith(`::${env}-db-ready`))).toBe(true);
            if (hasApp) expect(installer.dependencies.some((urn) => urn.endsWith(`::${env}-app-ready`))).toBe(true);
        });

        it("gates the deploy on health: the database healthy (with the configured password) before the app is created", () => {
            const dbReady = run.find(TYPES.localCommand, `${env}-db-ready`);
            const only = (deps: string[], name: string) => expect(deps.map((urn) => urn.split("::").pop())).toEqual([name]);
            only(dbReady.dependencies, `${env}-db-container`);
            // Runs again for every new container, and only then.
            expect(dbReady.inputs.triggers).toEqual([`${env}-db-container-id`]);
            expect(readScriptParams(dbReady.inputs.create).container).toBe(names.dbContainer);
            expect(dbReady.inputs.create).toContain("ALTER ROLE");
            expect(dbReady.inputs.delete).toBeUndefined();
            if (!hasApp) return;
            expect(appContainer().dependencies.map((urn) => urn.split("::").pop())).toContain(`${env}-db-ready`);
            const appReady = run.find(TYPES.localCommand, `${env}-app-ready`);
            only(appReady.dependencies, `${env}-app-container`);
            // The proxy network is named in the triggers (policy/rules.ts reads it there): another one gates again.
            expect(appReady.inputs.triggers).toEqual([`${env}-app-container-id`, "proxyNetwork=seaser-network"]);
            expect(readScriptParams(appReady.inputs.create).container).toBe(names.appContainer);
            expect(appReady.inputs.create).not.toContain("ALTER ROLE");
            // Only once healthy does the app join the proxy network, and the standby go.
            const create = appReady.inputs.create as string;
            expect(create.indexOf('podman network connect "$network" "$container"')).toBeGreaterThan(create.indexOf("is healthy"));
            expect(readScriptParams(create).standby).toBe(`${names.appContainer}-standby`);
            const standby = run.find(TYPES.localCommand, `${env}-app-standby`);
            expect(appContainer().dependencies.map((urn) => urn.split("::").pop())).toContain(`${env}-app-standby`);
            expect(readScriptParams(standby.inputs.create).app).toBe(names.appContainer);
            expect(standby.inputs.delete).toContain(`${names.appContainer}-standby`);
        });

        if (!hasApp) {
            it("runs no app", () => {
                expect(run.ofType(TYPES.image).map((r) => r.inputs.name)).toEqual(["docker.io/library/postgres:16-alpine"]);
            });
            return;
        }

        it("derives the app's database settings from its own database", () => {
            expect(env_(appContainer)).toMatchObject({
                POSTGRES_HOST: names.dbContainer,
                POSTGRES_DB: names.dbName,
                POSTGRES_USER: "postgres",
                POSTGRES_PORT: "5432",
                POSTGRES_PASSWORD: password,
                DB_TYPE: "postgresql",
                APP_VERSION: config.appImage.split(":").pop(),
            });
            if (env === "dev") expect(env_(appContainer).DEV_MODE).toBe("true");
            else expect(env_(appContainer)).not.toHaveProperty("DEV_MODE");
        });

        it("runs the app from its versioned image, with uploads at /data, on its internal network and a /api/version healthcheck", () => {
            const app = appContainer().inputs;
            expect(run.find(TYPES.image, `${env}-app-image`).inputs).toMatchObject({ name: config.appImage, keepLocally: true });
            expect(app.image).toBe(fakeImageId(config.appImage));
            expect(app.volumes).toEqual([{ volumeName: names.appVolume, containerPath: "/data" }]);
            // The proxy network only once healthy: its health gate connects it (lib/switchover.ts).
            expect(app.networksAdvanced).toEqual([{ name: names.internalNetwork }]);
            expect(app.healthcheck.tests[0]).toBe("CMD-SHELL");
            expect(app.healthcheck.tests[1]).toContain("http://127.0.0.1:80/api/version");
        });

        it("does not own the shared reverse-proxy network", () => {
            expect(run.ofType(TYPES.network).map((n) => n.inputs.name)).toEqual([names.internalNetwork]);
        });
    });
}
