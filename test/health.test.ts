import { describe, expect, it } from "vitest";
import { renderAppEnv } from "../lib/appEnv";
import { environmentNames } from "../lib/environments";
import { decideAlert, evaluate, HealthExpectation, Observation, parseAlertState, renderAlert, renderJson, renderTable } from "../lib/health";
import { renderUnits } from "../lib/systemd";
import { renderBackupUnits } from "../lib/backup";

const PASSWORD = "s3cret-pg-password";
const SESSION = "session-secret-value";
const dev = environmentNames("dev");
const units = renderUnits({ environment: "dev", scope: "user", dbContainer: dev.dbContainer, appContainer: dev.appContainer, dbHealthTimeoutSeconds: 120 });
const expected: HealthExpectation = {
    environment: "dev", scope: "user", dbContainer: dev.dbContainer, appContainer: dev.appContainer,
    version: "rezept_version_12_11_2025_002", appPort: 80, proxyUrl: "http://host/rezept-tagebuch-dev/", units,
};
/** The app's env as the program renders it, password and a secret setting included. */
const appEnv = (dbHost = dev.dbContainer) => renderAppEnv({
    environment: "dev", version: expected.version!, dbHost, dbPort: 5432, dbName: dev.dbName, dbUser: "postgres", dbPassword: PASSWORD,
    env: {}, secretEnv: { SESSION_SECRET: SESSION },
});
const running = (env?: string[]) => ({ State: { Status: "running", ExitCode: 0 }, Config: { Env: env ?? [`POSTGRES_PASSWORD=${PASSWORD}`] } });
const healthy = (): Observation => ({
    containers: { [dev.dbContainer]: running(), [dev.appContainer]: running(appEnv()) },
    healthcheck: { [dev.dbContainer]: 0, [dev.appContainer]: 0 },
    dbLogin: { code: 0 },
    http: {
        direct: { status: 200, body: JSON.stringify({ version: expected.version }) },
        proxy: { status: 200, body: JSON.stringify({ version: expected.version }) },
    },
    units: Object.fromEntries(Object.entries(units).map(([name, content]) => [name, { enabled: "enabled", active: "active", content }])),
});
const failed = (seen: Observation) => evaluate(expected, seen).checks.filter((c) => !c.ok);

describe("the checks of one environment", () => {
    it("all pass on a healthy host, each named", () => {
        const report = evaluate(expected, healthy());
        expect(report.ok).toBe(true);
        expect(report.checks.map((c) => c.name)).toEqual([
            "database seaser-postgres-dev exists", "database seaser-postgres-dev runs", "database seaser-postgres-dev healthy",
            "database seaser-postgres-dev accepts the app's login",
            "app seaser-rezept-tagebuch-dev exists", "app seaser-rezept-tagebuch-dev runs", "app seaser-rezept-tagebuch-dev healthy",
            "app seaser-rezept-tagebuch-dev /api/version", "app seaser-rezept-tagebuch-dev /api/version via the proxy",
            "app seaser-rezept-tagebuch-dev uses the dev database",
            ...Object.keys(units).flatMap((u) => [`unit ${u} enabled`, `unit ${u} active`, `unit ${u} file as deployed`]),
        ]);
    });

    it("a stopped database fails, naming it, with the command that starts it", () => {
        const seen = healthy();
        const stopped = { ...seen, containers: { ...seen.containers, [dev.dbContainer]: { State: { Status: "exited", ExitCode: 0 } } }, healthcheck: { ...seen.healthcheck, [dev.dbContainer]: 1 } };
        const bad = failed(stopped);
        expect(bad.map((c) => c.name)).toEqual(["database seaser-postgres-dev runs", "database seaser-postgres-dev healthy"]);
        expect(bad[0]).toMatchObject({ detail: "exited (exit code 0)", fix: "systemctl --user restart container-seaser-postgres-dev.service; journalctl --user -u container-seaser-postgres-dev.service -n 50" });
    });

    it("a missing container fails once, pointing at pulumi up", () => {
        const seen = healthy();
        const bad = failed({ ...seen, containers: { ...seen.containers, [dev.appContainer]: undefined } });
        expect(bad.map((c) => [c.name, c.fix])).toEqual([[`app ${dev.appContainer} exists`, "npm run stack -- up dev"]]);
    });

    it("a failed login, a wrong version, a 500 and an unreachable proxy each fail", () => {
        const seen = healthy();
        const refused = 'psql: error: connection to server at "seaser-postgres-dev" (10.89.0.2), port 5432 failed: FATAL:  password authentication failed for user "postgres"';
        const bad = failed({ ...seen, dbLogin: { code: 2, error: refused }, http: { direct: { status: 200, body: '{"version":"rezept_version_01_01_2025_001"}' }, proxy: { error: "connection refused" } } });
        expect(bad.map((c) => c.name)).toEqual([
            `database ${dev.dbContainer} accepts the app's login`, `app ${dev.appContainer} /api/version`, `app ${dev.appContainer} /api/version via the proxy`,
        ]);
        expect(bad[0]).toMatchObject({ detail: `login failed (exit code 2): ${refused}`, fix: `podman logs --tail 50 ${dev.dbContainer}` });
        expect(bad[1].detail).toContain('expected 200 and "rezept_version_12_11_2025_002"');
        expect(bad[2].fix).toBe("curl -sS -i http://host/rezept-tagebuch-dev/api/version (then the reverse proxy's configuration and logs)");
        expect(failed({ ...seen, http: { ...seen.http, direct: { status: 500, body: "Internal Server Error" } } })[0]).toMatchObject({ detail: expect.stringContaining("HTTP 500"), fix: `podman logs --tail 50 ${dev.appContainer}` });
        // A plain-text version answer counts too.
        expect(failed({ ...seen, http: { ...seen.http, direct: { status: 200, body: `${expected.version}\n` } } })).toEqual([]);
    });

    it("no proxy check without proxyUrl", () => {
        expect(evaluate({ ...expected, proxyUrl: undefined }, healthy()).checks.map((c) => c.name)).not.toContain(`app ${dev.appContainer} /api/version via the proxy`);
    });

    it("an app pointed at prod's database fails naming the wrong host; DEV_MODE is checked", () => {
        const seen = healthy();
        const bad = failed({ ...seen, containers: { ...seen.containers, [dev.appContainer]: running(appEnv("seaser-postgres")) } });
        expect(bad).toEqual([expect.objectContaining({ name: `app ${dev.appContainer} uses the dev database`, detail: 'POSTGRES_HOST is "seaser-postgres", not the dev database (seaser-postgres-dev)' })]);
        // A plain up compares program and state and would change nothing: the fix refreshes, once the hand-made container is gone.
        expect(bad[0].fix).toBe(`podman rm -f ${dev.appContainer}; npm run stack -- up dev --refresh`);
        const noDevMode = appEnv().filter((l) => !l.startsWith("DEV_MODE="));
        expect(failed({ ...seen, containers: { ...seen.containers, [dev.appContainer]: running(noDevMode) } })[0].detail).toBe('DEV_MODE is unset in dev, expected "true"');
    });

    it("a disabled, an inactive and a hand-edited unit fail, naming the unit", () => {
        const seen = healthy();
        const dbUnit = `container-${dev.dbContainer}.service`;
        const appUnit = `container-${dev.appContainer}.service`;
        const bad = failed({ ...seen, units: {
            ...seen.units,
            [dbUnit]: { ...seen.units[dbUnit], enabled: "disabled", active: "failed" },
            [appUnit]: { ...seen.units[appUnit], content: `${units[appUnit]}# edited\n` },
        } });
        expect(bad.map((c) => c.name)).toEqual([`unit ${dbUnit} enabled`, `unit ${dbUnit} active`, `unit ${appUnit} file as deployed`]);
        expect(bad[0].fix).toBe(`systemctl --user enable ${dbUnit}`);
        expect(bad[2].detail).toBe(`changed by hand (systemctl --user cat ${appUnit})`);
        expect(bad[2].fix).toContain("npm run stack -- up dev --replace 'urn:pulumi:dev::rezept-tagebuch::rezept-tagebuch:index:BootUnits$command:local:Command::dev-boot-install'");
        expect(failed({ ...seen, units: { ...seen.units, [dbUnit]: { enabled: "enabled", active: "active" } } })[0].detail).toBe("missing");
    });

    it("the test stack (no app) checks its database and unit only", () => {
        const names = environmentNames("test");
        const testUnits = renderUnits({ environment: "test", scope: "system", dbContainer: names.dbContainer, dbHealthTimeoutSeconds: 120 });
        const report = evaluate({ environment: "test", scope: "system", dbContainer: names.dbContainer, units: testUnits }, {
            containers: { [names.dbContainer]: running() }, healthcheck: { [names.dbContainer]: 0 }, http: {},
            units: Object.fromEntries(Object.entries(testUnits).map(([n, content]) => [n, { enabled: "enabled", active: "active", content }])),
        });
        expect(report.ok).toBe(true);
        expect(report.checks).toHaveLength(6);
    });
});

describe("output", () => {
    const bad = (() => {
        const seen = healthy();
        return evaluate(expected, { ...seen, containers: { ...seen.containers, [dev.appContainer]: running(appEnv("seaser-postgres")) }, dbLogin: { code: 1 } });
    })();

    it("a table: one row a check with ✓/✗, the fix under each failure", () => {
        const table = renderTable([bad], "rezept-host");
        expect(table).toMatch(/^rezept-tagebuch dev on rezept-host: FAILING\n/);
        expect(table).toMatch(/\n {2}✓ database seaser-postgres-dev exists +present\n/);
        expect(table).toMatch(/\n {2}✗ app seaser-rezept-tagebuch-dev uses the dev database +POSTGRES_HOST is "seaser-postgres".*\n {6}fix: podman rm -f seaser-rezept-tagebuch-dev; npm run stack -- up dev --refresh/);
        expect(table.split("\n").filter((l) => /^ {2}[✓✗] /.test(l))).toHaveLength(bad.checks.length);
    });

    it("JSON for machines", () => {
        const json = JSON.parse(renderJson([bad], "rezept-host"));
        expect(json).toMatchObject({ host: "rezept-host", ok: false, environments: [{ environment: "dev", ok: false }] });
        expect(json.environments[0].checks.filter((c: any) => !c.ok).every((c: any) => typeof c.fix === "string")).toBe(true);
    });

    it("no secret in the table, the JSON or the alert, whatever fails", () => {
        const outputs = [renderTable([bad], "h"), renderJson([bad], "h"), renderAlert("failing", bad, "h").text, renderAlert("failing", bad, "h").json];
        for (const text of outputs) {
            expect(text).not.toContain(PASSWORD);
            expect(text).not.toContain(SESSION);
        }
    });
});

describe("alerts", () => {
    const t0 = new Date("2026-11-29T03:00:00Z");
    const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

    it("fire once on healthy -> failing, remind at most every alertRepeatMinutes, and once on recovery", () => {
        const seq = [true, false, false, false, false, false, true, true];
        const minutes = [0, 5, 10, 59, 65, 70, 75, 80];
        let state = parseAlertState(undefined);
        const alerts: string[] = [];
        seq.forEach((ok, i) => {
            const { alert, next } = decideAlert(state, ok, at(minutes[i]), 60);
            if (alert) alerts.push(`${minutes[i]}:${alert}`);
            state = parseAlertState(JSON.stringify(next));
        });
        expect(alerts).toEqual(["5:failing", "65:reminder", "75:recovered"]);
    });

    it("a host that starts failing (no state yet) alerts; a damaged state file is no state", () => {
        expect(decideAlert(undefined, false, t0, 60).alert).toBe("failing");
        expect(decideAlert(undefined, true, t0, 60).alert).toBeUndefined();
        expect(parseAlertState("{not json")).toBeUndefined();
    });

    it("the alert names the environment, what failed and the host; recovery says so", () => {
        const seen = healthy();
        const report = evaluate(expected, { ...seen, containers: { ...seen.containers, [dev.dbContainer]: { State: { Status: "exited", ExitCode: 0 } } }, healthcheck: { ...seen.healthcheck, [dev.dbContainer]: 1 } });
        const { text, json } = renderAlert("failing", report, "rezept-host");
        expect(text).toMatch(/^rezept-tagebuch dev on rezept-host FAILING: database seaser-postgres-dev runs, database seaser-postgres-dev healthy\n/);
        expect(JSON.parse(json)).toMatchObject({ kind: "failing", environment: "dev", host: "rezept-host", failed: ["database seaser-postgres-dev runs", "database seaser-postgres-dev healthy"] });
        expect(renderAlert("recovered", evaluate(expected, healthy()), "rezept-host").text).toMatch(/^rezept-tagebuch dev on rezept-host recovered/);
    });
});

describe("the nightly backup, as the stack installs it with its units", () => {
    const backupUnits = renderBackupUnits({
        environment: "dev", scope: "user", dbContainer: dev.dbContainer, app: { container: dev.appContainer, volume: dev.appVolume },
        directory: "$HOME/rezept-tagebuch-backups/dev", keep: 14, maxAgeDays: 30, scriptPath: "%h/.local/lib/rezept-tagebuch/backup-dev.sh", schedule: "*-*-* 03:00:00",
    });
    const withBackup: HealthExpectation = { ...expected, units: { ...units, ...backupUnits } };
    const seen = (result: string): Observation => ({
        ...healthy(),
        units: {
            ...healthy().units,
            "rezept-tagebuch-backup-dev.timer": { enabled: "enabled", active: "active", content: backupUnits["rezept-tagebuch-backup-dev.timer"] },
            // A oneshot its timer starts: `static`, inactive between runs.
            "rezept-tagebuch-backup-dev.service": { enabled: "static", active: "inactive", content: backupUnits["rezept-tagebuch-backup-dev.service"], result },
        },
    });

    it("passes between runs when the last run succeeded: the oneshot is not expected to be enabled or active", () => {
        expect(evaluate(withBackup, seen("success")).checks.filter((c) => !c.ok)).toEqual([]);
    });

    it("fails, naming the backup and where to look, when the last run failed, so the health timer alerts", () => {
        expect(evaluate(withBackup, seen("exit-code")).checks.filter((c) => !c.ok)).toEqual([expect.objectContaining({
            name: "unit rezept-tagebuch-backup-dev.service last run succeeded", detail: "exit-code",
            fix: expect.stringContaining("journalctl --user -u rezept-tagebuch-backup-dev.service"),
        })]);
    });
});
