import { describe, expect, it } from "vitest";
import { runProgram, TYPES, validConfig } from "./harness";

/**
 * A key turned off takes resources out of the program, and the engine then deletes them. It refuses to
 * delete a protected one, in a preview too, before it looks at retainOnDelete (pulumi/pulumi v3.248.0
 * pkg/resource/deploy/step.go DeleteStep.Apply: `if !s.replacing && s.old.Protect` returns
 * deleteProtectedError). So every volume that a key takes out must be unprotected, and retained so that
 * the data stays on the host; e2e `pitr-off` runs it through the engine.
 */
const offsite = { offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-prod", offsitePassword: "a-long-repository-password" };

async function volumes(stack: string, config: Record<string, string>) {
    return (await runProgram(stack, config)).ofType(TYPES.volume).map((v) => ({ name: String(v.inputs.name), protect: v.protect, retainOnDelete: v.retainOnDelete }));
}

describe("turning a key off lets the stack go of its volume, which stays on the host", () => {
    it.each([
        ["pitr false", "prod", { ...validConfig("prod"), ...offsite }, { ...validConfig("prod"), ...offsite, pitr: "false" }, ["seaser-postgres-wal"]],
        ["offsiteRepository removed (pitr with it)", "prod", { ...validConfig("prod"), ...offsite }, validConfig("prod"), ["seaser-postgres-wal"]],
        ["appEnabled false", "dev", validConfig("dev"), { ...validConfig("dev"), appEnabled: "false" }, ["seaser-rezept-tagebuch-dev-volume"]],
        ["appEnabled false in test", "test", { ...validConfig("test"), appEnabled: "true", appImage: "localhost/seaser-rezept-tagebuch:v1.0.0" }, validConfig("test"), ["seaser-rezept-tagebuch-test-volume"]],
    ] as const)("%s: what leaves the program is retained and unprotected, so the engine lets go of it", async (_name, stack, on, off, dropped) => {
        const before = await volumes(stack, on);
        const after = await volumes(stack, off);
        const left = before.filter((volume) => !after.some((kept) => kept.name === volume.name));
        expect(left.map((volume) => volume.name)).toEqual(dropped);
        for (const volume of left) expect(volume, volume.name).toMatchObject({ protect: false, retainOnDelete: true });
    });

    it("the database's data volume, in every stack whatever its keys, stays protected and retained", async () => {
        for (const [stack, config] of [["prod", { ...validConfig("prod"), ...offsite }], ["dev", { ...validConfig("dev"), appEnabled: "false" }], ["test", validConfig("test")]] as const) {
            const data = (await volumes(stack, config)).find((volume) => volume.name.startsWith("seaser-postgres") && volume.name.endsWith("-data"));
            expect(data, stack).toMatchObject({ protect: true, retainOnDelete: true });
        }
    });
});
