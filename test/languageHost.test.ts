import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as semver from "semver";
import { validConfig } from "./harness";

function loadLikeLanguageHost(stack: string, config: Record<string, string>) {
    const prefixed = Object.fromEntries(Object.entries(config).map(([key, value]) => [`rezept-tagebuch:${key}`, value]));
    const result = spawnSync(process.execPath, [join(__dirname, "fixtures", "languageHost.js")], {
        encoding: "utf8",
        env: { ...process.env, STACK: stack, STACK_CONFIG: JSON.stringify(prefixed) },
        timeout: 60_000,
    });
    return { report: JSON.parse(result.stdout) as { registered: string[]; tsNode: string; typescript: string }, stderr: result.stderr };
}

describe("the program loads as Pulumi's Node.js language host loads it (cmd/run + ts-node)", () => {
    it("uses a TypeScript and ts-node that @pulumi/pulumi accepts", () => {
        const pulumiPackage = JSON.parse(readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8"));
        const { report } = loadLikeLanguageHost("prod", validConfig("prod"));
        expect(semver.satisfies(report.typescript, pulumiPackage.peerDependencies.typescript)).toBe(true);
        expect(semver.satisfies(report.tsNode, pulumiPackage.peerDependencies["ts-node"])).toBe(true);
    });

    it.each(["prod", "dev", "test"])("registers the %s stack's resources", (stack) => {
        const { report, stderr } = loadLikeLanguageHost(stack, validConfig(stack));
        expect(stderr).not.toMatch(/error/i);
        expect(report.registered).toContain(`pulumi:pulumi:Stack::rezept-tagebuch-${stack}`);
        expect(report.registered).toContain(`docker:index/container:Container::${stack}-db-container`);
        expect(report.registered).toContain(`command:local:Command::${stack}-boot-install`);
    });

    it("reports a config error as one clean message, without a stack trace, and registers nothing else", () => {
        const { report, stderr } = loadLikeLanguageHost("prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:latest" });
        expect(report.registered).toEqual(["pulumi:pulumi:Stack::rezept-tagebuch-prod"]);
        expect(stderr).toContain('rezept-tagebuch:appImage "localhost/seaser-rezept-tagebuch:latest" uses the moving tag ":latest"');
        expect(stderr).not.toMatch(/\n\s+at /);
    });
});
