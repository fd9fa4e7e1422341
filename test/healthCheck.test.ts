import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAppEnv } from "../lib/appEnv";
import { ENVIRONMENTS, EnvironmentName, environmentNames } from "../lib/environments";
import { HealthSettings, renderCheckFailedScript, renderDeployWindowScript, renderHealthScript } from "../lib/healthUnits";
import { renderBackupUnits } from "../lib/backup";
import { renderUnits } from "../lib/systemd";

/**
 * The installed check (lib/healthUnits.ts) run for real by sh against a stand-in host:
 * podman, systemctl, date and curl are stubs answering from files, so each fault is one
 * file changed. The stubs answer as the real tools do where the script reads them:
 * `podman container inspect --format` prints the template's value and exits 125 for a
 * missing container; `systemctl is-enabled/is-active` print the state and exit non-zero
 * unless enabled/active; `show --property=Result --value` prints the result.
 */
const PASSWORD = "s3cret-pg-password";
const WEBHOOK = "https://hooks.example/T0KEN-secret";

function settingsFor(env: EnvironmentName, dir: string, extra: Partial<HealthSettings> = {}): HealthSettings {
    const names = environmentNames(env);
    const appContainer = env === "test" ? undefined : names.appContainer;
    const units = {
        ...renderUnits({ environment: env, scope: "user", dbContainer: names.dbContainer, appContainer, dbHealthTimeoutSeconds: 120 }),
        ...renderBackupUnits({ environment: env, scope: "user", dbContainer: names.dbContainer, directory: "/srv/backup", keep: 7, maxAgeDays: 2, scriptPath: "%h/.local/lib/backup.sh", schedule: "*-*-* 03:00:00" }),
    };
    return {
        environment: env, scope: "user", connection: "local", dbContainer: names.dbContainer, appContainer,
        version: appContainer ? "v1.2.3" : undefined, appPort: appContainer ? 80 : undefined, units,
        alertCommand: `cat >> ${join(dir, "alerts.log")}; echo --- >> ${join(dir, "alerts.log")}`, alertRepeatMinutes: 60, intervalMinutes: 5,
        bootGraceSeconds: 300,
        ...extra,
    };
}

function fakeHost(env: EnvironmentName = "dev", extra: Partial<HealthSettings> = {}) {
    const dir = mkdtempSync(join(tmpdir(), "health-check-"));
    const bin = join(dir, "bin");
    const home = join(dir, "home");
    const state = join(dir, "state");
    const healthDir = join(home, ".config/rezept-tagebuch");
    const unitDir = join(home, ".config/systemd/user");
    for (const d of [bin, state, healthDir, unitDir]) mkdirSync(d, { recursive: true });
    const settings = settingsFor(env, dir, extra);
    const names = environmentNames(env);
    const script = join(healthDir, `health-${env}.sh`);
    writeFileSync(script, renderHealthScript(settings));
    writeFileSync(join(healthDir, `health-${env}-failed.sh`), renderCheckFailedScript(settings));
    for (const [file, content] of Object.entries(settings.units)) writeFileSync(join(unitDir, file), content);
    const setContainer = (name: string, status: string | undefined, env?: string[]) => {
        if (status === undefined) { rmSync(join(state, `${name}.status`), { force: true }); return; }
        writeFileSync(join(state, `${name}.status`), `${status}\n`);
        if (env) writeFileSync(join(state, `${name}.env`), `${env.join("\n")}\n`);
    };
    setContainer(names.dbContainer, "running", [`POSTGRES_PASSWORD=${PASSWORD}`]);
    if (settings.appContainer) {
        setContainer(names.appContainer, "running", renderAppEnv({
            environment: env, version: "v1.2.3", dbHost: names.dbContainer, dbPort: 5432, dbName: names.dbName, dbUser: "postgres", dbPassword: PASSWORD, env: {}, secretEnv: {},
        }));
    }
    writeFileSync(join(state, "db-password"), PASSWORD);
    writeFileSync(join(state, "version-answer"), '{"version":"v1.2.3"}\n200');
    writeFileSync(join(state, "proxy-answer"), '{"version":"v1.2.3"}\n200');
    // psql authenticates as the official postgres image's pg_hba.conf says (e2e/images/postgres-entrypoint.sh):
    // the socket and loopback are trusted, any password passes; a network name must resolve (only the
    // database's own) and the password must be the role's.
    writeFileSync(join(bin, "podman"), `#!/bin/sh
S=${state}
case "$1 $2" in
"container inspect")
    [ "$3" = --format ] || { echo "stub podman: inspect without --format" >&2; exit 125; }
    [ -f "$S/$5.status" ] || { echo "Error: no such container $5" >&2; exit 125; }
    case $4 in
    *Config.Env*) cat "$S/$5.env" 2>/dev/null; echo ;;
    *ExitCode*) echo "$(cat "$S/$5.status") $(cat "$S/$5.exitcode" 2>/dev/null || echo 0)" ;;
    *State.Status*) cat "$S/$5.status" ;;
    *) echo "stub podman: format $4 not modelled" >&2; exit 125 ;;
    esac ;;
"healthcheck run")
    [ -f "$S/$3.status" ] || exit 125
    [ "$(cat "$S/$3.status")" = running ] && [ ! -f "$S/$3.unhealthy" ] ;;
"exec --env")
    echo "$*" >> "$S/psql.log"
    env | grep -c "${PASSWORD}" >> "$S/psql.env-seen"
    host=; prev=
    for arg in "$@"; do [ "$prev" = -h ] && host=$arg; prev=$arg; done
    case "$host" in ""|/*|127.0.0.1|localhost|::1) exit 0 ;; esac
    [ "$host" = "${names.dbContainer}" ] || { echo "psql: error: could not translate host name \\"$host\\" to address: Name or service not known" >&2; exit 2; }
    [ "$PGPASSWORD" = "$(cat "$S/db-password")" ] || { echo "psql: error: connection to server at \\"$host\\" (10.89.0.2), port 5432 failed: FATAL:  password authentication failed for user \\"postgres\\"" >&2; exit 2; } ;;
"exec "*)
    # The WAL archive's disk and gap, read inside the database: free KiB, the archive's KiB, the gap's last segment and its count.
    case "$*" in *"df -Pk"*) cat "$S/archive-answer" 2>/dev/null || exit 125 ;; *) cat "$S/version-answer" ;; esac ;;
*) echo "stub podman: $* not modelled" >&2; exit 125 ;;
esac
`);
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh
S=${state}
[ "$1" = --user ] && shift
case "$1" in
is-enabled) v=$(cat "$S/unit.$2.enabled" 2>/dev/null || echo enabled); echo "$v"; [ "$v" = enabled ] ;;
is-active) v=$(cat "$S/unit.$2.active" 2>/dev/null || echo active); echo "$v"; [ "$v" = active ] ;;
show)
    case "$*" in
    # The manager's start (a boot): systemctl prints an unset timestamp as nothing.
    *--property=UserspaceTimestamp*) if [ -f "$S/manager-started" ]; then echo "@$(cat "$S/manager-started")"; else echo; fi ;;
    *) cat "$S/unit.$4.result" 2>/dev/null || echo success ;;
    esac ;;
*) echo "stub systemctl: $* not modelled" >&2; exit 1 ;;
esac
`);
    writeFileSync(join(bin, "date"), `#!/bin/sh\nif [ "$1" = +%s ] && [ -f "${state}/now" ]; then cat "${state}/now"; else exec /bin/date "$@"; fi\n`);
    // curl: the webhook (config on stdin with -K -) or the proxy probe.
    writeFileSync(join(bin, "curl"), `#!/bin/sh
S=${state}
case " $* " in
*" -K - "*)
    echo "$*" >> "$S/curl.args"; cat >> "$S/curl.config"
    for arg in "$@"; do case $arg in @*) cat "\${arg#@}" >> "$S/webhook.bodies"; echo >> "$S/webhook.bodies" ;; esac; done ;;
*) cat "$S/proxy-answer" ;;
esac
`);
    for (const tool of ["podman", "systemctl", "date", "curl"]) chmodSync(join(bin, tool), 0o755);
    const check = (...args: string[]) => spawnSync("sh", [script, ...args], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home } });
    const checkFailed = (env: Record<string, string> = {}) => spawnSync("sh", [join(healthDir, `health-${settings.environment}-failed.sh`)], {
        encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home, ...env },
    });
    const alerts = () => (existsSync(join(dir, "alerts.log")) ? readFileSync(join(dir, "alerts.log"), "utf8").split("---\n").filter(Boolean) : []);
    const webhooks = () => (existsSync(join(state, "webhook.bodies")) ? readFileSync(join(state, "webhook.bodies"), "utf8").trim().split("\n").map((line) => JSON.parse(line)) : []);
    const setNow = (seconds: number) => writeFileSync(join(state, "now"), `${seconds}\n`);
    const failed = (stdout: string) => [...stdout.matchAll(/^ {2}✗ (.+?) {2}/gm)].map((m) => m[1].trimEnd());
    return { check, checkFailed, setContainer, alerts, webhooks, setNow, failed, state, home, healthDir, unitDir, script, settings, names };
}

describe("the installed health check", () => {
    it.each(ENVIRONMENTS)("%s: both scripts are shellcheck clean", (env) => {
        const dir = mkdtempSync(join(tmpdir(), "health-sc-"));
        for (const script of [renderHealthScript(settingsFor(env, dir, { proxyUrl: "http://host/rezept-tagebuch-dev/", alertCommand: "mail -s 'rezept $x' ops" })), renderCheckFailedScript(settingsFor(env, dir))]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" });
            expect(result.stdout).toBe("");
            expect(result.status).toBe(0);
        }
    });

    it("healthy: every row passes, the table as before, exit 0, no alert", () => {
        const host = fakeHost("dev", { proxyUrl: "http://host/rezept-tagebuch-dev/" });
        const result = host.check("--alert");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/^rezept-tagebuch dev on \S+: healthy\n/);
        expect(result.stdout).not.toContain("✗");
        for (const row of ["database seaser-postgres-dev exists", "database seaser-postgres-dev healthy", "database seaser-postgres-dev accepts the app's login",
            "app seaser-rezept-tagebuch-dev /api/version ", "app seaser-rezept-tagebuch-dev /api/version via the proxy", "app seaser-rezept-tagebuch-dev uses the dev database",
            "unit container-seaser-postgres-dev.service enabled", "unit rezept-tagebuch-backup-dev.service last run succeeded", "unit rezept-tagebuch-backup-dev.timer file as deployed"]) {
            expect(result.stdout).toContain(`✓ ${row}`);
        }
        expect(host.alerts()).toEqual([]);
        expect(host.webhooks()).toEqual([]);
    });

    // Each row: the fault, the row that fails (and only it), its fix; and mended, exit 0 again.
    const faults: [string, EnvironmentName, (host: ReturnType<typeof fakeHost>) => void, string | string[], RegExp][] = [
        ["database gone", "test", (h) => h.setContainer(h.names.dbContainer, undefined), "database seaser-postgres-test exists", /no such container\n {6}fix: npm run stack -- up test\n/],
        ["database exited", "test", (h) => { h.setContainer(h.names.dbContainer, "exited"); writeFileSync(join(h.state, `${h.names.dbContainer}.exitcode`), "137"); },
            ["database seaser-postgres-test runs", "database seaser-postgres-test healthy"], /exited \(exit code 137\)\n {6}fix: systemctl --user restart container-seaser-postgres-test.service; journalctl/],
        ["database unhealthy", "test", (h) => writeFileSync(join(h.state, `${h.names.dbContainer}.unhealthy`), ""), "database seaser-postgres-test healthy", /healthcheck exit code 1\n/],
        ["a password the database no longer has", "dev", (h) => writeFileSync(join(h.state, "db-password"), "changed-by-alter-role"),
            "database seaser-postgres-dev accepts the app's login", /login failed \(exit code 2\): psql: error: connection to server at "seaser-postgres-dev" .* password authentication failed for user "postgres"\n/],
        ["app unhealthy", "dev", (h) => writeFileSync(join(h.state, `${h.names.appContainer}.unhealthy`), ""), "app seaser-rezept-tagebuch-dev healthy", /healthcheck exit code 1/],
        ["another version", "prod", (h) => writeFileSync(join(h.state, "version-answer"), '{"version": "v1.2.2"}\n200'),
            "app seaser-rezept-tagebuch /api/version", /HTTP 200, version "v1.2.2", expected 200 and "v1.2.3"\n {6}fix: npm run stack -- output prod appImageTag/],
        ["a server error", "prod", (h) => writeFileSync(join(h.state, "version-answer"), "oops\n500"), "app seaser-rezept-tagebuch /api/version", /HTTP 500, version "oops"/],
        ["dev pointed at prod's database", "dev", (h) => h.setContainer(h.names.appContainer, "running", ["POSTGRES_HOST=seaser-postgres", "DEV_MODE=true", `POSTGRES_PASSWORD=${PASSWORD}`]),
            // The login goes where the app's does: prod's name does not resolve on dev's network.
            ["database seaser-postgres-dev accepts the app's login", "app seaser-rezept-tagebuch-dev uses the dev database"], /POSTGRES_HOST is "seaser-postgres", not the dev database \(seaser-postgres-dev\)\n {6}fix: podman rm -f seaser-rezept-tagebuch-dev; npm run stack -- up dev --refresh/],
        ["DEV_MODE in prod", "prod", (h) => writeFileSync(join(h.state, `${h.names.appContainer}.env`), `${readFileSync(join(h.state, `${h.names.appContainer}.env`), "utf8")}DEV_MODE=true\n`),
            "app seaser-rezept-tagebuch uses the prod database", /DEV_MODE is set in prod; it belongs to dev only/],
        ["a disabled unit", "test", (h) => writeFileSync(join(h.state, "unit.container-seaser-postgres-test.service.enabled"), "disabled"),
            "unit container-seaser-postgres-test.service enabled", /disabled\n {6}fix: systemctl --user enable container-seaser-postgres-test.service\n/],
        ["an inactive unit", "test", (h) => writeFileSync(join(h.state, "unit.rezept-tagebuch-backup-test.timer.active"), "inactive"), "unit rezept-tagebuch-backup-test.timer active", /inactive/],
        ["a failed nightly backup", "test", (h) => writeFileSync(join(h.state, "unit.rezept-tagebuch-backup-test.service.result"), "exit-code"),
            "unit rezept-tagebuch-backup-test.service last run succeeded", /exit-code\n {6}fix: journalctl --user -u rezept-tagebuch-backup-test.service/],
        ["a unit file edited by hand", "test", (h) => writeFileSync(join(h.unitDir, "container-seaser-postgres-test.service"), `${h.settings.units["container-seaser-postgres-test.service"]}Environment=X=1\n`),
            "unit container-seaser-postgres-test.service file as deployed", /changed by hand \(systemctl --user cat container-seaser-postgres-test.service\)\n {6}fix: npm run stack -- up test --replace 'urn:pulumi:test::rezept-tagebuch::rezept-tagebuch:index:BootUnits\$command:local:Command::test-boot-install'\n/],
        ["a unit file missing", "test", (h) => rmSync(join(h.unitDir, "container-seaser-postgres-test.service")), "unit container-seaser-postgres-test.service file as deployed", /missing/],
    ];
    it.each(faults)("%s (%s): that row fails with its fix, exit 1", (_, env, fault, row, detail) => {
        const host = fakeHost(env);
        expect(host.check().status).toBe(0);
        fault(host);
        const result = host.check();
        expect(result.status).toBe(1);
        expect(result.stdout).toMatch(new RegExp(`^rezept-tagebuch ${env} on \\S+: FAILING\n`));
        expect(host.failed(result.stdout)).toEqual(typeof row === "string" ? [row] : row);
        expect(result.stdout).toMatch(detail);
        expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    });

    it("an app that is down fails its own rows and the login, naming the app", () => {
        const host = fakeHost("dev");
        host.setContainer(host.names.appContainer, "exited");
        const result = host.check();
        expect(host.failed(result.stdout)).toEqual(["app seaser-rezept-tagebuch-dev runs", "app seaser-rezept-tagebuch-dev healthy", "app seaser-rezept-tagebuch-dev /api/version"]);
        expect(result.stdout).toContain("seaser-rezept-tagebuch-dev is not running");
    });

    it("logs in as the app does: over the network to its POSTGRES_HOST, its user and database, the password only in the environment", () => {
        const host = fakeHost("dev");
        expect(host.check().status).toBe(0);
        const calls = readFileSync(join(host.state, "psql.log"), "utf8");
        expect(calls).toBe(`exec --env PGPASSWORD --env PGCONNECT_TIMEOUT seaser-postgres-dev psql -X -q -h seaser-postgres-dev -p 5432 -U postgres -d ${host.names.dbName} -c select 1\n`);
        expect(readFileSync(join(host.state, "psql.env-seen"), "utf8").trim()).toBe("1");
    });

    it("the proxy row: the answer through proxyUrl, and without curl or wget it says so", () => {
        const host = fakeHost("dev", { proxyUrl: "http://host/rezept-tagebuch-dev" });
        writeFileSync(join(host.state, "proxy-answer"), "Bad Gateway\n502");
        const result = host.check();
        expect(host.failed(result.stdout)).toEqual(["app seaser-rezept-tagebuch-dev /api/version via the proxy"]);
        expect(result.stdout).toContain("fix: curl -sS -i http://host/rezept-tagebuch-dev/api/version");
        // A host with neither curl nor wget: the tools the check needs, and nothing else.
        const tools = mkdtempSync(join(tmpdir(), "tools-"));
        for (const tool of ["sh", "tr", "sed", "awk", "mktemp", "cat", "rm", "grep", "head", "tail", "cut", "sha256sum", "stat", "uname", "mkdir", "mv", "id"]) {
            symlinkSync(spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim(), join(tools, tool));
        }
        rmSync(join(host.state, "..", "bin", "curl"));
        const bare = spawnSync("/bin/sh", [host.script], { encoding: "utf8", env: { PATH: `${join(host.state, "..", "bin")}:${tools}`, HOME: host.home } });
        expect(bare.stderr).toBe("");
        expect(host.failed(bare.stdout)).toEqual(["app seaser-rezept-tagebuch-dev /api/version via the proxy"]);
        expect(bare.stdout).toContain("not checked: neither curl nor wget is on the host\n      fix: apt-get install curl\n");
    });

    it("--json: the report as data, each failure with its fix", () => {
        const host = fakeHost("dev");
        writeFileSync(join(host.state, "unit.container-seaser-postgres-dev.service.enabled"), "disabled");
        const result = host.check("--json");
        expect(result.status).toBe(1);
        const json = JSON.parse(result.stdout);
        expect(json.ok).toBe(false);
        expect(json.environments).toHaveLength(1);
        expect(json.environments[0].environment).toBe("dev");
        const bad = json.environments[0].checks.filter((c: { ok: boolean }) => !c.ok);
        expect(bad).toEqual([{ name: "unit container-seaser-postgres-dev.service enabled", ok: false, detail: "disabled", fix: "systemctl --user enable container-seaser-postgres-dev.service" }]);
        expect(json.environments[0].checks.find((c: { name: string }) => c.name.endsWith("accepts the app's login"))).toEqual({ name: "database seaser-postgres-dev accepts the app's login", ok: true, detail: "login and query succeed" });
    });

    it("a detail with quotes, backslashes and tabs stays valid JSON", () => {
        const host = fakeHost("prod");
        writeFileSync(join(host.state, "version-answer"), 'say "hi"\\\there\n500');
        const json = JSON.parse(host.check("--json").stdout);
        expect(json.environments[0].checks.find((c: { ok: boolean }) => !c.ok).detail).toBe('HTTP 500, version "say "hi"\\ here", expected 200 and "v1.2.3"');
    });

    /** Runs the timer's check until it hangs in the login check (a database that does not answer), then ends it with `signal` as systemd would: sent to every process of its control group (here: its process group). */
    const endedMidRun = async (signal: NodeJS.Signals) => {
        const host = fakeHost("dev");
        const tmp = mkdtempSync(join(tmpdir(), "health-tmp-"));
        const podman = join(host.state, "..", "bin", "podman");
        writeFileSync(podman, readFileSync(podman, "utf8").replace('"exec --env")\n', `"exec --env")\n    touch "$S/login-started"; sleep 30\n`));
        const run = spawn("sh", [host.script, "--alert"], { env: { PATH: `${join(host.state, "..", "bin")}:/usr/bin:/bin`, HOME: host.home, TMPDIR: tmp }, detached: true, stdio: "ignore" });
        const ended = new Promise<string>((done) => run.on("exit", (code, signal) => done(signal ?? `exit ${code}`)));
        for (let waited = 0; !existsSync(join(host.state, "login-started")); waited += 50) {
            expect(waited, "the check reached the login").toBeLessThan(10_000);
            await new Promise((done) => setTimeout(done, 50));
        }
        process.kill(-run.pid!, signal);
        const end = await ended;
        const left = spawnSync("find", [tmp, "-mindepth", "1"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
        const withPassword = spawnSync("grep", ["-rl", PASSWORD, tmp], { encoding: "utf8" }).stdout.trim();
        rmSync(tmp, { recursive: true, force: true });
        return { end, left, withPassword };
    };

    it("ended by its unit's timeout or a shutdown (SIGTERM) mid-run, it leaves no file behind, and still ends by the signal", async () => {
        const { end, left } = await endedMidRun("SIGTERM");
        expect(left).toEqual([]);
        // Not exit 143: systemd takes SIGTERM as a stopped unit's clean end, an exit code 143 as its failure (OnFailure=).
        expect(end).toBe("SIGTERM");
    });

    it("killed mid-run (SIGKILL, no trap runs), no file it leaves holds the app's password", async () => {
        const { withPassword } = await endedMidRun("SIGKILL");
        expect(withPassword).toBe("");
    });

    it("refuses an unknown argument, exit 2", () => {
        const result = fakeHost("test").check("--stack");
        expect(result.status).toBe(2);
        expect(result.stderr).toMatch(/^health: unknown argument '--stack'; usage: sh .*health-test.sh \[--json\] \[--alert\]\n$/);
    });
});

describe("the restore drill's row", () => {
    const NOW = 1_900_000_000;
    const drillHost = () => {
        const dir = mkdtempSync(join(tmpdir(), "drill-row-"));
        const file = join(dir, "restore-drill.last");
        const host = fakeHost("prod", { drillResultFile: file });
        host.setNow(NOW);
        utimesSync(host.script, NOW - 60, NOW - 60);
        const row = (stdout: string) => stdout.split("\n").find((line) => line.includes("restore drill passed in the last 8 days")) ?? "";
        return { host, file, row };
    };

    it("a drill that passed: its backup, RTO, tables and rows, and its age", () => {
        const { host, file, row } = drillHost();
        writeFileSync(file, `result=passed\nat=${NOW - 2 * 3600}\nrto_seconds=14\nbackup=prod-20261201T030000Z-v1.dump\ntables=3\nrows=120\n`);
        const result = host.check();
        expect(result.status).toBe(0);
        expect(row(result.stdout)).toMatch(/✓ .*passed 2 h ago: prod-20261201T030000Z-v1.dump restored in 14 s, 3 tables, 120 rows as in the backup$/);
    });

    it("none yet on a stack installed less than 8 days ago; then it fails", () => {
        const { host, row } = drillHost();
        expect(row(host.check().stdout)).toMatch(/✓ .*none yet/);
        host.setNow(NOW + 8 * 86400);
        const result = host.check();
        expect(result.status).toBe(1);
        expect(row(result.stdout)).toMatch(/✗ .*no drill has run$/);
    });

    it("a failed drill fails the row with its reason and the fix", () => {
        const { host, file } = drillHost();
        writeFileSync(file, `result=failed\nat=${NOW - 600}\nreason=the restored rows differ from prod-x.dump's: < public.recipes 3;\n`);
        const result = host.check();
        expect(result.status).toBe(1);
        expect(host.failed(result.stdout)).toEqual(["restore drill passed in the last 8 days"]);
        expect(result.stdout).toMatch(/failed 0 h ago: the restored rows differ from prod-x.dump's: < public.recipes 3;\n {6}fix: journalctl --user -u rezept-tagebuch-restore-drill-prod.service -n 50; then: systemctl --user start rezept-tagebuch-restore-drill-prod.service\n/);
    });

    it("a drill that passed 9 days ago is too old", () => {
        const { host, file, row } = drillHost();
        writeFileSync(file, `result=passed\nat=${NOW - 9 * 86400}\nrto_seconds=14\nbackup=b\ntables=1\nrows=1\n`);
        const result = host.check();
        expect(result.status).toBe(1);
        expect(row(result.stdout)).toMatch(/✗ .*the last one passed 216 h ago$/);
    });
});

describe("the off-host copies' ages and the WAL archive's disk (issue 31)", () => {
    const NOW = 1_900_000_000;
    const RESERVE_MIB = 2048;
    const copiesHost = (pitr = true) => {
        const dir = mkdtempSync(join(tmpdir(), "copies-rows-"));
        const host = fakeHost("prod", { offsiteCopies: { backupDirectory: dir, pitr: pitr ? { walReserveMiB: RESERVE_MIB } : undefined } });
        host.setNow(NOW);
        utimesSync(host.script, NOW - 60, NOW - 60);
        const stamp = (file: string, at: number) => writeFileSync(join(dir, file), `at=${at}\n`);
        const archive = (freeMiB: number, gap: string[] = []) =>
            writeFileSync(join(host.state, "archive-answer"), `${freeMiB * 1024}\n${300 * 1024}\n${gap.at(-1) ?? ""}\n${gap.length}\n`);
        stamp(".pitr-wal.last", NOW - 30);
        stamp("offsite-upload.last", NOW - 3600);
        archive(10 * RESERVE_MIB);
        const row = (stdout: string, name: string) => stdout.split("\n").find((line) => line.includes(name)) ?? "";
        return { host, stamp, archive, row };
    };

    it("healthy: the WAL copied 30 s ago, the nightly copy an hour ago, room on the archive's disk, no gap", () => {
        const { host } = copiesHost();
        const result = host.check();
        expect(result.stdout).toMatch(/✓ WAL off the host in the last 60 s +the last 30 s ago\n/);
        expect(result.stdout).toMatch(/✓ nightly backup off the host in the last 30 h +the last 60 min ago\n/);
        expect(result.stdout).toMatch(/✓ disk of the WAL archive has room +20480 MiB free, the archive 300 MiB\n/);
        expect(result.stdout).toMatch(/✓ WAL archive whole since the last base backup +no segment left out\n/);
        expect(result.status, result.stdout).toBe(0);
    });

    it("the last WAL copy older than the README's RPO less archive_timeout (60 s) fails, however its unit's last run ended", () => {
        const { host, stamp, row } = copiesHost();
        stamp(".pitr-wal.last", NOW - 61);
        const result = host.check();
        expect(result.status).toBe(1);
        expect(host.failed(result.stdout)).toEqual(["WAL off the host in the last 60 s"]);
        expect(row(result.stdout, "WAL off the host")).toMatch(/✗ .*the last 61 s ago \(2030-03-17 17:45:39 UTC\); what changed since is on this host only$/);
        expect(result.stdout).toContain("fix: journalctl --user -u rezept-tagebuch-wal-prod.service -n 50; systemctl --user list-timers rezept-tagebuch-wal-prod.timer");
    });

    it("the nightly copy older than a day and its unit's time limit (30 h) fails", () => {
        const { host, stamp } = copiesHost();
        stamp("offsite-upload.last", NOW - 30 * 3600 - 1);
        const result = host.check();
        expect(host.failed(result.stdout)).toEqual(["nightly backup off the host in the last 30 h"]);
        expect(result.stdout).toContain("fix: journalctl --user -u rezept-tagebuch-backup-prod.service -n 50; then: systemctl --user start rezept-tagebuch-backup-prod.service");
    });

    it("no copy yet: none yet while the check is younger than the age allowed, then it fails", () => {
        const { host, row } = copiesHost();
        rmSync(join(host.settings.offsiteCopies!.backupDirectory, ".pitr-wal.last"));
        utimesSync(host.script, NOW - 20, NOW - 20);
        expect(row(host.check().stdout, "WAL off the host")).toMatch(/✓ .*none yet/);
        host.setNow(NOW + 41);
        expect(row(host.check().stdout, "WAL off the host")).toMatch(/✗ .*no successful WAL upload since the check was installed 1 min ago$/);
    });

    it("the disk alerts at twice the reserve, before the archive leaves out a segment; a gap fails until a base backup closes it", () => {
        const { host, archive } = copiesHost();
        archive(2 * RESERVE_MIB + 1);
        expect(host.check().status).toBe(0);
        archive(2 * RESERVE_MIB);
        let result = host.check();
        expect(host.failed(result.stdout)).toEqual(["disk of the WAL archive has room"]);
        expect(result.stdout).toContain("4096 MiB free, the archive 300 MiB; below 2048 MiB free the archive keeps no more WAL");
        archive(RESERVE_MIB, ["000000010000000000000041", "000000010000000000000042"]);
        result = host.check();
        expect(host.failed(result.stdout)).toEqual(["disk of the WAL archive has room", "WAL archive whole since the last base backup"]);
        expect(result.stdout).toContain("2 segments left out for want of disk, the last 000000010000000000000042");
        expect(result.stdout).toContain("fix: free disk space, then: systemctl --user start rezept-tagebuch-base-backup-prod.service");
    });

    it("without PITR only the nightly copy's row; without off-host copies neither", () => {
        const { host } = copiesHost(false);
        expect(host.check().stdout).not.toMatch(/WAL/);
        expect(host.check().stdout).toContain("nightly backup off the host");
        expect(fakeHost("prod").check().stdout).not.toMatch(/off the host/);
    });
});

describe("alerts: on the change, once on recovery, reminders at alertRepeatMinutes", () => {
    it("failing -> one alert per channel; still failing -> none until the repeat time, then a reminder; healthy -> one recovery", () => {
        const host = fakeHost("dev");
        writeFileSync(join(host.healthDir, "health-dev.webhook"), WEBHOOK, { mode: 0o600 });
        host.setNow(1_000_000);
        expect(host.check("--alert").status).toBe(0);
        expect(host.alerts()).toEqual([]);

        host.setContainer(host.names.dbContainer, "exited");
        for (const at of [1_000_300, 1_000_600, 1_003_599]) {
            host.setNow(at);
            expect(host.check("--alert").status).toBe(1);
        }
        expect(host.alerts()).toHaveLength(1);
        expect(host.alerts()[0]).toMatch(/^rezept-tagebuch dev on \S+ FAILING: database seaser-postgres-dev runs, database seaser-postgres-dev healthy, database seaser-postgres-dev accepts the app's login\n✗ database seaser-postgres-dev runs: exited \(exit code 0\)\n {2}fix: systemctl --user restart/);
        host.setNow(1_000_300 + 3600);
        host.check("--alert");
        expect(host.alerts()).toHaveLength(2);
        expect(host.alerts()[1]).toMatch(/^rezept-tagebuch dev on \S+ still failing: /);

        host.setContainer(host.names.dbContainer, "running");
        for (const at of [1_004_000, 1_004_300]) {
            host.setNow(at);
            expect(host.check("--alert").status).toBe(0);
        }
        expect(host.alerts()).toHaveLength(3);
        expect(host.alerts()[2]).toMatch(/^rezept-tagebuch dev on \S+ recovered: all \d+ checks pass\n$/);
        expect(host.webhooks().map((w) => w.kind)).toEqual(["failing", "reminder", "recovered"]);
        expect(host.webhooks()[0]).toMatchObject({ environment: "dev", failed: ["database seaser-postgres-dev runs", "database seaser-postgres-dev healthy", "database seaser-postgres-dev accepts the app's login"] });
        expect(host.webhooks()[0].text).toBe(host.alerts()[0].trimEnd());
        // The URL went to curl on stdin (its config), never on its command line.
        expect(readFileSync(join(host.state, "curl.config"), "utf8")).toBe(`url = "${WEBHOOK}"\n`.repeat(3));
        expect(readFileSync(join(host.state, "curl.args"), "utf8")).not.toContain("T0KEN");
        for (const text of [...host.alerts(), readFileSync(join(host.state, "webhook.bodies"), "utf8")]) expect(text).not.toContain(PASSWORD);
    });

    it("a run without --alert neither alerts nor changes the state; a damaged state file alerts once rather than never", () => {
        const host = fakeHost("test");
        host.setContainer(host.names.dbContainer, "exited");
        host.check();
        expect(host.alerts()).toEqual([]);
        expect(existsSync(join(host.healthDir, "health-test.state"))).toBe(false);
        writeFileSync(join(host.healthDir, "health-test.state"), "garbage{");
        host.check("--alert");
        host.check("--alert");
        expect(host.alerts()).toHaveLength(1);
    });
});

describe("no page for a deploy or a boot, a page once it should be over", () => {
    const failingDb = () => {
        const host = fakeHost("dev");
        host.setNow(1_000_000);
        expect(host.check("--alert").status).toBe(0);
        host.setContainer(host.names.dbContainer, "exited");
        return host;
    };
    const deployWindow = (host: ReturnType<typeof fakeHost>, action: "open" | "close") => {
        const result = spawnSync("sh", ["-c", renderDeployWindowScript(host.settings, action, 960)], { encoding: "utf8", env: { PATH: `${join(host.state, "..", "bin")}:/usr/bin:/bin`, HOME: host.home } });
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
    };

    it("while a deploy's window is open: no page, and the state stays healthy; once it closes, a stack still failing pages", () => {
        const host = failingDb();
        deployWindow(host, "open");
        host.setNow(1_000_300);
        const during = host.check("--alert");
        expect(during.status).toBe(1);
        expect(during.stdout).toContain("failing, no alert: a deploy is under way (for at most 660 s more)");
        expect(host.alerts()).toEqual([]);
        deployWindow(host, "close");
        host.setNow(1_000_360);
        host.check("--alert");
        expect(host.alerts().map((alert) => alert.split("\n")[0])).toEqual([expect.stringMatching(/ FAILING: database seaser-postgres-dev runs, /)]);
    });

    it("a run that started in the window stays quiet when the deploy closes it before the run ends", () => {
        const host = failingDb();
        deployWindow(host, "open");
        // The deploy ends while the run is in its checks: the login check (the last podman call) closes the window.
        const podman = join(host.state, "..", "bin", "podman");
        writeFileSync(podman, readFileSync(podman, "utf8").replace('"healthcheck run")\n', `"healthcheck run")\n    rm -f "${join(host.healthDir, "health-dev.deploying")}"\n`));
        host.setNow(1_000_300);
        expect(host.check("--alert").stdout).toContain("failing, no alert: a deploy is under way");
        expect(existsSync(join(host.healthDir, "health-dev.deploying"))).toBe(false);
        expect(host.alerts()).toEqual([]);
    });

    it("a window a failed deploy left open pages once its time is over", () => {
        const host = failingDb();
        deployWindow(host, "open");
        host.setNow(1_000_959);
        host.check("--alert");
        expect(host.alerts()).toEqual([]);
        host.setNow(1_000_960);
        host.check("--alert");
        expect(host.alerts()).toHaveLength(1);
    });

    it("within the boot's grace after the manager started: no page; after it, a boot that did not come up pages", () => {
        const host = failingDb();
        writeFileSync(join(host.state, "manager-started"), "1_000_100".replaceAll("_", ""));
        host.setNow(1_000_399);
        expect(host.check("--alert").stdout).toContain("failing, no alert: the host started 299 s ago (its units have 300 s)");
        expect(host.alerts()).toEqual([]);
        host.setNow(1_000_400);
        host.check("--alert");
        expect(host.alerts()).toHaveLength(1);
    });

    it("once the stack was healthy after the boot, the grace is over: a failure then pages at once", () => {
        const host = fakeHost("dev");
        writeFileSync(join(host.state, "manager-started"), "1000100");
        host.setNow(1_000_130);
        expect(host.check("--alert").status).toBe(0);
        host.setContainer(host.names.dbContainer, "exited");
        host.setNow(1_000_140);
        host.check("--alert");
        expect(host.alerts()).toHaveLength(1);
    });

    it("a boot or a deploy that comes up healthy sends nothing at all", () => {
        const host = failingDb();
        writeFileSync(join(host.state, "manager-started"), "1000100");
        host.setNow(1_000_200);
        host.check("--alert");
        host.setContainer(host.names.dbContainer, "running");
        host.setNow(1_000_260);
        expect(host.check("--alert").status).toBe(0);
        expect(host.alerts()).toEqual([]);
    });
});

describe("the self-watch", () => {
    it("the check's failure to run: one alert per channel per streak; the next run that completes sends one recovery", () => {
        const host = fakeHost("dev");
        writeFileSync(join(host.healthDir, "health-dev.webhook"), WEBHOOK, { mode: 0o600 });
        for (let i = 0; i < 2; i++) expect(host.checkFailed({ MONITOR_SERVICE_RESULT: "exit-code", MONITOR_EXIT_STATUS: "127" }).status).toBe(0);
        expect(host.alerts()).toHaveLength(1);
        expect(host.alerts()[0]).toMatch(/^rezept-tagebuch dev on \S+: the health check did not run \(rezept-tagebuch-health-dev.service: exit-code, exit 127\)\n {2}fix: journalctl --user -u rezept-tagebuch-health-dev.service/);
        expect(host.webhooks().map((w) => w.kind)).toEqual(["check-failed"]);
        expect(host.check("--alert").status).toBe(0);
        expect(host.check("--alert").status).toBe(0);
        expect(host.alerts()).toHaveLength(2);
        expect(host.alerts()[1]).toMatch(/the health check runs again/);
        expect(host.webhooks().map((w) => w.kind)).toEqual(["check-failed", "check-recovered"]);
    });

    it("keeps an open outage alert across its own failure: the recovery of the stack still comes once", () => {
        const host = fakeHost("test");
        host.setContainer(host.names.dbContainer, "exited");
        host.check("--alert");
        host.checkFailed();
        host.setContainer(host.names.dbContainer, "running");
        host.check("--alert");
        expect(host.alerts().map((a) => a.split("\n")[0].replace(/ on [^\s:]+/, ""))).toEqual([
            expect.stringMatching(/^rezept-tagebuch test FAILING: /),
            "rezept-tagebuch test: the health check did not run (rezept-tagebuch-health-test.service: failed, exit unknown)",
            "rezept-tagebuch test recovered: all 11 checks pass",
            "rezept-tagebuch test: the health check runs again (rezept-tagebuch-health-test.service)",
        ]);
    });

    it("the operator's run reports a timer whose check has not succeeded for three intervals", () => {
        const host = fakeHost("test");
        const installedAt = 2_000_000;
        utimesSync(host.script, installedAt, installedAt);
        host.setNow(installedAt + 60);
        expect(host.check("--alert").status).toBe(0);
        host.setNow(installedAt + 60 + 15 * 60);
        expect(host.check().stdout).toContain("✓ check rezept-tagebuch-health-test.timer ran in the last 3 intervals  last run 15 min ago (every 5 min)");
        host.setNow(installedAt + 60 + 15 * 60 + 1);
        const stale = host.check();
        expect(stale.status).toBe(1);
        expect(host.failed(stale.stdout)).toEqual(["check rezept-tagebuch-health-test.timer ran in the last 3 intervals"]);
        expect(stale.stdout).toContain("fix: systemctl --user status rezept-tagebuch-health-test.timer rezept-tagebuch-health-test.service");
        // A fresh install counts as a start: no report before three intervals have passed since.
        utimesSync(host.script, installedAt + 900, installedAt + 900);
        expect(host.check().status).toBe(0);
    });
});
