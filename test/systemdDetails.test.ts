import { describe, expect, it } from "vitest";
import { environmentNames } from "../lib/environments";
import { renderUnits, SystemdScope, waitForHealthyCommand } from "../lib/systemd";

const names = environmentNames("dev");
const spec = (scope: SystemdScope) => ({ environment: "dev" as const, scope, dbContainer: names.dbContainer, appContainer: names.appContainer, dbHealthTimeoutSeconds: 120 });
const dbUnit = `container-${names.dbContainer}.service`;

describe("details of the rendered units that mutation testing found unchecked", () => {
    it("the database wait's failure names the journal of the scope the units run in", () => {
        expect(waitForHealthyCommand(spec("user"))).toContain(`see journalctl --user -u ${dbUnit}"`);
        expect(waitForHealthyCommand(spec("system"))).toContain(`see journalctl -u ${dbUnit}"`);
    });

    it("user units keep the ordering of the default dependencies, less timers.target", () => {
        // DefaultDependencies=no drops After=basic.target; sockets and paths stay, as in the system scope.
        for (const unit of Object.values(renderUnits(spec("user")))) {
            expect(unit.split("\n").filter((line) => line.startsWith("After=")).join(" ")).toMatch(/^After=sockets\.target paths\.target( |$)/);
        }
    });
});
