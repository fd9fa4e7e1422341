import { describe, expect, it } from "vitest";
import { containerRequest } from "../e2e/deploy";
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

describe("e2e fixture: docker Container inputs to a Docker Engine API create request", () => {
    it("maps every field the program uses", () => {
        expect(containerRequest(container({ ...base, networksAdvanced: [{ name: "internal" }, { name: "proxy" }] }))).toEqual({
            body: {
                Image: "localhost/pg:15",
                Env: ["A=1"],
                Labels: { "io.seaser.environment": "dev" },
                Healthcheck: { Test: ["CMD", "pg_isready", "-d", "rezepte dev"], Interval: 10e9, Timeout: 5e9, Retries: 5, StartPeriod: 30e9 },
                HostConfig: { Binds: ["data:/var/lib/postgresql/data"], RestartPolicy: { Name: "no" }, NetworkMode: "internal" },
                NetworkingConfig: { EndpointsConfig: { internal: {} } },
            },
            extraNetworks: ["proxy"],
        });
    });

    it.each([
        ["an unknown container field", { ...base, privileged: true }, /privileged/],
        ["an unknown volume field", { ...base, volumes: [{ volumeName: "d", containerPath: "/d", readOnly: true }] }, /readOnly/],
        ["an unknown network field", { ...base, networksAdvanced: [{ name: "n", aliases: ["x"] }] }, /aliases/],
        ["an unknown healthcheck form", { ...base, healthcheck: { ...base.healthcheck, tests: ["NONE"] } }, /NONE/],
        ["a duration it cannot convert", { ...base, healthcheck: { ...base.healthcheck, interval: "1m30s" } }, /1m30s/],
    ])("throws on %s", (_case, inputs, message) => {
        expect(() => containerRequest(container(inputs))).toThrow(message);
    });
});
