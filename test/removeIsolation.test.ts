import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EnvironmentName, ENVIRONMENTS, environmentNames } from "../lib/environments";
import { BootSpec, renderInstallScript, renderRemoveScript, renderUnits } from "../lib/systemd";
import { fakeHost } from "./fakeHost";

function spec(env: EnvironmentName, withApp: boolean): BootSpec {
    const names = environmentNames(env);
    return { environment: env, scope: "user", dbContainer: names.dbContainer, appContainer: withApp ? names.appContainer : undefined, dbHealthTimeoutSeconds: 120 };
}

/**
 * prod's container names are prefixes of dev's and test's ("seaser-postgres" of
 * "seaser-postgres-dev"), so a remove script that matched units by pattern would
 * take the other stacks' units with it. Every stack's remove script runs here
 * while all other stacks' units are installed, each other stack with its app.
 */
const cases: [string, BootSpec][] = [
    ["prod", spec("prod", true)],
    ["dev", spec("dev", true)],
    ["test", spec("test", false)],
    ["test with appEnabled", spec("test", true)],
];

describe("a stack's remove script removes its own units and no other stack's", () => {
    it.each(cases)("%s", (_name, removed) => {
        const host = fakeHost();
        const others = ENVIRONMENTS.filter((env) => env !== removed.environment).map((env) => spec(env, true));
        for (const installed of [...others, removed]) {
            const result = host.run(renderInstallScript(installed, renderUnits(installed)));
            expect(result.stderr).toBe("");
            expect(result.status).toBe(0);
        }
        const kept = Object.assign({}, ...others.map(renderUnits)) as Record<string, string>;
        const own = Object.keys(renderUnits(removed));
        expect(readdirSync(host.unitDir).sort()).toEqual([...Object.keys(kept), ...own].sort());

        const before = host.calls().length;
        const result = host.run(renderRemoveScript(removed, renderUnits(removed)));
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);

        // Only its own unit files are gone; the others are still there, unchanged.
        expect(readdirSync(host.unitDir).sort()).toEqual(Object.keys(kept).sort());
        for (const [file, content] of Object.entries(kept)) expect(readFileSync(join(host.unitDir, file), "utf8")).toBe(content);
        // Only its own units were stopped and disabled, app first, and nothing else was asked of systemd.
        expect(host.calls().slice(before)).toEqual([
            ...[...own].reverse().map((unit) => `systemctl --user disable --now ${unit}`),
            "systemctl --user daemon-reload",
        ]);
    });
});
