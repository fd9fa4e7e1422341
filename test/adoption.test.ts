import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../lib/config";
import { runProgram, TYPES, validConfig } from "./harness";

describe("adopting the volumes already on the host", () => {
    const importIds = async (stack: string, config: Record<string, string>) =>
        Object.fromEntries((await runProgram(stack, { ...validConfig(stack), ...config })).ofType(TYPES.volume).map((v) => [v.name, v.importId]));

    it("imports each data volume by its name when its own flag is true", async () => {
        const run = await runProgram("dev", { ...validConfig("dev"), adoptDbDataVolume: "true", adoptAppDataVolume: "true" });
        const volumes = run.ofType(TYPES.volume).map((v) => [v.name, v.importId, v.inputs]);
        expect(volumes.sort()).toEqual([
            ["dev-app-data", "seaser-rezept-tagebuch-dev-volume", { name: "seaser-rezept-tagebuch-dev-volume" }],
            ["dev-db-data", "seaser-postgres-dev-data", { name: "seaser-postgres-dev-data" }],
        ]);
        // Containers are recreated with the corrected settings, never imported.
        for (const container of run.ofType(TYPES.container)) expect(container.importId).toBe("");
    });

    it("imports only the volume whose flag is set, and creates the other", async () => {
        expect(await importIds("dev", { adoptDbDataVolume: "true" })).toEqual({ "dev-db-data": "seaser-postgres-dev-data", "dev-app-data": "" });
        expect(await importIds("dev", { adoptAppDataVolume: "true" })).toEqual({ "dev-db-data": "", "dev-app-data": "seaser-rezept-tagebuch-dev-volume" });
    });

    it("imports the volume names the operator configured", async () => {
        expect(await importIds("prod", { adoptDbDataVolume: "true", dbDataVolume: "pgdata-prod" })).toMatchObject({ "prod-db-data": "pgdata-prod" });
    });

    it("creates them by default", async () => {
        expect(Object.values(await importIds("dev", {}))).toEqual(["", ""]);
    });

    it("refuses the old adoptExistingVolumes, naming what replaced it and the commands", () => {
        const problems = (value: string) => {
            try {
                parseStackConfig("dev", { ...validConfig("dev"), adoptExistingVolumes: value });
            } catch (error) {
                expect(error).toBeInstanceOf(ConfigError);
                return [...(error as ConfigError).problems];
            }
            throw new Error("accepted");
        };
        expect(problems("true")).toEqual([
            "rezept-tagebuch:adoptExistingVolumes was replaced by adoptDbDataVolume and adoptAppDataVolume, one per volume (npm run adopt sets them); "
            + "fix: npm run stack -- config dev rm adoptExistingVolumes && npm run stack -- config dev set adoptDbDataVolume true && npm run stack -- config dev set adoptAppDataVolume true (each only if that volume exists on the host)",
        ]);
        expect(problems("false")).toEqual([
            "rezept-tagebuch:adoptExistingVolumes was replaced by adoptDbDataVolume and adoptAppDataVolume, one per volume (npm run adopt sets them); fix: npm run stack -- config dev rm adoptExistingVolumes",
        ]);
    });
});
