import { describe, expect, it } from "vitest";
import { containerArgs } from "../e2e/deploy";
import { Registered, TYPES } from "./harness";

/** The e2e suite's stand-in for the docker provider must map every field or refuse. */
function container(inputs: Record<string, unknown>): Registered {
    return {
        type: TYPES.container, name: "dev-db-container", inputs, wireInputs: inputs, custom: true, parent: "", provider: "",
        protect: false, retainOnDelete: false, deleteBeforeReplace: true, dependencies: [], importId: "", urn: "",
    };
}

const base = {
    name: "seaser-postgres-dev", image: "localhost/pg:15", restart: "no", mustRun: false,
    envs: ["A=1"], volumes: [{ volumeName: "data", containerPath: "/var/lib/postgresql/data" }], networksAdvanced: [{ name: "internal" }],
    labels: [{ label: "io.seaser.environment", value: "dev" }],
    healthcheck: { tests: ["CMD", "pg_isready", "-d", "rezepte dev"], interval: "10s", timeout: "5s", retries: 5, startPeriod: "30s" },
};

describe("e2e fixture: docker Container inputs to podman create", () => {
    it("maps every field the program uses", () => {
        expect(containerArgs(container(base))).toEqual([
            "create", "--name", "seaser-postgres-dev", "--restart", "no", "--env", "A=1",
            "--volume", "data:/var/lib/postgresql/data", "--network", "internal", "--label", "io.seaser.environment=dev",
            "--health-cmd", "pg_isready -d 'rezepte dev'", "--health-interval", "10s", "--health-timeout", "5s",
            "--health-retries", "5", "--health-start-period", "30s", "localhost/pg:15",
        ]);
    });

    it.each([
        ["an unknown container field", { ...base, privileged: true }, /privileged/],
        ["an unknown volume field", { ...base, volumes: [{ volumeName: "d", containerPath: "/d", readOnly: true }] }, /readOnly/],
        ["an unknown network field", { ...base, networksAdvanced: [{ name: "n", aliases: ["x"] }] }, /aliases/],
        ["an unknown healthcheck form", { ...base, healthcheck: { ...base.healthcheck, tests: ["NONE"] } }, /NONE/],
    ])("throws on %s", (_case, inputs, message) => {
        expect(() => containerArgs(container(inputs))).toThrow(message);
    });
});
