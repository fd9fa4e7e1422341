import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENVIRONMENTS, environmentNames } from "../lib/environments";
import { HealthInstallSpec, renderHealthInstallScript, renderHealthRemoveScript, renderHealthService, renderHealthTimer } from "../lib/healthUnits";
import { renderUnits, SystemdScope } from "../lib/systemd";
import { runProgram, TYPES, validConfig } from "./harness";

const projectDir = join(__dirname, "..");
function spec(env: (typeof ENVIRONMENTS)[number], scope: SystemdScope, intervalMinutes = 5): HealthInstallSpec {
    const names = environmentNames(env);
    const appContainer = env === "test" ? undefined : names.appContainer;
    const units = renderUnits({ environment: env, scope, dbContainer: names.dbContainer, appContainer, dbHealthTimeoutSeconds: 120 });
    return {
        environment: env, scope, intervalMinutes, nodePath: process.execPath, projectDir,
        settings: { environment: env, scope, dbContainer: names.dbContainer, appContainer, version: "v1.0.0", units, alertRepeatMinutes: 60, alertCommand: "logger -t rezept" },
    };
}

describe("the health check's timer and service", () => {
    const cases = ENVIRONMENTS.flatMap((env) => (["user", "system"] as const).map((scope) => [env, scope] as const));
    it.each(cases)("%s, %s scope: systemd-analyze verify prints nothing", (env, scope) => {
        const dir = mkdtempSync(join(tmpdir(), `health-${env}-`));
        const s = spec(env, scope);
        writeFileSync(join(dir, `rezept-tagebuch-health-${env}.service`), renderHealthService(s));
        writeFileSync(join(dir, `rezept-tagebuch-health-${env}.timer`), renderHealthTimer(s));
        const result = spawnSync("systemd-analyze", [...(scope === "user" ? ["--user"] : []), "verify", join(dir, `rezept-tagebuch-health-${env}.timer`), join(dir, `rezept-tagebuch-health-${env}.service`)], {
            cwd: dir, encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "xdg-")) },
        });
        expect(`${result.stdout}${result.stderr}`).toBe("");
        expect(result.status).toBe(0);
    });

    it("runs every healthIntervalMinutes, catching up after downtime (Persistent=true)", () => {
        expect(renderHealthTimer(spec("dev", "user"))).toMatch(/\nOnCalendar=\*:0\/5\nPersistent=true\n/);
        expect(renderHealthTimer(spec("dev", "user", 15))).toContain("\nOnCalendar=*:0/15\n");
        expect(renderHealthTimer(spec("dev", "user", 60))).toContain("\nOnCalendar=hourly\n");
        // systemd's own reading of the calendar: every 5 minutes.
        const next = spawnSync("systemd-analyze", ["calendar", "--iterations=2", "*:0/5"], { encoding: "utf8" }).stdout;
        const times = [...next.matchAll(/(\d\d):(\d\d):00/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        expect((times[1] - times[0] + 1440) % 1440).toBe(5);
    });

    it("the service runs this checkout's health check for its stack, with alerts", () => {
        expect(renderHealthService(spec("prod", "user"))).toContain(
            `\nExecStart=${process.execPath} ${projectDir}/node_modules/ts-node/dist/bin.js --transpile-only scripts/health.ts --stack prod --alert\n`);
        expect(() => renderHealthService({ ...spec("prod", "user"), projectDir: "/home/x/$repo" })).toThrow(/move the checkout/);
        expect(renderHealthService({ ...spec("prod", "user"), projectDir: "/srv/my repo/100%" })).toContain('WorkingDirectory="/srv/my repo/100%%"');
    });
});

describe("install and remove scripts", () => {
    it.each(ENVIRONMENTS)("%s: shellcheck clean", (env) => {
        for (const script of [renderHealthInstallScript(spec(env, "user")), renderHealthRemoveScript(spec(env, "system"))]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" });
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

    it("installs service, timer and settings, the webhook only in a 0600 file from stdin, and starts the timer; remove undoes it", () => {
        const host = fakeHost();
        const s = spec("dev", "user");
        const webhook = "https://hooks.example/T0KEN-secret";
        const script = renderHealthInstallScript(s);
        expect(script).not.toContain("T0KEN");
        const result = host.run(script, webhook);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const unitDir = join(host.home, ".config/systemd/user");
        expect(readFileSync(join(unitDir, "rezept-tagebuch-health-dev.timer"), "utf8")).toBe(renderHealthTimer(s));
        expect(readFileSync(join(unitDir, "rezept-tagebuch-health-dev.service"), "utf8")).toBe(renderHealthService(s));
        const dir = join(host.home, ".config/rezept-tagebuch");
        expect(JSON.parse(readFileSync(join(dir, "health-dev.json"), "utf8"))).toEqual(JSON.parse(JSON.stringify(s.settings)));
        expect(readFileSync(join(dir, "health-dev.webhook"), "utf8")).toBe(webhook);
        expect(statSync(join(dir, "health-dev.webhook")).mode & 0o777).toBe(0o600);
        expect(host.calls()).toEqual(["systemctl --user daemon-reload", "systemctl --user enable rezept-tagebuch-health-dev.timer", "systemctl --user restart rezept-tagebuch-health-dev.timer"]);
        // No webhook configured: no file left behind.
        expect(host.run(script, "").status).toBe(0);
        expect(existsSync(join(dir, "health-dev.webhook"))).toBe(false);
        expect(host.run(renderHealthRemoveScript(s), "").status).toBe(0);
        expect(existsSync(join(unitDir, "rezept-tagebuch-health-dev.timer"))).toBe(false);
        expect(existsSync(join(dir, "health-dev.json"))).toBe(false);
    });
});

describe("the program installs the check with one command, the webhook only as a secret on stdin", () => {
    it("for dev, after its units", async () => {
        const webhook = "https://hooks.example/T0KEN-secret";
        const run = await runProgram("dev", { ...validConfig("dev"), alertWebhookUrl: webhook, healthIntervalMinutes: "2", proxyUrl: "http://host/rezept-tagebuch-dev/" });
        const installer = run.find(TYPES.localCommand, "dev-health-install");
        expect(installer.inputs.create).toContain("OnCalendar=*:0/2");
        expect(installer.inputs.create).toMatch(/proxyUrl.{1,6}http:\/\/host\/rezept-tagebuch-dev\//);
        expect(installer.inputs.stdin).toBe(webhook);
        expect(JSON.stringify(installer.wireInputs.stdin)).toContain("1b47061264138c4ac30d75fd1eb44270");
        expect(JSON.stringify(run.resources.map((r) => r.wireInputs)).replace(/"1b47061264138c4ac30d75fd1eb44270","value":"[^"]*"/g, "")).not.toContain("T0KEN");
        expect(installer.dependencies.some((urn) => urn.endsWith("::dev-boot-install"))).toBe(true);
        expect(installer.inputs.create).not.toContain("s3cret-pg-password");
    });
});
