import { describe, expect, it } from "vitest";
import { Applied, stackOutputs } from "../e2e/deploy";
import { fakeImageId, runProgram, startRecording, TYPES, validConfig } from "./harness";

/**
 * appImageTag and appImageId name what passed the app's health gate (dev-app-ready): the
 * rollback reads them. A gate that fails must leave them unsent, so the engine keeps the
 * previous ones (components/app.ts cites the engine and SDK source).
 */
describe("the stack outputs naming the deployed app", () => {
    const config = validConfig("dev");
    const tag = config.appImage.split(":").pop();

    it("name the new tag and image once the gate passed", async () => {
        const run = await runProgram("dev", config);
        expect(await run.resolve(run.outputs.appImageTag)).toEqual({ value: tag, secret: false });
        expect((await run.resolve(run.outputs.appImageId)).value).toBe(fakeImageId(config.appImage));
    });

    it("are kept by the e2e fixture as the engine keeps them: a failed gate leaves the previous ones", async () => {
        const run = await runProgram("dev", config);
        const applies = run.resources.filter((r) => r.custom && r.type !== TYPES.provider);
        const done = (...except: string[]) => new Map(applies.filter((r) => !except.includes(r.name)).map((r) => [r.urn, {} as Applied]));
        const previous = { appImageTag: "rezept_version_01_11_2025_001", appImageId: "sha256:before", dropped: "by a success" };
        const sent = await stackOutputs(run, applies, done(), { failed: false });
        expect(sent).toMatchObject({ appImageTag: tag, appImageId: fakeImageId(config.appImage), dbContainer: "seaser-postgres-dev" });
        expect(sent).not.toHaveProperty("dropped");
        // The gate failed: appImageTag never resolved, so the SDK sent nothing and the engine kept every previous output.
        expect(await stackOutputs(run, applies, done("dev-app-ready", "dev-boot-install", "dev-health-install"), { failed: true, previous })).toEqual(previous);
        // A later step failed, after every export had resolved: the sent outputs over the previous ones.
        expect(await stackOutputs(run, applies, done("dev-boot-install", "dev-health-install"), { failed: true, previous })).toEqual({ ...previous, ...sent });
    });

    // Last in this file: the failed registration leaves the SDK's RPCs pending for good, as a real program would exit here.
    it("reject with the failure when the gate's create fails (the app never became healthy), so the SDK sends none", async () => {
        const failure = "seaser-rezept-tagebuch-dev did not pass its healthcheck within 20 s";
        // The SDK rejects every output depending on the failed resource, some unawaited (a real program exits
        // on the first); swallowed here only if it is that failure, so nothing else is hidden.
        const others = process.listeners("unhandledRejection");
        const unexpected: unknown[] = [];
        process.removeAllListeners("unhandledRejection");
        process.on("unhandledRejection", (reason) => { if (!String(reason).includes(failure)) unexpected.push(reason); });
        try {
            const recorder = await startRecording("dev", undefined, (r) => {
                if (r.name === "dev-app-ready") throw new Error(failure);
                return undefined;
            });
            // No settle: the pending registrations never finish.
            const run = await runProgram("dev", config, { recorder: { ...recorder, settle: () => Promise.resolve() } });
            for (const output of ["appImageTag", "appImageId"]) {
                await expect(run.resolve(run.outputs[output]), output).rejects.toThrow(failure);
            }
            // What the gate does not decide is still exported.
            expect(run.outputs.dbContainer).toBe("seaser-postgres-dev");
            await new Promise((resolve) => setTimeout(resolve, 100));
            expect(unexpected).toEqual([]);
        } finally {
            process.removeAllListeners("unhandledRejection");
            for (const listener of others) process.on("unhandledRejection", listener);
        }
    });
});
