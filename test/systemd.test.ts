import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fakeHost } from "./fakeHost";
import { ENVIRONMENTS, environmentNames } from "../lib/environments";
import { readScriptFiles } from "../lib/hostScript";
import { BootSpec, renderInstallScript, renderRemoveScript, renderUnits, SystemdScope, waitForHealthyCommand } from "../lib/systemd";
import { runProgram, TYPES, validConfig } from "./harness";

function spec(env: (typeof ENVIRONMENTS)[number], scope: SystemdScope, withApp = env !== "test"): BootSpec {
    const names = environmentNames(env);
    return { environment: env, scope, dbContainer: names.dbContainer, appContainer: withApp ? names.appContainer : undefined, dbHealthTimeoutSeconds: 120 };
}

/** Lines of a unit as key=value pairs, in order. */
function directives(unit: string): [string, string][] {
    return unit.split("\n").filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1)];
    });
}
const values = (unit: string, key: string) => directives(unit).filter(([k]) => k === key).map(([, v]) => v);

describe("renderUnits", () => {
    it("renders one unit per container, named as podman generate systemd would", () => {
        expect(Object.keys(renderUnits(spec("dev", "user")))).toEqual([
            "container-seaser-postgres-dev.service", "container-seaser-rezept-tagebuch-dev.service",
        ]);
        expect(Object.keys(renderUnits(spec("test", "user")))).toEqual(["container-seaser-postgres-test.service"]);
    });

    it("starts the existing named container and holds the unit while it runs; never creates one", () => {
        const db = renderUnits(spec("prod", "user"))["container-seaser-postgres.service"];
        expect(values(db, "ExecStartPre")).toEqual(["/usr/bin/podman start seaser-postgres"]);
        expect(values(db, "ExecStart")).toEqual(["/usr/bin/podman wait seaser-postgres"]);
        // Guarded by MAINPID: no stop of whatever container holds the name once the unit's own has exited.
        expect(values(db, "ExecStop")).toEqual([`/bin/sh -c '[ -z "$$MAINPID" ] || exec /usr/bin/podman stop --time 30 seaser-postgres'`]);
        expect(db).not.toMatch(/podman (run|create)|--new|--cidfile|PIDFile/);
    });

    it("restarts after a crash and after a clean exit, and never stops trying", () => {
        for (const unit of Object.values(renderUnits(spec("dev", "user")))) {
            expect(values(unit, "Restart")).toEqual(["always"]);
            // A crash costs RestartSec before the container starts again (issue 21: crash to answering within 3 s).
            expect(values(unit, "RestartSec")).toEqual(["1"]);
            expect(values(unit, "StartLimitIntervalSec")).toEqual(["0"]);
        }
    });

    it("leaves stopping a container to podman stop: systemd signals only the unit's main process", () => {
        // A SIGKILLed conmon leaves Podman 4.3's container "running" with nothing behind it (lib/systemd.ts).
        for (const scope of ["user", "system"] as const) {
            for (const unit of Object.values(renderUnits(spec("dev", scope)))) expect(values(unit, "KillMode")).toEqual(["process"]);
        }
    });

    it("starts the app only after its database unit, and only once the database is healthy", () => {
        const app = renderUnits(spec("dev", "user"))["container-seaser-rezept-tagebuch-dev.service"];
        expect(values(app, "After")).toContain("container-seaser-postgres-dev.service");
        expect(values(app, "Wants")).toEqual(["container-seaser-postgres-dev.service"]);
        const [wait, start] = values(app, "ExecStartPre");
        expect(wait).toBe(waitForHealthyCommand(spec("dev", "user")));
        expect(wait).toContain("timeout 120 ");
        expect(wait).toContain("podman healthcheck run seaser-postgres-dev");
        expect(wait).toContain("not healthy after 120s");
        // The app starts at most one poll after its database is ready: the floor of a boot is the database plus one start.
        const poll = Number(/do sleep ([0-9.]+); done/.exec(wait)?.[1]);
        expect(poll).toBeGreaterThan(0);
        expect(poll).toBeLessThanOrEqual(0.5);
        expect(start).toBe("/usr/bin/podman start seaser-rezept-tagebuch-dev");
        // The start timeout leaves room for the bounded wait.
        expect(Number(values(app, "TimeoutStartSec")[0])).toBeGreaterThan(120);
    });

    it("comes up once its database does, whatever happened to the database's first start", () => {
        for (const scope of ["user", "system"] as const) {
            const app = renderUnits(spec("dev", scope))["container-seaser-rezept-tagebuch-dev.service"];
            // A failed start of a unit listed here fails the app's start job (result `dependency`), and
            // Restart= never retries a job that did not run (systemd 252): the app would stay down.
            for (const failsTheStart of ["Requires", "Requisite", "BindsTo"]) expect(values(app, failsTheStart), failsTheStart).toEqual([]);
            expect(values(app, "Wants")).toContain("container-seaser-postgres-dev.service");
            // After a failed bounded wait the app's own Restart=always tries again, without limit.
            expect(values(app, "Restart")).toEqual(["always"]);
            expect(values(app, "StartLimitIntervalSec")).toEqual(["0"]);
        }
    });

    it("keeps a running app running when its database restarts: no second outage of the app in a database deploy", () => {
        const app = renderUnits(spec("prod", "user"))["container-seaser-rezept-tagebuch.service"];
        // PartOf= and BindsTo= pass the database's restart job (a crash's or a deploy's) on to the app.
        for (const propagates of ["PartOf", "BindsTo", "PropagatesStopTo", "Requires"]) expect(values(app, propagates), propagates).toEqual([]);
        expect(values(app, "Wants")).toEqual(["container-seaser-postgres.service"]);
    });

    it("installs user units for the user manager and system units for boot", () => {
        const user = renderUnits(spec("prod", "user"))["container-seaser-postgres.service"];
        const system = renderUnits(spec("prod", "system"))["container-seaser-postgres.service"];
        expect(values(user, "WantedBy")).toEqual(["default.target"]);
        expect(values(system, "WantedBy")).toEqual(["multi-user.target"]);
        expect(values(system, "After")).toEqual(["sysinit.target sockets.target paths.target network-online.target"]);
        expect(values(system, "Wants")).toEqual(["network-online.target"]);
        expect(user).not.toContain("network-online");
    });

    it("is not ordered after timers.target, so podman 4.3 can stop its healthcheck timer at shutdown", () => {
        for (const scope of ["user", "system"] as const) {
            for (const unit of Object.values(renderUnits(spec("dev", scope)))) {
                expect(values(unit, "DefaultDependencies")).toEqual(["no"]);
                expect(values(unit, "After").join(" ")).not.toMatch(/basic\.target|timers\.target/);
                expect(values(unit, "Conflicts")).toEqual(["shutdown.target"]);
                expect(values(unit, "Before")).toEqual(["shutdown.target"]);
            }
        }
    });

    it("holds no '$' or '%' that systemd would expand ('$$' is systemd's escape for a '$' the shell gets)", () => {
        for (const env of ENVIRONMENTS) {
            for (const unit of Object.values(renderUnits(spec(env, "user", true)))) {
                const body = unit.split("\n").filter((line) => !line.startsWith("#")).join("\n");
                expect(body.replaceAll("$$", "")).not.toMatch(/[$%]/);
            }
        }
    });
});

describe("every rendered unit passes systemd-analyze verify with no output", () => {
    const cases = ENVIRONMENTS.flatMap((env) => (["user", "system"] as const).map((scope) => [env, scope] as const));
    it.each(cases)("%s, %s scope", (env, scope) => {
        const dir = mkdtempSync(join(tmpdir(), `units-${env}-${scope}-`));
        const units = renderUnits(spec(env, scope, true));
        for (const [file, content] of Object.entries(units)) writeFileSync(join(dir, file), content);
        const runtime = mkdtempSync(join(tmpdir(), "xdg-runtime-"));
        const result = spawnSync("systemd-analyze", [...(scope === "user" ? ["--user"] : []), "verify", ...Object.keys(units).map((f) => join(dir, f))], {
            cwd: dir, encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: runtime },
        });
        expect(result.error, "systemd-analyze is missing: apt-get install systemd").toBeUndefined();
        expect(`${result.stdout}${result.stderr}`).toBe("");
        expect(result.status).toBe(0);
    });

    it("and the check catches a broken unit", () => {
        const dir = mkdtempSync(join(tmpdir(), "units-broken-"));
        writeFileSync(join(dir, "broken.service"), "[Unit]\nRequires=missing.service\n[Service]\nExecStart=/usr/bin/podman wait x\nRestartSecs=5\n");
        const result = spawnSync("systemd-analyze", ["verify", join(dir, "broken.service")], { encoding: "utf8" });
        const output = `${result.stdout}${result.stderr}`;
        expect(output).toContain("RestartSecs");
        expect(output).toContain("missing.service");
    });
});

describe("install and remove scripts", () => {
    const scripts = ENVIRONMENTS.flatMap((env) => (["user", "system"] as const).map((scope) => {
        const s = spec(env, scope, true);
        const units = renderUnits(s);
        return [`${env} ${scope}`, renderInstallScript(s, units), renderRemoveScript(s, units)] as const;
    }));

    it.each(scripts)("%s pass shellcheck as POSIX sh", (_name, install, remove) => {
        for (const script of [install, remove]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" });
            expect(result.error, "shellcheck is missing: apt-get install shellcheck").toBeUndefined();
            expect(result.stdout).toBe("");
            expect(result.status).toBe(0);
        }
    });

    const dev = spec("dev", "user");
    const devUnits = renderUnits(dev);

    it("writes exactly the rendered units, reloads, enables and starts them, database first", () => {
        const host = fakeHost();
        const result = host.run(renderInstallScript(dev, devUnits));
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(readdirSync(host.unitDir).sort()).toEqual(Object.keys(devUnits).sort());
        for (const [file, content] of Object.entries(devUnits)) expect(readFileSync(join(host.unitDir, file), "utf8")).toBe(content);
        const systemctl = host.calls().filter((call) => call.startsWith("systemctl"));
        expect(systemctl).toEqual([
            "systemctl --user daemon-reload",
            "systemctl --user enable container-seaser-postgres-dev.service",
            "systemctl --user enable container-seaser-rezept-tagebuch-dev.service",
            "systemctl --user start container-seaser-postgres-dev.service",
            "systemctl --user start container-seaser-rezept-tagebuch-dev.service",
        ]);
    });

    it("is idempotent: a second run leaves the same files and no temp files", () => {
        const host = fakeHost();
        host.run(renderInstallScript(dev, devUnits));
        const again = host.run(renderInstallScript(dev, devUnits));
        expect(again.status).toBe(0);
        expect(readdirSync(host.unitDir).sort()).toEqual(Object.keys(devUnits).sort());
    });

    it("fails loudly, naming the unit, when systemctl fails", () => {
        const host = fakeHost({ failOn: "start container-seaser-rezept-tagebuch-dev.service" });
        const result = host.run(renderInstallScript(dev, devUnits));
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("systemctl --user start container-seaser-rezept-tagebuch-dev.service failed");
        expect(result.stderr).toContain("journalctl --user -u container-seaser-rezept-tagebuch-dev.service");
    });

    it("removes only its own units, app first, and leaves another stack's units alone", () => {
        const host = fakeHost();
        const prod = spec("prod", "user");
        const prodUnits = renderUnits(prod);
        host.run(renderInstallScript(prod, prodUnits));
        host.run(renderInstallScript(dev, devUnits));
        const before = host.calls().length;
        const result = host.run(renderRemoveScript(dev, devUnits));
        expect(result.status).toBe(0);
        expect(readdirSync(host.unitDir).sort()).toEqual(Object.keys(prodUnits).sort());
        const calls = host.calls().slice(before);
        expect(calls).toEqual([
            "systemctl --user disable --now container-seaser-rezept-tagebuch-dev.service",
            "systemctl --user disable --now container-seaser-postgres-dev.service",
            "systemctl --user daemon-reload",
        ]);
        // Removing again finds nothing to do and still succeeds.
        expect(host.run(renderRemoveScript(dev, devUnits)).status).toBe(0);
    });
});

describe("the command resource installs in place when content changes, and replaces only for another set of files", () => {
    async function installer(config: Record<string, string>) {
        const run = await runProgram("prod", config);
        return run.find(TYPES.localCommand, "prod-boot-install").inputs as { create: string; update: string; triggers: string[] };
    }

    it("a new image or password changes nothing it installs", async () => {
        const base = await installer(validConfig("prod"));
        expect(await installer({ ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:rezept_version_11_11_2025_001" })).toEqual(base);
        expect(await installer({ ...validConfig("prod"), dbPassword: "another-long-password" })).toEqual(base);
    });

    it("a changed unit is written again by an update, in place: the running containers are not stopped for it", async () => {
        const base = await installer(validConfig("prod"));
        const longerWait = await installer({ ...validConfig("prod"), dbHealthTimeoutSeconds: "300" });
        expect(longerWait.triggers).toEqual(base.triggers);
        expect(longerWait.create).not.toEqual(base.create);
        expect(longerWait.create).toContain("timeout 300 ");
        // pulumi-command runs `update` when inputs other than the triggers change.
        expect(longerWait.update).toBe(longerWait.create);
        expect(longerWait.update).not.toMatch(/unit_ctl \S+ (stop|disable)/);
    });

    it("another scope replaces it, the old files removed first; another set of files is an update", async () => {
        const base = await installer(validConfig("prod"));
        expect((await installer({ ...validConfig("prod"), systemdScope: "system" })).triggers).not.toEqual(base.triggers);
        const offsite = { offsiteRepository: "sftp:backup@backup.example:/srv/restic/prod", offsitePassword: "a-long-repository-password", pitr: "false" };
        for (const other of [{ appEnabled: "false" }, offsite]) expect((await installer({ ...validConfig("prod"), ...other })).triggers).toEqual(["scope=user"]);
    });

    it("an update that installs fewer files removes the ones it dropped, stopping their units, and no container's", async () => {
        // dev with off-host backups (the drill's units and script), then without: as `up` after the key is unset.
        const host = fakeHost();
        const boot = spec("dev", "user");
        const units = renderUnits(boot);
        const drill = { "rezept-tagebuch-restore-drill-dev.service": "[Service]\nType=oneshot\n", "rezept-tagebuch-restore-drill-dev.timer": "[Timer]\nOnCalendar=weekly\n\n[Install]\nWantedBy=timers.target\n" };
        const withOffsite = host.run(renderInstallScript(boot, { ...units, ...drill }, { "backup-dev.sh": "a", "offsite-dev.sh": "b" }));
        expect(withOffsite.stderr).toBe("");
        expect(readdirSync(host.unitDir).sort()).toEqual([...Object.keys(units), ...Object.keys(drill)].sort());
        const before = host.calls().length;
        const without = host.run(renderInstallScript(boot, units, { "backup-dev.sh": "a" }));
        expect(without.stderr).toBe("");
        expect(without.status).toBe(0);
        expect(without.stdout).toContain("rezept-tagebuch: removed rezept-tagebuch-restore-drill-dev.timer");
        expect(readdirSync(host.unitDir).sort()).toEqual(Object.keys(units).sort());
        const scriptDir = join(host.root, "home/.local/lib/rezept-tagebuch");
        expect(readdirSync(scriptDir).sort()).toEqual([".installed-dev", "backup-dev.sh"]);
        const calls = host.calls().slice(before);
        expect(calls.filter((c) => /disable|stop/.test(c))).toEqual([
            "systemctl --user disable --now rezept-tagebuch-restore-drill-dev.service", "systemctl --user disable --now rezept-tagebuch-restore-drill-dev.timer",
        ]);
        // An install whose start fails lists what it wrote all the same, so the next install can remove it.
        const failing = fakeHost({ failOn: "container-seaser-rezept-tagebuch-dev.service" });
        expect(failing.run(renderInstallScript(boot, { ...units, ...drill }, { "offsite-dev.sh": "b" })).status).toBe(1);
        expect(readFileSync(join(failing.root, "home/.local/lib/rezept-tagebuch/.installed-dev"), "utf8")).toContain("unit rezept-tagebuch-restore-drill-dev.timer\n");
        // The remove script takes its list too.
        expect(host.run(renderRemoveScript(boot, units, { "backup-dev.sh": "a" })).status).toBe(0);
        expect(readdirSync(scriptDir)).toEqual([]);
    });

    it("runs over SSH with the key as a secret when hostConnection is ssh", async () => {
        const run = await runProgram("prod", {
            ...validConfig("prod"), hostConnection: "ssh", sshHost: "rezept.example", sshUser: "seaser", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh",
            sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material\n-----END OPENSSH PRIVATE KEY-----", dockerHost: "unix:///tmp/podman.sock",
        });
        expect(run.ofType(TYPES.localCommand)).toEqual([]);
        const remote = run.find(TYPES.remoteCommand, "prod-boot-install");
        expect(remote.inputs.connection).toMatchObject({ host: "rezept.example", user: "seaser", port: 22 });
        expect(JSON.stringify(remote.wireInputs)).toContain("key-material");
        expect(JSON.stringify(remote.wireInputs.connection.privateKey ?? remote.wireInputs.connection)).toContain("1b47061264138c4ac30d75fd1eb44270");
        expect(Object.keys(readScriptFiles(remote.inputs.create, "units"))).toContain("container-seaser-postgres.service");
        expect(run.find(TYPES.provider, "podman").inputs.host).toBe("unix:///tmp/podman.sock");
    });
});
