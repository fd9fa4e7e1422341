import { describe, expect, it } from "vitest";
import { runProgram, TYPES, validConfig } from "./harness";

describe("adopting the volumes already on the host", () => {
    it("imports each data volume by its name when adoptExistingVolumes is true", async () => {
        const run = await runProgram("dev", { ...validConfig("dev"), adoptExistingVolumes: "true" });
        const volumes = run.ofType(TYPES.volume).map((v) => [v.name, v.importId, v.inputs]);
        expect(volumes.sort()).toEqual([
            ["dev-app-data", "seaser-rezept-tagebuch-dev-volume", { name: "seaser-rezept-tagebuch-dev-volume" }],
            ["dev-db-data", "seaser-postgres-dev-data", { name: "seaser-postgres-dev-data" }],
        ]);
        // Containers are recreated with the corrected settings, never imported.
        for (const container of run.ofType(TYPES.container)) expect(container.importId).toBe("");
    });

    it("imports the volume names the operator configured", async () => {
        const run = await runProgram("prod", { ...validConfig("prod"), adoptExistingVolumes: "true", dbDataVolume: "pgdata-prod" });
        expect(run.find(TYPES.volume, "prod-db-data").importId).toBe("pgdata-prod");
    });

    it("creates them by default", async () => {
        const run = await runProgram("dev", validConfig("dev"));
        for (const volume of run.ofType(TYPES.volume)) expect(volume.importId).toBe("");
    });
});
