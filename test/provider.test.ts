import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dependentReplacements, inDependencyOrder, plan } from "../e2e/deploy";
import {
    containerConfig, containerCreateCalls, containerDeleteCalls, CONTAINER_PROVIDER_ONLY, CONTAINER_SCHEMA, CONTAINER_UPDATABLE,
    diffContainer, diffNetwork, durationString, networkConfig, networkCreateCall, parseDuration, readContainer, readNetwork, stateAfterCreate, tfName,
} from "../e2e/provider";
import { ProgramRun, Registered, runProgram, TYPES, validConfig } from "./harness";

/** Real answers of Podman 4.3 on the e2e host (the fixture's dev deploy), passwords redacted. */
const podman = (name: string) => JSON.parse(readFileSync(join(__dirname, "fixtures", "podman", `${name}.json`), "utf8"));

describe("the docker provider model against Podman's answers and the program", () => {
    let run: ProgramRun;
    // The dev stack's real registrations: its inputs and its resource options.
    beforeAll(async () => { run = await runProgram("dev", validConfig("dev"), { secretKeys: ["dbPassword"] }); });
    const db = () => run.find(TYPES.container, "dev-db-container");
    const app = () => run.find(TYPES.container, "dev-app-container");
    const network = () => run.find(TYPES.network, "dev-network");
    const options = (r: Registered) => ({ ignoreChanges: r.ignoreChanges, replaceOnChanges: r.replaceOnChanges });
    /** The state the provider holds after creating `r`: its config, overwritten by Read of Podman's answer. */
    const createdState = (r: Registered, inspect: any) => {
        const config = containerConfig(r.inputs);
        return { config, state: stateAfterCreate(config, readContainer({ ...inspect, Image: config.image }, config)) };
    };

    it("creates a container as the provider does: network_mode bridge, disconnect, one connect per network, then start", () => {
        const calls = containerCreateCalls(containerConfig(app().inputs));
        expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
            "POST /containers/create?name=seaser-rezept-tagebuch-dev",
            "POST /networks/bridge/disconnect",
            "POST /networks/seaser-rezept-tagebuch-dev-internal/connect",
            "POST /containers/created-container-id/start",
        ]);
        const body = calls[0].body as any;
        expect(body.HostConfig).toMatchObject({ NetworkMode: "bridge", Binds: ["seaser-rezept-tagebuch-dev-volume:/data:rw"], RestartPolicy: { Name: "no" } });
        expect(body.NetworkingConfig).toEqual({});
        expect(body.Healthcheck).toMatchObject({ Interval: 15e9, Timeout: 5e9, StartPeriod: 30e9, Retries: 3 });
    });

    it("deletes every program container as the provider does: stop with the units' grace, then remove, then wait", () => {
        const unit = (run.outputs.systemdUnits as Record<string, string>)["container-seaser-postgres-dev.service"];
        const unitStop = Number(/stop --time (\d+)/.exec(unit)![1]);
        for (const container of [db(), app()]) {
            const calls = containerDeleteCalls("abc", containerConfig(container.inputs)).map((c) => `${c.method} ${c.path}`);
            // Unset, the provider stops with t=0: a SIGKILL for PostgreSQL.
            // No v=1: Podman would remove the container's anonymous volumes with it.
            expect(calls).toEqual([`POST /containers/abc/stop?t=${unitStop}`, "DELETE /containers/abc?force=1", "POST /containers/abc/wait?condition=not-running"]);
            expect(unitStop).toBeGreaterThanOrEqual(10); // podman's own default stop timeout
        }
        expect(containerDeleteCalls("abc", {}).map((c) => c.path)).toEqual(["/containers/abc/stop?t=0", "/containers/abc?v=1&force=1", "/containers/abc/wait?condition=not-running"]);
    });

    it("turns remove_volumes off on a container deployed without it by an update of the state, not a replacement", () => {
        const { remove_volumes: _, ...before } = containerConfig(db().inputs);
        const { config } = createdState(db(), podman("dev-db-container"));
        const state = stateAfterCreate(before, readContainer({ ...podman("dev-db-container"), Image: before.image }, before));
        // The state of a container created without it holds the schema's Default, true (C:256-261).
        expect(diffContainer(config, state, options(db()))).toEqual([{ attribute: "remove_volumes", kind: "update", state: true, config: false }]);
        expect(containerDeleteCalls("abc", state)[1].path).toBe("/containers/abc?v=1&force=1");
    });

    it("reads back what Podman fills in: dropped capabilities, network_mode, healthcheck durations", () => {
        const state = readContainer(podman("dev-db-container"), { image: "sha256:x" });
        expect(state).toMatchObject({
            name: "seaser-postgres-dev", network_mode: "bridge", restart: "no", init: false, working_dir: "/",
            capabilities: [{ add: [], drop: ["AUDIT_WRITE", "MKNOD", "NET_RAW"] }],
            healthcheck: [{ interval: "10s", timeout: "5s", start_period: "30s", start_interval: "0s", retries: 5 }],
        });
        // A sha256 image is read from .Image, a name from .Config.Image (funcs.go:840-845).
        expect(state.image).toBe(podman("dev-db-container").Image);
        expect(readContainer(podman("dev-db-container"), { image: "localhost/e2e-postgres:15-e2e" }).image).toBe("localhost/e2e-postgres:15-e2e");
        expect(readNetwork(podman("dev-network"))).toMatchObject({ ipam_driver: "default", ipam_options: { driver: "host-local" }, internal: true, driver: "bridge" });
    });

    it("a second up changes no container: every read-back attribute matches the program or is deliberately ignored", () => {
        for (const [container, inspect] of [[db(), "dev-db-container"], [app(), "dev-app-container"]] as const) {
            const { config, state } = createdState(container, podman(inspect));
            expect(diffContainer(config, state, options(container)), container.name).toEqual([]);
        }
    });

    it("a second up changes no network", () => {
        const config = networkConfig(network().inputs);
        expect(networkCreateCall(config).body).toMatchObject({ Name: "seaser-rezept-tagebuch-dev-internal", Internal: true, IPAM: { Driver: "default" } });
        expect(diffNetwork(config, stateAfterCreate(config, readNetwork(podman("dev-network"))), options(network()))).toEqual([]);
    });

    it("would replace them without the program's options: the model sees what Podman adds", () => {
        const { config, state } = createdState(db(), podman("dev-db-container"));
        expect(diffContainer(config, state)).toEqual([expect.objectContaining({ attribute: "capabilities", kind: "replace" })]);
        const net = networkConfig(network().inputs);
        expect(diffNetwork(net, stateAfterCreate(net, readNetwork(podman("dev-network"))))).toEqual([
            expect.objectContaining({ attribute: "ipam_options", kind: "replace" }),
        ]);
    });

    it("replaces a container whose healthcheck changes: the provider's Update would drop it", () => {
        const { config, state } = createdState(app(), podman("dev-app-container"));
        const changed = { ...config, healthcheck: [{ ...(config.healthcheck as any[])[0], test: ["CMD-SHELL", "true"] }] };
        expect(diffContainer(changed, state, { ignoreChanges: app().ignoreChanges })).toEqual([expect.objectContaining({ attribute: "healthcheck", kind: "ignored-update" })]);
        expect(diffContainer(changed, state, options(app()))).toEqual([expect.objectContaining({ attribute: "healthcheck", kind: "replace" })]);
    });

    it("every attribute the program declares either replaces the container or is applied by the provider's Update", () => {
        for (const container of [db(), app()]) {
            const declared = Object.keys(containerConfig(container.inputs));
            const notApplied = declared.filter((a) => !CONTAINER_SCHEMA[a].forceNew && !CONTAINER_UPDATABLE.has(a) && !CONTAINER_PROVIDER_ONLY.has(a));
            expect(notApplied.filter((a) => !container.replaceOnChanges.map(tfName).includes(a)), container.name).toEqual([]);
        }
    });

    it("compares as the SDK does: strings literally, sets in any order, lists in order", () => {
        const { config, state } = createdState(db(), podman("dev-db-container"));
        const health = (config.healthcheck as any[])[0];
        // Go prints 90s as 1m30s: a config of "90s" would differ on every up.
        expect(durationString(parseDuration("90s"))).toBe("1m30s");
        const ignoring = { ignoreChanges: ["capabilities"] };
        expect(diffContainer({ ...config, healthcheck: [{ ...health, interval: "90s" }] }, { ...state, healthcheck: [{ ...(state.healthcheck as any[])[0], interval: "1m30s" }] }, ignoring))
            .toEqual([expect.objectContaining({ attribute: "healthcheck" })]);
        expect(diffContainer({ ...config, capabilities: [{ drop: ["NET_RAW", "MKNOD", "AUDIT_WRITE"] }] }, state)).toEqual([]);
        expect(diffContainer({ ...config, healthcheck: [{ ...health, test: [...health.test].reverse() }] }, state, ignoring)).not.toEqual([]);
    });

    it.each([
        ["an unknown container field", { privileged: true }, /privileged/],
        ["an unknown volume field", { volumes: [{ volumeName: "d", containerPath: "/d", hostPath: "/x" }] }, /hostPath/],
        ["an unknown network field", { networksAdvanced: [{ name: "n", aliases: ["x"] }] }, /aliases/],
    ])("refuses %s", (_case, extra, message) => {
        expect(() => containerConfig({ ...db().inputs, ...extra })).toThrow(message);
    });
});

describe("the fixture's engine: order and command lifecycle", () => {
    const resource = (name: string, inputs: Record<string, unknown>, dependencies: string[] = []): Registered => ({
        type: TYPES.localCommand, name, inputs, wireInputs: inputs, custom: true, parent: "", provider: "", protect: false,
        retainOnDelete: false, deleteBeforeReplace: true, propertyDependencies: {}, dependencies, importId: "", ignoreChanges: [], replaceOnChanges: [], urn: `urn::${name}`,
    });

    it("replaces with a delete-before-replace resource exactly the dependents whose replacing inputs came from it, as the engine does", () => {
        // pulumi/pulumi v3.248.0 step_generator.go:3009-3110: inputs from the replaced resource are unknown; a dependsOn alone is order only.
        const of = (type: string, name: string, over: Partial<Registered>): Registered => ({ ...resource(name, {}), type, urn: `urn::${name}`, ...over });
        const db = of(TYPES.container, "db", {});
        const dbUrn = `urn:pulumi:dev::rezept-tagebuch::rezept-tagebuch:index:Database$${TYPES.container}::db`;
        const gate = of(TYPES.localCommand, "db-ready", { propertyDependencies: { triggers: [dbUrn] }, dependencies: [dbUrn] });
        const appFromDb = of(TYPES.container, "app", { propertyDependencies: { envs: [dbUrn] }, dependencies: ["urn::db-ready"] });
        const appOrderOnly = of(TYPES.container, "app2", { propertyDependencies: { envs: [] }, dependencies: ["urn::db-ready"] });
        const restartOnly = of(TYPES.container, "app3", { propertyDependencies: { restart: [dbUrn] } });
        const plans = () => new Map<string, { action: string; changes: never[] }>([
            ["urn::db", { action: "replace", changes: [] }], ...["db-ready", "app", "app2", "app3"].map((n) => [`urn::${n}`, { action: "same", changes: [] }] as [string, { action: string; changes: never[] }]),
        ]);
        const planned = plans();
        const replaced = dependentReplacements([db, gate, appFromDb, appOrderOnly, restartOnly], planned);
        expect([...replaced].sort()).toEqual(["urn::app", "urn::db-ready"]);
        expect(planned.get("urn::app2")!.action).toBe("same");
        // `restart` is not ForceNew (C:230): its unknown value updates, it does not replace.
        expect(planned.get("urn::app3")!.action).toBe("same");
        // Created before it: nothing to replace. And a create-before-delete root replaces no dependent.
        expect(dependentReplacements([{ ...db, deleteBeforeReplace: false }, gate, appFromDb], plans()).size).toBe(0);
    });

    it("orders every resource after its dependencies", () => {
        const a = resource("a", {}, ["urn::b"]);
        const b = resource("b", {}, ["urn::c"]);
        const c = resource("c", {});
        expect(inDependencyOrder([a, b, c]).map((r) => r.name)).toEqual(["c", "b", "a"]);
    });

    it("creates, replaces on triggers, updates on other inputs, and leaves an unchanged command alone", () => {
        const inputs = { create: "install", delete: "remove", triggers: ["container-1"] };
        const applied = (state: Record<string, unknown>) => ({ registered: resource("cmd", state), id: "cmd-1", state });
        expect(plan(resource("cmd", inputs), undefined).action).toBe("create");
        expect(plan(resource("cmd", inputs), applied(inputs)).action).toBe("same");
        expect(plan(resource("cmd", { ...inputs, triggers: ["container-2"] }), applied(inputs)).action).toBe("replace");
        expect(plan(resource("cmd", { ...inputs, create: "install v2" }), applied(inputs)).action).toBe("update");
    });
});
