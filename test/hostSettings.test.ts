import { beforeAll, describe, expect, it } from "vitest";
import { ProgramRun, runProgram, TYPES, validConfig } from "./harness";

/** Docker's duration strings as the provider takes them: "10s", "1m30s". */
function seconds(duration: string): number {
    const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
    if (!match || duration === "") throw new Error(`not a duration: "${duration}"`);
    return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

describe("what every stack puts on the host carries its settings", () => {
    let run: ProgramRun;
    beforeAll(async () => { run = await runProgram("dev", validConfig("dev")); });

    it("labels every container and network with the project and its environment, so podman ps --filter finds one environment", () => {
        const labelled = [...run.ofType(TYPES.container), ...run.ofType(TYPES.network)];
        expect(labelled).toHaveLength(3);
        for (const resource of labelled) {
            expect(resource.inputs.labels, resource.name).toEqual([
                { label: "io.seaser.project", value: "rezept-tagebuch" },
                { label: "io.seaser.environment", value: "dev" },
            ]);
        }
    });

    it("gives every container a healthcheck that podman schedules: a period, a check shorter than it, retries and a start grace", () => {
        for (const container of run.ofType(TYPES.container)) {
            const { interval, timeout, retries, startPeriod } = container.inputs.healthcheck;
            expect(seconds(interval), container.name).toBeGreaterThan(0);
            // A check that may outlast its period would overlap the next one.
            expect(seconds(timeout), container.name).toBeGreaterThan(0);
            expect(seconds(timeout), container.name).toBeLessThan(seconds(interval));
            expect(retries, container.name).toBeGreaterThan(0);
            // PostgreSQL's first start initialises the data directory; failures then must not count.
            expect(seconds(startPeriod), container.name).toBeGreaterThanOrEqual(30);
        }
    });

    it("runs the install and remove scripts with POSIX sh", () => {
        expect(run.find(TYPES.localCommand, "dev-boot-install").inputs.interpreter).toEqual(["/bin/sh", "-c"]);
    });
});
