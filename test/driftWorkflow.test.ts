import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ENVIRONMENTS } from "../lib/environments";

const root = join(__dirname, "..");
const file = ".github/workflows/drift.yml";
const workflow = parse(readFileSync(join(root, file), "utf8"));

describe("the drift workflow", () => {
    it("is a valid workflow", () => {
        const result = spawnSync(join(root, "node_modules/.bin/action-validator"), [join(root, file)], { encoding: "utf8" });
        expect(result.stdout + result.stderr).toBe("");
        expect(result.status).toBe(0);
    });

    it("runs nightly and on demand, per stack, on the host", () => {
        expect(workflow.on.schedule[0].cron).toMatch(/^\d+ \d+ \* \* \*$/);
        expect(workflow.on).toHaveProperty("workflow_dispatch");
        const job = workflow.jobs.drift;
        expect(job["runs-on"]).toEqual(["self-hosted", "rezept-host"]);
        expect(job.strategy.matrix.stack).toEqual([...ENVIRONMENTS]);
        expect(job.env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    });

    it("reads the passphrase from an environment that holds it, and stops at once, naming it, when it is empty", () => {
        const job = workflow.jobs.drift;
        // The passphrase is an environment secret (README); without an environment the job reads "".
        expect(job.environment).toBe("drift");
        const first = job.steps[0];
        for (const [passphrase, status] of [["", 1], ["a passphrase", 0]] as const) {
            const result = spawnSync("bash", ["-e", "-c", first.run], { encoding: "utf8", env: { PATH: process.env.PATH, PULUMI_CONFIG_PASSPHRASE: passphrase } });
            expect(result.status).toBe(status);
            if (status === 1) expect(result.stdout).toContain("PULUMI_CONFIG_PASSPHRASE is empty: add it as a secret of the GitHub environment 'drift'");
        }
    });

    it("fails on a refresh that finds changes, and on a failing health check, which runs either way", () => {
        const runs = workflow.jobs.drift.steps.filter((s: any) => s.run);
        const preview = runs.find((s: any) => String(s.run).startsWith("pulumi preview"));
        for (const flag of ["--refresh", "--expect-no-changes", '--stack "$STACK"']) expect(preview.run).toContain(flag);
        const health = runs.find((s: any) => String(s.run).startsWith("npm run health"));
        expect(health.run).toBe('npm run health -- --stack "$STACK"');
        expect(health.if).toBe("${{ !cancelled() }}");
        expect(runs.indexOf(preview)).toBeLessThan(runs.indexOf(health));
    });
});
