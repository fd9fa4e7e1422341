import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { runProgram, startRecording, validConfig } from "./harness";

/** Runs the whole program and returns what it threw and what it registered meanwhile. */
async function failingRun(stack: string, config: Record<string, string>) {
    const recorder = await startRecording(stack);
    const error = await runProgram(stack, config, { recorder }).then(() => undefined, (e: unknown) => e);
    await recorder.settle();
    return { error: error as Error | undefined, registered: recorder.resources.length };
}

describe("the program refuses bad input before it registers any resource", () => {
    it.each([
        ["an unknown stack", "staging", validConfig("prod"), 'stack "staging"'],
        ["a missing secret", "prod", { appImage: "localhost/seaser-rezept-tagebuch:v1.2.3" }, "rezept-tagebuch:dbPassword is required"],
        [":latest in prod", "prod", { ...validConfig("prod"), appImage: "localhost/seaser-rezept-tagebuch:latest" }, "rezept-tagebuch:appImage"],
        [":latest in dev", "dev", { ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:latest" }, "rezept-tagebuch:appImage"],
        ["a malformed map", "dev", { ...validConfig("dev"), appEnv: "{not json" }, "rezept-tagebuch:appEnv"],
        ["an out-of-range port", "test", { ...validConfig("test"), dbPort: "99999" }, "rezept-tagebuch:dbPort"],
        ["a misspelt key", "prod", { ...validConfig("prod"), dbpassword: "x" }, "rezept-tagebuch:dbpassword"],
        ["dev on prod's database volume", "dev", { ...validConfig("dev"), dbDataVolume: "seaser-postgres-data" }, "rezept-tagebuch:dbDataVolume is seaser-postgres-data, the prod database volume"],
        ["dev's app on prod's database network", "dev", { ...validConfig("dev"), proxyNetwork: "seaser-rezept-tagebuch-prod-internal" }, "rezept-tagebuch:proxyNetwork"],
    ])("%s", async (_case, stack, config, message) => {
        const { error, registered } = await failingRun(stack, config);
        expect(error).toBeInstanceOf(pulumi.RunError);
        expect(error?.message).toContain(message);
        expect(registered).toBe(0);
    });

    describe("a volume that another stack file of the project sets", () => {
        const cwd = process.cwd();
        afterEach(() => process.chdir(cwd));

        /** Runs dev in a project directory whose Pulumi.prod.yaml is `prodFile`, as the CLI runs it there. */
        function devBeside(prodFile: string, config: Record<string, string>) {
            const project = mkdtempSync(join(tmpdir(), "stack-files-"));
            writeFileSync(join(project, "Pulumi.prod.yaml"), prodFile);
            process.chdir(project);
            return failingRun("dev", config);
        }

        it("is refused, read from Pulumi.prod.yaml beside the program", async () => {
            const { error, registered } = await devBeside("config:\n  rezept-tagebuch:dbDataVolume: pg-main\n", { ...validConfig("dev"), dbDataVolume: "pg-main" });
            expect(error?.message).toContain("rezept-tagebuch:dbDataVolume is pg-main, the prod database volume (dbDataVolume in Pulumi.prod.yaml)");
            expect(registered).toBe(0);
        });

        it("and a name no other stack file sets is accepted", async () => {
            const { error } = await devBeside("config:\n  rezept-tagebuch:dbDataVolume: pg-main\n", { ...validConfig("dev"), dbDataVolume: "pg-dev" });
            expect(error).toBeUndefined();
        });

        it("an unreadable stack file stops the run, naming the file", async () => {
            const { error, registered } = await devBeside("config: [unclosed\n", validConfig("dev"));
            expect(error?.message).toMatch(/Pulumi\.prod\.yaml cannot be read \(.*\), so the dev stack cannot be checked against the prod stack's volumes; fix: /);
            expect(registered).toBe(0);
        });
    });

    it("registers resources when the same stack's config is valid (the check above can fail)", async () => {
        const { error, registered } = await failingRun("prod", validConfig("prod"));
        expect(error).toBeUndefined();
        expect(registered).toBeGreaterThan(5);
    });

    it("warns, and deploys, when dev runs the moving :dev tag", async () => {
        const run = await runProgram("dev", { ...validConfig("dev"), appImage: "localhost/seaser-rezept-tagebuch:dev" });
        expect(run.warnings).toEqual([expect.stringContaining('appImage "localhost/seaser-rezept-tagebuch:dev" is not a versioned image')]);
        expect((await run.resolve(run.outputs.appImageTag)).value).toBe("dev");
    });
});
