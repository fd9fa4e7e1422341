import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENVIRONMENTS, environmentNames } from "../lib/environments";
import {
    HealthSettings, renderCheckFailedScript, renderCheckFailedService, renderHealthInstallScript, renderHealthRemoveScript, renderHealthScript,
    renderHealthService, renderHealthStateRemoveScript, renderHealthTimer,
} from "../lib/healthUnits";
import { renderUnits, SystemdScope } from "../lib/systemd";
import { runProgram, SECRET_SIG, TYPES, validConfig } from "./harness";

function spec(env: (typeof ENVIRONMENTS)[number], scope: SystemdScope, intervalMinutes = 5): HealthSettings {
    const names = environmentNames(env);
    const appContainer = env === "test" ? undefined : names.appContainer;
    const units = renderUnits({ environment: env, scope, dbContainer: names.dbContainer, appContainer, dbHealthTimeoutSeconds: 120 });
    return {
        environment: env, scope, connection: "local", intervalMinutes, dbContainer: names.dbContainer, appContainer, version: "v1.0.0", units,
        alertRepeatMinutes: 60, alertCommand: "logger -t rezept", bootGraceSeconds: 300,
    };
}

describe("the health check's timer and service", () => {
    const cases = ENVIRONMENTS.flatMap((env) => (["user", "system"] as const).map((scope) => [env, scope] as const));
    it.each(cases)("%s, %s scope: systemd-analyze verify prints nothing", (env, scope) => {
        const dir = mkdtempSync(join(tmpdir(), `health-${env}-`));
        const s = spec(env, scope);
        const files = { [`rezept-tagebuch-health-${env}.service`]: renderHealthService(s), [`rezept-tagebuch-health-${env}-failed.service`]: renderCheckFailedService(s), [`rezept-tagebuch-health-${env}.timer`]: renderHealthTimer(s) };
        for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
        const result = spawnSync("systemd-analyze", [...(scope === "user" ? ["--user"] : []), "verify", ...Object.keys(files).map((name) => join(dir, name))], {
            cwd: dir, encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "xdg-")) },
        });
        expect(`${result.stdout}${result.stderr}`).toBe("");
        expect(result.status).toBe(0);
    });

    it("runs every healthIntervalMinutes, and once the boot's grace is over; no catch-up run at boot (Persistent=)", () => {
        expect(renderHealthTimer(spec("dev", "user"))).toMatch(/\nOnCalendar=\*:0\/5\nOnStartupSec=300\n/);
        expect(renderHealthTimer(spec("dev", "user"))).not.toContain("Persistent=");
        expect(renderHealthTimer(spec("dev", "user", 15))).toContain("\nOnCalendar=*:0/15\n");
        expect(renderHealthTimer(spec("dev", "user", 60))).toContain("\nOnCalendar=hourly\n");
        // systemd's own reading of the calendar: every 5 minutes.
        const next = spawnSync("systemd-analyze", ["calendar", "--iterations=2", "*:0/5"], { encoding: "utf8" }).stdout;
        const times = [...next.matchAll(/(\d\d):(\d\d):00/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        expect((times[1] - times[0] + 1440) % 1440).toBe(5);
    });

    it("the service runs the installed script, from the host's own paths only; a failing stack is no failure of the unit; its failure starts the self-watch", () => {
        const user = renderHealthService(spec("prod", "user"));
        expect(user).toContain("\nExecStart=/bin/sh %h/.config/rezept-tagebuch/health-prod.sh --alert\n");
        expect(user).toContain("\nOnFailure=rezept-tagebuch-health-prod-failed.service\n");
        expect(user).toContain("\nSuccessExitStatus=1\n");
        expect(renderHealthService(spec("prod", "system"))).toContain("\nExecStart=/bin/sh /etc/rezept-tagebuch/health-prod.sh --alert\n");
        expect(renderCheckFailedService(spec("dev", "user"))).toContain("\nExecStart=/bin/sh %h/.config/rezept-tagebuch/health-dev-failed.sh\n");
    });
});

describe("install and remove scripts", () => {
    it.each(ENVIRONMENTS)("%s: shellcheck clean (the scripts they write, quoted inside them, are checked on their own in healthCheck.test.ts)", (env) => {
        for (const script of [renderHealthInstallScript(spec(env, "user")), renderHealthRemoveScript(spec(env, "system")), renderHealthStateRemoveScript(spec(env, "user"))]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "--exclude=SC2016,SC1003", "-"], { input: script, encoding: "utf8" });
            expect(result.stdout).toBe("");
            expect(result.status).toBe(0);
        }
    });

    function fakeHost() {
        const root = mkdtempSync(join(tmpdir(), "health-host-"));
        const bin = join(root, "bin");
        mkdirSync(bin);
        mkdirSync(join(root, "home"));
        const log = join(root, "calls.log");
        writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "systemctl $*" >> "${log}"\n`);
        chmodSync(join(bin, "systemctl"), 0o755);
        const run = (script: string, input: string) => spawnSync("sh", ["-c", script], {
            input, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: join(root, "home"), XDG_RUNTIME_DIR: join(root, "run") },
        });
        return { run, home: join(root, "home"), calls: () => readFileSync(log, "utf8").trim().split("\n") };
    }

    it("installs units and scripts, the webhook only in a 0600 file from stdin, starts the timer and one run; re-install and remove keep the alert state, the stack's removal deletes it", () => {
        const host = fakeHost();
        const s = spec("dev", "user");
        const webhook = "https://hooks.example/T0KEN-secret";
        const script = renderHealthInstallScript(s);
        expect(script).not.toContain("T0KEN");
        const result = host.run(script, webhook);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const unitDir = join(host.home, ".config/systemd/user");
        const dir = join(host.home, ".config/rezept-tagebuch");
        expect(readFileSync(join(unitDir, "rezept-tagebuch-health-dev.timer"), "utf8")).toBe(renderHealthTimer(s));
        expect(readFileSync(join(unitDir, "rezept-tagebuch-health-dev.service"), "utf8")).toBe(renderHealthService(s));
        expect(readFileSync(join(unitDir, "rezept-tagebuch-health-dev-failed.service"), "utf8")).toBe(renderCheckFailedService(s));
        expect(readFileSync(join(dir, "health-dev.sh"), "utf8")).toBe(renderHealthScript(s));
        expect(readFileSync(join(dir, "health-dev-failed.sh"), "utf8")).toBe(renderCheckFailedScript(s));
        expect(readFileSync(join(dir, "health-dev.webhook"), "utf8")).toBe(webhook);
        expect(statSync(join(dir, "health-dev.webhook")).mode & 0o777).toBe(0o600);
        expect(host.calls()).toEqual(["systemctl --user daemon-reload", "systemctl --user enable rezept-tagebuch-health-dev.timer",
            "systemctl --user restart rezept-tagebuch-health-dev.timer", "systemctl --user start --no-block rezept-tagebuch-health-dev.service"]);
        // An open alert, then an update (a new tag) and a re-install: the state stays.
        const state = "failing=1\nlast_alert=100\nlast_success=100\ncheck_failed=0\n";
        writeFileSync(join(dir, "health-dev.state"), state);
        expect(host.run(renderHealthInstallScript({ ...s, version: "v1.0.1" }), "").status).toBe(0);
        expect(readFileSync(join(dir, "health-dev.sh"), "utf8")).toContain("'v1.0.1'");
        expect(existsSync(join(dir, "health-dev.webhook"))).toBe(false);
        expect(host.run(renderHealthRemoveScript(s), "").status).toBe(0);
        for (const file of ["health-dev.sh", "health-dev-failed.sh"]) expect(existsSync(join(dir, file))).toBe(false);
        for (const file of ["rezept-tagebuch-health-dev.timer", "rezept-tagebuch-health-dev.service", "rezept-tagebuch-health-dev-failed.service"]) expect(existsSync(join(unitDir, file))).toBe(false);
        expect(readFileSync(join(dir, "health-dev.state"), "utf8")).toBe(state);
        expect(host.run(renderHealthStateRemoveScript(s), "").status).toBe(0);
        expect(existsSync(join(dir, "health-dev.state"))).toBe(false);
    });
});

describe("the program installs the check with the stack's own connection, the webhook only as a secret on stdin", () => {
    it("for dev, after its units; nothing rendered names this machine's node or checkout", async () => {
        const webhook = "https://hooks.example/T0KEN-secret";
        const run = await runProgram("dev", { ...validConfig("dev"), alertWebhookUrl: webhook, healthIntervalMinutes: "2", proxyUrl: "http://host/rezept-tagebuch-dev/" });
        const installer = run.find(TYPES.localCommand, "dev-health-install");
        expect(installer.inputs.create).toContain("OnCalendar=*:0/2");
        expect(installer.inputs.create).toContain("http://host/rezept-tagebuch-dev/api/version");
        expect(installer.inputs.update).toBe(installer.inputs.create);
        expect(installer.inputs.stdin).toBe(webhook);
        expect(JSON.stringify(installer.wireInputs.stdin)).toContain("1b47061264138c4ac30d75fd1eb44270");
        expect(JSON.stringify(run.resources.map((r) => r.wireInputs)).replace(/"1b47061264138c4ac30d75fd1eb44270","value":"[^"]*"/g, "")).not.toContain("T0KEN");
        expect(installer.dependencies.some((urn) => urn.endsWith("::dev-boot-install"))).toBe(true);
        expect(installer.inputs.create).not.toContain("s3cret-pg-password");
        const everything = JSON.stringify(run.resources.map((r) => r.inputs));
        for (const local of [process.execPath, process.cwd(), join(__dirname, ".."), "ts-node"]) expect(everything).not.toContain(local);
    });

    it("a new app tag changes the check's settings but not its triggers: an update in place, never a replace that would drop the alert state", async () => {
        const before = await runProgram("dev", validConfig("dev"));
        const after = await runProgram("dev", { ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:v9.9.9" });
        const [old, next] = [before, after].map((run) => run.find(TYPES.localCommand, "dev-health-install"));
        expect(next.inputs.create).not.toBe(old.inputs.create);
        expect(next.inputs.create).toContain("'v9.9.9'");
        expect(next.inputs.triggers).toEqual(old.inputs.triggers);
        expect(after.find(TYPES.localCommand, "dev-health-state").inputs).toEqual(before.find(TYPES.localCommand, "dev-health-state").inputs);
        expect(after.find(TYPES.localCommand, "dev-health-state").inputs.delete).toContain("health-dev.state");
    });

    it("over SSH like every other host script", async () => {
        const run = await runProgram("prod", {
            ...validConfig("prod"), hostConnection: "ssh", sshHost: "h", sshUser: "u", dockerHost: "unix:///run/user/1000/rezept-prod.sock",
            sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----",
        });
        const installer = run.find(TYPES.remoteCommand, "prod-health-install");
        expect(installer.inputs.create).toContain("BootUnits$command:remote:Command::prod-boot-install");
        expect(installer.inputs.connection.hostKey).toMatch(/^ssh-ed25519 /);
        expect(run.find(TYPES.remoteCommand, "prod-health-state").inputs.delete).toContain("health-prod.state");
    });
});

describe("the deploy window, in the program", () => {
    const dependsOn = (resource: { dependencies: string[] }, name: string) => resource.dependencies.some((urn) => urn.endsWith(`::${name}`));

    it.each(["prod", "dev", "test"] as const)("%s: opened before any container changes, closed after the check is installed, by the same triggers", async (env) => {
        const run = await runProgram(env, validConfig(env));
        const opened = run.find(TYPES.localCommand, `${env}-deploy-window-open`);
        const closed = run.find(TYPES.localCommand, `${env}-health-deployed`);
        expect(opened.inputs.create).toContain("action='open'");
        expect(closed.inputs.create).toContain("action='close'");
        expect(dependsOn(opened, `${env}-host-check-run`)).toBe(true);
        // Each container, or the standby that comes before the app's (components/app.ts), waits for the window.
        const standby = run.ofType(TYPES.localCommand).find((r) => r.name === `${env}-app-standby`);
        if (standby) expect(dependsOn(standby, `${env}-deploy-window-open`)).toBe(true);
        for (const container of run.ofType(TYPES.container)) {
            expect(dependsOn(container, `${env}-deploy-window-open`) || (standby !== undefined && dependsOn(container, standby.name)), container.name).toBe(true);
        }
        expect(dependsOn(closed, `${env}-health-install`)).toBe(true);
        expect(closed.inputs.triggers).toEqual(opened.inputs.triggers);
    });

    it("opens for any change of the configuration, a new password too, and keeps the secret's hash a secret", async () => {
        const triggers = async (config: Record<string, string>) => {
            const run = await runProgram("dev", config);
            const opened = run.find(TYPES.localCommand, "dev-deploy-window-open");
            return { plain: opened.inputs.triggers, wire: JSON.stringify(opened.wireInputs.triggers) };
        };
        const base = await triggers(validConfig("dev"));
        expect(base.wire).toContain(SECRET_SIG);
        expect((await triggers({ ...validConfig("dev"), dbPassword: "a-new-long-password" })).plain).not.toEqual(base.plain);
        expect((await triggers({ ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:rezept_version_13_11_2025_001" })).plain).not.toEqual(base.plain);
        expect((await triggers({ ...validConfig("dev"), backupKeep: "3" })).plain).not.toEqual(base.plain);
        expect((await triggers(validConfig("dev"))).plain).toEqual(base.plain);
        expect(base.wire).not.toContain("s3cret");
    });
});
