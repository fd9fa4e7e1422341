/**
 * How the e2e suite reads what the real engine did (e2e/pulumi.ts): `pulumi up --json`'s engine
 * events, one JSON object a line, in the shape the CLI v3.248.0 printed them in the e2e runs.
 */
import { describe, expect, it } from "vitest";
import { engineEvents, printed, stepsOf } from "../e2e/pulumi";

const urn = (type: string, name: string) => `urn:pulumi:dev::rezept-tagebuch::rezept-tagebuch:index:App$${type}::${name}`;
const event = (sequence: number, timestamp: number, kind: string, body: object) => JSON.stringify({ sequence, timestamp, [kind]: body });
const step = (sequence: number, timestamp: number, kind: string, op: string, type: string, name: string) =>
    event(sequence, timestamp, kind, { metadata: { op, urn: urn(type, name), type } });

/** An app deploy as the engine printed it: the container replaced delete-before-replace, a command updated, a component and the stack the same. */
const appDeploy = [
    "stack.sh: a line of its own before the events",
    event(0, 100, "policyLoadEvent", {}),
    event(1, 101, "diagnosticEvent", { prefix: "debug: ", message: "Registering resource\n", severity: "debug" }),
    step(2, 102, "resourcePreEvent", "same", "pulumi:pulumi:Stack", "rezept-tagebuch-dev"),
    step(3, 102, "resOutputsEvent", "create", "rezept-tagebuch:index:App", "dev-app"),
    step(4, 104, "resourcePreEvent", "delete-replaced", "docker:index/container:Container", "dev-app-container"),
    step(5, 105, "resOutputsEvent", "delete-replaced", "docker:index/container:Container", "dev-app-container"),
    step(6, 105, "resourcePreEvent", "replace", "docker:index/container:Container", "dev-app-container"),
    step(7, 105, "resOutputsEvent", "replace", "docker:index/container:Container", "dev-app-container"),
    step(8, 105, "resourcePreEvent", "create-replacement", "docker:index/container:Container", "dev-app-container"),
    step(9, 107, "resOutputsEvent", "create-replacement", "docker:index/container:Container", "dev-app-container"),
    step(10, 107, "resourcePreEvent", "update", "command:local:Command", "dev-health-install"),
    step(11, 110, "resOpFailedEvent", "update", "command:local:Command", "dev-health-install"),
    event(12, 110, "diagnosticEvent", { prefix: "error: ", message: "exit status 1: seaser-rezept-tagebuch-dev did not pass its healthcheck\n", severity: "error" }),
    event(13, 111, "summaryEvent", { result: "failed" }),
].join("\n");

describe("the engine's events of a pulumi up", () => {
    it("are the JSON lines of the output, without what stack.sh printed", () => {
        expect(engineEvents(appDeploy).map((e) => e.sequence)).toEqual([...Array(14).keys()]);
    });

    it("give the steps that changed the host, in order, a failed one marked, with their seconds; not the stack, components or same", () => {
        const { steps, timeline } = stepsOf(engineEvents(appDeploy));
        expect(steps).toEqual([
            "delete-replaced Container dev-app-container", "replace Container dev-app-container", "create-replacement Container dev-app-container",
            "failed update Command dev-health-install",
        ]);
        expect(timeline.map((t) => [t.step, t.start, t.seconds])).toEqual([
            ["delete-replaced Container dev-app-container", 104, 1], ["replace Container dev-app-container", 105, 0],
            ["create-replacement Container dev-app-container", 105, 2], ["failed update Command dev-health-install", 107, 3],
        ]);
    });

    it("say what the console says: the diagnostics, debug left out", () => {
        expect(printed(engineEvents(appDeploy))).toBe("error: exit status 1: seaser-rezept-tagebuch-dev did not pass its healthcheck\n");
    });
});
