import { beforeAll, describe, expect, it } from "vitest";
import { environmentNames } from "../lib/environments";
import { readScriptParams } from "../lib/hostScript";
import { ProgramRun, runProgram, TYPES, validConfig } from "./harness";

/**
 * The defaults (5432, postgres, rezepte, 80) appear in many places, so a setting
 * that one place ignores passes every test that uses them. Here every connection
 * setting differs from its default, and the database, the app and their
 * healthchecks must all follow it.
 */
const settings = { dbPort: "5433", dbUser: "rezept_owner", dbName: "rezepte_custom", appPort: "8080", appHealthPath: "/api/recipes" };

const envOf = (run: ProgramRun, name: string): Record<string, string> =>
    Object.fromEntries((run.find(TYPES.container, name).inputs.envs as string[]).map((line) => line.split(/=(.*)/s).slice(0, 2)));

describe("a stack with non-default dbPort, dbUser, dbName, appPort and appHealthPath", () => {
    const names = environmentNames("dev");
    let run: ProgramRun;
    let defaults: ProgramRun;
    beforeAll(async () => {
        defaults = await runProgram("dev", validConfig("dev"));
        run = await runProgram("dev", { ...validConfig("dev"), ...settings });
    });

    it("runs PostgreSQL with that port, user and database", () => {
        expect(envOf(run, "dev-db-container")).toMatchObject({
            PGPORT: settings.dbPort, POSTGRES_USER: settings.dbUser, POSTGRES_DB: settings.dbName,
        });
    });

    it("checks the database's health on that port, as that user, in that database", () => {
        expect(run.find(TYPES.container, "dev-db-container").inputs.healthcheck.tests).toEqual(
            ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", settings.dbPort, "-U", settings.dbUser, "-d", settings.dbName],
        );
    });

    it("tells the app the same port, user and database", () => {
        expect(envOf(run, "dev-app-container")).toMatchObject({
            POSTGRES_HOST: names.dbContainer, POSTGRES_PORT: settings.dbPort, POSTGRES_USER: settings.dbUser, POSTGRES_DB: settings.dbName,
        });
    });

    it("probes the app's appHealthPath on the app's port, with either HTTP client: the healthcheck the deploy gate runs, and the standby's probe", () => {
        const [kind, probe] = run.find(TYPES.container, "dev-app-container").inputs.healthcheck.tests as string[];
        expect(kind).toBe("CMD-SHELL");
        const urls = probe.match(/https?:\/\/\S+/g);
        expect(urls).toEqual([`http://127.0.0.1:${settings.appPort}${settings.appHealthPath}`, `http://127.0.0.1:${settings.appPort}${settings.appHealthPath}`]);
        // The gate (host/lib/health-gate.sh) passes on `podman healthcheck run`, that probe; the standby asks the same.
        expect(readScriptParams(run.find(TYPES.localCommand, "dev-app-standby").inputs.create).probe).toBe(probe);
        expect(run.find(TYPES.localCommand, "dev-app-ready").inputs.create).toContain("podman healthcheck run");
    });

    it("probes /api/version by default", () => {
        const [, probe] = defaults.find(TYPES.container, "dev-app-container").inputs.healthcheck.tests as string[];
        expect(probe).toBe("curl -fsS -o /dev/null http://127.0.0.1:80/api/version || wget -q -O /dev/null http://127.0.0.1:80/api/version");
    });

    it("installs units that wait on the database container's own healthcheck, so they carry no port to disagree", () => {
        const units = run.outputs.systemdUnits as Record<string, string>;
        // The app unit waits for `podman healthcheck run <database>`, the pg_isready above.
        expect(units[`container-${names.appContainer}.service`]).toContain(`podman healthcheck run ${names.dbContainer} `);
        expect(units).toEqual(defaults.outputs.systemdUnits);
        expect(JSON.stringify(units)).not.toMatch(/5432|5433|8080|rezept_owner|rezepte_custom/);
    });
});
