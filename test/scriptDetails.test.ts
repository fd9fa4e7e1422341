import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environmentNames } from "../lib/environments";
import { BootSpec, renderInstallScript, renderRemoveScript, renderUnits, SystemdScope } from "../lib/systemd";
import { fakeHost } from "./fakeHost";

const names = environmentNames("dev");
const spec = (scope: SystemdScope): BootSpec => ({ environment: "dev", scope, dbContainer: names.dbContainer, appContainer: names.appContainer, dbHealthTimeoutSeconds: 120 });
const units = renderUnits(spec("user"));

describe("details of the install and remove scripts that mutation testing found unchecked", () => {
    it("system scope: units in /etc/systemd/system, run by the system manager", () => {
        const host = fakeHost();
        const unitDir = join(host.root, "etc-systemd-system");
        // The scripts run here against a stand-in for /etc/systemd/system.
        const redirect = (script: string) => {
            expect(script).toContain('unit_dir="/etc/systemd/system"\n');
            return script.replace('unit_dir="/etc/systemd/system"', `unit_dir="${unitDir}"`);
        };
        const system = spec("system");
        const systemUnits = renderUnits(system);
        expect(host.run(redirect(renderInstallScript(system, systemUnits))).status).toBe(0);
        expect(host.run(redirect(renderRemoveScript(system, systemUnits))).status).toBe(0);
        const [db, app] = Object.keys(systemUnits);
        expect(host.calls()).toEqual([
            "systemctl daemon-reload", `systemctl enable ${db}`, `systemctl enable ${app}`, `systemctl start ${db}`, `systemctl start ${app}`,
            `systemctl disable --now ${app}`, `systemctl disable --now ${db}`, "systemctl daemon-reload",
        ]);
    });

    it("user scope: finds the user manager without XDG_RUNTIME_DIR, as over SSH", () => {
        const host = fakeHost();
        expect(host.run(renderInstallScript(spec("user"), units), { XDG_RUNTIME_DIR: undefined }).status).toBe(0);
        const uid = execFileSync("id", ["-u"], { encoding: "utf8" }).trim();
        const systemctl = host.calls().map((call, i) => [call, host.runtimeDirs()[i]]).filter(([call]) => call.startsWith("systemctl"));
        expect(systemctl.length).toBeGreaterThan(0);
        for (const [, dir] of systemctl) expect(dir).toBe(`/run/user/${uid}`);
    });

    it("stops at the first failing step: no unit is enabled when the unit directory cannot be made", () => {
        const host = fakeHost();
        // A file where the directory should be: mkdir -p fails.
        mkdirSync(join(host.unitDir, ".."), { recursive: true });
        writeFileSync(host.unitDir, "");
        const result = host.run(renderInstallScript(spec("user"), units));
        expect(result.status).not.toBe(0);
        expect(host.calls().filter((call) => call.startsWith("systemctl"))).toEqual([]);
    });

    it("a second remove asks systemd about no unit it already removed", () => {
        const host = fakeHost();
        host.run(renderInstallScript(spec("user"), units));
        host.run(renderRemoveScript(spec("user"), units));
        const before = host.calls().length;
        expect(host.run(renderRemoveScript(spec("user"), units)).status).toBe(0);
        expect(host.calls().slice(before)).toEqual(["systemctl --user daemon-reload"]);
    });
});
