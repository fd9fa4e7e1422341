import { describe, expect, it } from "vitest";
import { fakeImageId, runProgram, startRecording, validConfig } from "./harness";

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
