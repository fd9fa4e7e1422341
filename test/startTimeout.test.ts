import { describe, expect, it } from "vitest";
import { environmentNames } from "../lib/environments";
import { renderUnits } from "../lib/systemd";
import { runProgram, validConfig } from "./harness";

/**
 * The app unit first waits, bounded, for its database to be healthy; systemd
 * counts that wait against the unit's TimeoutStartSec. A start timeout shorter
 * than the wait would kill the start in the middle of the wait, so the relation
 * is read back from the rendered unit itself, for several waits.
 */
function startTimeouts(unit: string): { startSeconds: number; waitSeconds: number } {
    const directive = (key: string) => unit.split("\n").filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
    const [startSeconds] = directive("TimeoutStartSec");
    const waits = directive("ExecStartPre").map((line) => /\btimeout (\d+) /.exec(line)?.[1]).filter((seconds) => seconds !== undefined);
    expect(waits, "the app unit has one bounded wait").toHaveLength(1);
    expect(startSeconds, "TimeoutStartSec in seconds").toMatch(/^\d+$/);
    return { startSeconds: Number(startSeconds), waitSeconds: Number(waits[0]) };
}

const names = environmentNames("prod");
const appUnit = `container-${names.appContainer}.service`;

describe("the app unit's start timeout outlasts its wait for the database", () => {
    // 10 and 1800 are the bounds the config accepts, 120 the default.
    it.each([10, 120, 300, 1800])("dbHealthTimeoutSeconds=%i", (dbHealthTimeoutSeconds) => {
        const units = renderUnits({ environment: "prod", scope: "user", dbContainer: names.dbContainer, appContainer: names.appContainer, dbHealthTimeoutSeconds });
        const { startSeconds, waitSeconds } = startTimeouts(units[appUnit]);
        expect(waitSeconds).toBe(dbHealthTimeoutSeconds);
        expect(startSeconds).toBeGreaterThan(waitSeconds);
    });

    it.each([[undefined, 120], ["300", 300]] as const)("through the program, dbHealthTimeoutSeconds=%s", async (configured, expected) => {
        const config = { ...validConfig("prod"), ...(configured ? { dbHealthTimeoutSeconds: configured } : {}) };
        const run = await runProgram("prod", config);
        const { startSeconds, waitSeconds } = startTimeouts((run.outputs.systemdUnits as Record<string, string>)[appUnit]);
        expect(waitSeconds).toBe(expected);
        expect(startSeconds).toBeGreaterThan(waitSeconds);
    });
});

describe("each unit's stop timeout outlasts podman's stop grace", () => {
    // systemd kills a stop that overruns TimeoutStopSec, and with it `podman stop`
    // while PostgreSQL may still be writing its shutdown checkpoint.
    it.each(["user", "system"] as const)("%s scope", (scope) => {
        const units = renderUnits({ environment: "prod", scope, dbContainer: names.dbContainer, appContainer: names.appContainer, dbHealthTimeoutSeconds: 120 });
        for (const unit of Object.values(units)) {
            const grace = /^ExecStop=.* stop --time (\d+) /m.exec(unit)?.[1];
            const timeout = /^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1];
            expect(grace).toMatch(/^\d+$/);
            expect(Number(timeout)).toBeGreaterThan(Number(grace));
        }
    });
});
