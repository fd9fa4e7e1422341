import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAppEnv } from "../lib/appEnv";
import { environmentNames } from "../lib/environments";
import { HealthSettings } from "../lib/healthUnits";
import { renderUnits } from "../lib/systemd";

/**
 * `npm run health` against a stand-in host: podman and systemctl are stubs that
 * answer from files, so each fault is one file changed. The runner runs for real.
 */
const root = join(__dirname, "..");
const names = environmentNames("dev");
const PASSWORD = "s3cret-pg-password";

function fakeHost() {
    const dir = mkdtempSync(join(tmpdir(), "health-runner-"));
    const bin = join(dir, "bin");
    const home = join(dir, "home");
    const state = join(dir, "state");
    for (const d of [bin, state, join(home, ".config/rezept-tagebuch"), join(home, ".config/systemd/user")]) mkdirSync(d, { recursive: true });
    const units = renderUnits({ environment: "dev", scope: "user", dbContainer: names.dbContainer, appContainer: names.appContainer, dbHealthTimeoutSeconds: 120 });
    const settings: HealthSettings = {
        environment: "dev", scope: "user", dbContainer: names.dbContainer, appContainer: names.appContainer, version: "v1.2.3", appPort: 80, units,
        alertCommand: `cat >> ${join(dir, "alerts.log")}; echo --- >> ${join(dir, "alerts.log")}`, alertRepeatMinutes: 60,
    };
    writeFileSync(join(home, ".config/rezept-tagebuch/health-dev.json"), JSON.stringify(settings));
    for (const [file, content] of Object.entries(units)) writeFileSync(join(home, ".config/systemd/user", file), content);
    const env = renderAppEnv({ environment: "dev", version: "v1.2.3", dbHost: names.dbContainer, dbPort: 5432, dbName: names.dbName, dbUser: "postgres", dbPassword: PASSWORD, env: {}, secretEnv: {} });
    const setContainer = (name: string, status: string, envs: string[] = []) =>
        writeFileSync(join(state, `${name}.json`), JSON.stringify([{ State: { Status: status, ExitCode: 0 }, Config: { Env: envs } }]));
    setContainer(names.dbContainer, "running", [`POSTGRES_PASSWORD=${PASSWORD}`]);
    setContainer(names.appContainer, "running", env);
    // The role's password in the database (ALTER ROLE changes it there, not in the app's environment).
    writeFileSync(join(state, "db-password"), PASSWORD);
    // podman: inspect answers from state/<name>.json; healthcheck passes for a running container; exec answers psql and the version probe.
    // psql authenticates as the official postgres image's pg_hba.conf says (e2e/images/postgres-entrypoint.sh):
    // the socket and loopback are trusted, any password passes; a network name must resolve (only the
    // database's own, on its network) and the password must be the role's.
    writeFileSync(join(bin, "podman"), `#!/bin/sh
S=${state}
case "$1 $2" in
"container inspect") [ -f "$S/$3.json" ] && cat "$S/$3.json" || exit 125 ;;
"healthcheck run") grep -q '"running"' "$S/$3.json" ;;
"exec --env")
    echo "$*" >> "$S/psql.log"
    host=; prev=
    for arg in "$@"; do [ "$prev" = -h ] && host=$arg; prev=$arg; done
    case "$host" in ""|/*|127.0.0.1|localhost|::1) exit 0 ;; esac
    [ "$host" = "${names.dbContainer}" ] || { echo "psql: error: could not translate host name \\"$host\\" to address: Name or service not known" >&2; exit 2; }
    [ "$PGPASSWORD" = "$(cat "$S/db-password")" ] || { echo "psql: error: connection to server at \\"$host\\" (10.89.0.2), port 5432 failed: FATAL:  password authentication failed for user \\"postgres\\"" >&2; exit 2; } ;;
"exec "*) printf '{"version":"v1.2.3"}\\n200' ;;
esac
`);
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\ncase "$2" in is-enabled) cat "${state}/enabled" 2>/dev/null || echo enabled ;; is-active) echo active ;; esac\n`);
    for (const tool of ["podman", "systemctl"]) chmodSync(join(bin, tool), 0o755);
    const health = (...args: string[]) => spawnSync(process.execPath, [join(root, "node_modules/ts-node/dist/bin.js"), "--transpile-only", join(root, "scripts/health.ts"), ...args], {
        cwd: root, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home },
    });
    const alerts = () => (existsSync(join(dir, "alerts.log")) ? readFileSync(join(dir, "alerts.log"), "utf8").split("---\n").filter(Boolean) : []);
    return { health, setContainer, alerts, state, units, home };
}

// Each run starts ts-node: slow on a busy machine.
describe("npm run health on a host", { timeout: 180_000 }, () => {
    it("healthy: all pass, exit 0, no alert; a stopped database: exit 1 naming it, one alert, then one recovery", () => {
        const host = fakeHost();
        const ok = host.health("--stack", "dev", "--alert");
        expect(ok.stderr).toBe("");
        expect(ok.status).toBe(0);
        expect(ok.stdout).toMatch(/^rezept-tagebuch dev on .*: healthy\n/);
        expect(ok.stdout).not.toContain("✗");
        expect(host.alerts()).toEqual([]);

        host.setContainer(names.dbContainer, "exited");
        for (let i = 0; i < 2; i++) {
            const bad = host.health("--stack", "dev", "--alert");
            expect(bad.status).toBe(1);
            expect(bad.stdout).toContain("✗ database seaser-postgres-dev runs");
        }
        expect(host.alerts()).toHaveLength(1);
        expect(host.alerts()[0]).toMatch(/^rezept-tagebuch dev on \S+ FAILING: database seaser-postgres-dev runs/);

        host.setContainer(names.dbContainer, "running", [`POSTGRES_PASSWORD=${PASSWORD}`]);
        expect(host.health("--stack", "dev", "--alert").status).toBe(0);
        expect(host.alerts()).toHaveLength(2);
        expect(host.alerts()[1]).toMatch(/recovered/);
        for (const text of host.alerts()) expect(text).not.toContain(PASSWORD);
    });

    it("--json, a disabled unit, a hand-edited unit file; no secret in the output", () => {
        const host = fakeHost();
        writeFileSync(join(host.state, "enabled"), "disabled\n");
        const unit = `container-${names.appContainer}.service`;
        writeFileSync(join(host.home, ".config/systemd/user", unit), `${host.units[unit]}Environment=X=1\n`);
        const result = host.health("--json");
        expect(result.status).toBe(1);
        const json = JSON.parse(result.stdout);
        const failed = json.environments[0].checks.filter((c: any) => !c.ok).map((c: any) => c.name);
        expect(failed).toContain(`unit ${unit} file as deployed`);
        expect(failed).toContain(`unit container-${names.dbContainer}.service enabled`);
        expect(result.stdout).not.toContain(PASSWORD);
    });

    it("logs in as the app does: a password the database no longer has fails the login row, though loopback is trusted", () => {
        const host = fakeHost();
        writeFileSync(join(host.state, "db-password"), "changed-by-alter-role");
        const bad = host.health("--stack", "dev");
        expect(bad.status).toBe(1);
        expect(bad.stdout).toMatch(/✗ database seaser-postgres-dev accepts the app's login +login failed \(exit code 2\): psql: error: connection to server at "seaser-postgres-dev" .* password authentication failed for user "postgres"\n/);
        expect(bad.stdout.match(/✗/g)).toHaveLength(1);
        // Over the network to the app's POSTGRES_HOST, its user and database; the password in the environment only.
        const calls = readFileSync(join(host.state, "psql.log"), "utf8");
        expect(calls).toContain(`exec --env PGPASSWORD --env PGCONNECT_TIMEOUT ${names.dbContainer} psql -X -q -h ${names.dbContainer} -p 5432 -U postgres -d ${names.dbName} -c select 1`);
        expect(calls + bad.stdout + bad.stderr).not.toContain(PASSWORD);

        writeFileSync(join(host.state, "db-password"), PASSWORD);
        expect(host.health("--stack", "dev").status).toBe(0);
    });

    it("refuses a bad argument, and a stack this host does not run, with one line", () => {
        const host = fakeHost();
        expect(host.health("--stack", "staging").stderr).toBe("health: --stack 'staging' is not prod, dev, test or all; usage: npm run health -- [--stack prod|dev|test|all] [--json] [--alert]\n");
        const prod = host.health("--stack", "prod");
        expect(prod.status).toBe(2);
        expect(prod.stderr).toContain("deploy it: npm run stack -- up prod");
    });
});
