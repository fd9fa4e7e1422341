import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ENVIRONMENTS } from "../lib/environments";
import { renderInstallScript } from "../lib/systemd";
import * as policyProxy from "@pulumi/policy/proxy";
import { policies, Seen, TYPES } from "../policy/rules";
import { Registered, runProgram, validConfig } from "./harness";

/**
 * How the analyzer hands a rule a preview's inputs (@pulumi/policy server.js): unknown values as the
 * sentinel strings the Node SDK sends for them, behind unknownCheckingProxy, which throws UnknownValueError
 * on reading one; the analyzer turns that into "can't run <rule> ... during preview" (advisory). Internal
 * exports of @pulumi/policy: its proxy.d.ts declares none.
 */
const { unknownCheckingProxy, UnknownValueError, unknownStringValue } = policyProxy as unknown as {
    unknownCheckingProxy: <T>(props: T) => T; UnknownValueError: new (...args: never[]) => Error; unknownStringValue: string;
};

/** A registration as the analyzer hands it to a rule: the URN carries the parent types, props have secrets unwrapped. */
function asSeen(stack: string, r: Registered): Seen {
    const parentTypes = r.parent ? `${r.parent.split("::")[2]}$` : "";
    return { type: r.type, name: r.name, urn: `urn:pulumi:${stack}::rezept-tagebuch::${parentTypes}${r.type}::${r.name}`, props: r.inputs, opts: { protect: r.protect } };
}

/** A registration as the analyzer hands it to a rule during a preview: its props behind the unknown-checking proxy. */
const asPreviewed = (stack: string, r: Registered): Seen => ({ ...asSeen(stack, r), props: unknownCheckingProxy(r.inputs) });

/**
 * Every rule over a stack's resources, as the CLI runs them: "policy: message" per violation, and
 * "policy: can't run during preview: ..." where a rule read a value the preview does not know (server.js
 * catches UnknownValueError per rule, and per resource for a resource rule).
 */
async function violations(resources: Seen[]): Promise<string[]> {
    const found: string[] = [];
    for (const policy of policies) {
        const report = (message: string) => { found.push(`${policy.name}: ${message}`); };
        const judge = async (validate: () => unknown) => {
            try {
                await validate();
            } catch (error) {
                if (!(error instanceof UnknownValueError)) throw error;
                found.push(`${policy.name}: can't run during preview: ${error.message}`);
            }
        };
        if ("validateStack" in policy) await judge(() => (policy as StackValidationPolicy).validateStack({ resources } as any, report));
        else for (const resource of resources) await judge(() => ((policy as ResourceValidationPolicy).validateResource as any)(resource as ResourceValidationArgs, report));
    }
    return found;
}

const urn = (stack: string, parents: string[], type: string, name: string) =>
    `urn:pulumi:${stack}::rezept-tagebuch::${[...parents.map((p) => `rezept-tagebuch:index:${p}`), type].join("$")}::${name}`;
const resource = (stack: string, parents: string[], type: string, name: string, props: Record<string, any>, protect = false): Seen =>
    ({ type, name, urn: urn(stack, parents, type, name), props, opts: { protect } });

const image = (stack: string, component: string, reference: string) => resource(stack, [component], TYPES.image, `${stack}-image`, { name: reference });
const dbContainer = (stack: string, name: string, networks: string[]) =>
    resource(stack, ["Database"], TYPES.container, `${stack}-db-container`, { name, networksAdvanced: networks.map((n) => ({ name: n })), envs: ["POSTGRES_PASSWORD=pw"] });
const appContainer = (stack: string, name: string, envs: string[]) => resource(stack, ["App"], TYPES.container, `${stack}-app-container`, { name, envs });
/** A stack's boot-units installer that writes a unit for each of `containers`, as lib/systemd.ts renders it. */
const installer = (stack: string, containers: string[]) => resource(stack, ["BootUnits"], TYPES.localCommand, `${stack}-boot-install`, {
    create: installScript(Object.fromEntries(containers.map((c) => [`container-${c}.service`, `[Service]\nExecStartPre=/usr/bin/podman start ${c}\nExecStart=/usr/bin/podman wait ${c}\n`]))),
});
function installScript(units: Record<string, string>): string {
    return renderInstallScript({ environment: "test", scope: "user", dbContainer: "x", dbHealthTimeoutSeconds: 120 }, units);
}

describe("each rule refuses a violating resource, with how to fix it, and accepts a satisfying one", () => {
    it("images-pinned: prod's app image has a release tag or digest; no image is :latest or untagged", async () => {
        expect(await violations([image("prod", "App", "localhost/seaser-rezept-tagebuch:latest")])).toEqual([
            expect.stringMatching(/^images-pinned: image "localhost\/seaser-rezept-tagebuch:latest" uses the moving tag ":latest".*; fix: npm run stack -- config prod set appImage/),
        ]);
        expect(await violations([image("prod", "App", "localhost/seaser-rezept-tagebuch:dev")])).toEqual([expect.stringContaining("prod runs versioned images only")]);
        expect(await violations([image("dev", "Database", "docker.io/library/postgres")])).toEqual([expect.stringContaining("fix: npm run stack -- config dev set dbImage")]);
        expect(await violations([
            image("prod", "App", "localhost/seaser-rezept-tagebuch:rezept_version_10_11_2025_001"),
            image("prod", "App", `localhost/seaser-rezept-tagebuch@sha256:${"a".repeat(64)}`),
            image("prod", "Database", "docker.io/library/postgres:16-alpine"),
            image("dev", "App", "localhost/seaser-rezept-tagebuch:dev"),
        ])).toEqual([]);
    });

    it("db-on-internal-network-only: no database joins the shared proxy network", async () => {
        expect(await violations([dbContainer("dev", "seaser-postgres-dev", ["seaser-rezept-tagebuch-dev-internal", "seaser-network"]), installer("dev", ["seaser-postgres-dev"])])).toEqual([
            "db-on-internal-network-only: database container seaser-postgres-dev joins network seaser-network; fix: a database joins only seaser-rezept-tagebuch-dev-internal (remove seaser-network from its networksAdvanced)",
        ]);
        // Named as a database, even outside the Database component.
        const stray = resource("prod", [], TYPES.container, "stray", { name: "seaser-postgres", networksAdvanced: [{ name: "seaser-network" }] });
        expect(await violations([stray])).toContainEqual(expect.stringContaining("db-on-internal-network-only: database container seaser-postgres joins network seaser-network"));
        expect(await violations([dbContainer("dev", "seaser-postgres-dev", ["seaser-rezept-tagebuch-dev-internal"]), installer("dev", ["seaser-postgres-dev"])])).toEqual([]);
    });

    it("data-volumes-protected: a database's data volume without protect is refused; a volume a key may drop (WAL, uploads) needs none", async () => {
        const volume = (name: string, protect: boolean) => resource("dev", ["Database"], TYPES.volume, name, { name }, protect);
        const db = resource("dev", ["Database"], TYPES.container, "dev-db-container", {
            name: "seaser-postgres-dev", networksAdvanced: [{ name: "seaser-rezept-tagebuch-dev-internal" }],
            volumes: [{ volumeName: "seaser-postgres-dev-wal", containerPath: "/var/lib/postgresql" }, { volumeName: "seaser-postgres-dev-data", containerPath: "/var/lib/postgresql/data" }],
        });
        const boot = installer("dev", ["seaser-postgres-dev"]);
        expect(await violations([volume("seaser-postgres-dev-data", false), volume("seaser-postgres-dev-wal", true), db, boot]))
            .toEqual([expect.stringMatching(/^data-volumes-protected: volume seaser-postgres-dev-data, the data of database container seaser-postgres-dev, is not protected.*; fix: /)]);
        expect(await violations([volume("seaser-postgres-dev-data", true), volume("seaser-postgres-dev-wal", false), db, boot])).toEqual([]);
    });

    it("app-uses-own-database: POSTGRES_HOST is a database container of the same stack, DEV_MODE in dev only", async () => {
        const devDb = dbContainer("dev", "seaser-postgres-dev", ["seaser-rezept-tagebuch-dev-internal"]);
        const boot = installer("dev", ["seaser-postgres-dev", "seaser-rezept-tagebuch-dev"]);
        const app = (envs: string[]) => appContainer("dev", "seaser-rezept-tagebuch-dev", envs);
        expect(await violations([devDb, boot, app(["POSTGRES_HOST=seaser-postgres", "DEV_MODE=true"])])).toEqual([
            'app-uses-own-database: container seaser-rezept-tagebuch-dev: POSTGRES_HOST is "seaser-postgres", not the dev database (seaser-postgres-dev); fix: let components/app.ts derive it from the dev Database (remove it from appEnv/appSecretEnv)',
        ]);
        expect(await violations([devDb, boot, app(["POSTGRES_HOST=seaser-postgres-dev"])])).toEqual([expect.stringContaining('DEV_MODE is unset in dev, expected "true"')]);
        const prod = [dbContainer("prod", "seaser-postgres", ["seaser-rezept-tagebuch-prod-internal"]), installer("prod", ["seaser-postgres", "seaser-rezept-tagebuch"])];
        expect(await violations([...prod, appContainer("prod", "seaser-rezept-tagebuch", ["POSTGRES_HOST=seaser-postgres", "DEV_MODE=true"])]))
            .toEqual([expect.stringContaining("DEV_MODE is set in prod; it belongs to dev only")]);
        expect(await violations([devDb, boot, app(["POSTGRES_HOST=seaser-postgres-dev", "DEV_MODE=true"])])).toEqual([]);
    });

    it("containers-started-by-units: a container no unit of the stack starts is refused", async () => {
        const db = dbContainer("test", "seaser-postgres-test", ["seaser-rezept-tagebuch-test-internal"]);
        expect(await violations([db, installer("test", [])])).toEqual([
            expect.stringMatching(/^containers-started-by-units: container seaser-postgres-test is started by no systemd unit of this stack.*container-seaser-postgres-test\.service is installed$/),
        ]);
        // A unit that starts it under another container's unit name does not count: the boot order follows the names.
        const wrong = resource("test", ["BootUnits"], TYPES.localCommand, "b", { create: installScript({ "container-other.service": "ExecStartPre=/usr/bin/podman start seaser-postgres-test\n" }) });
        expect(await violations([db, wrong])).toHaveLength(1);
        expect(await violations([db, installer("test", ["seaser-postgres-test"])])).toEqual([]);
    });
});

describe("environment isolation: each rule refuses a violating resource, with how to fix it, and accepts a satisfying one", () => {
    const volume = (stack: string, name: string) => resource(stack, ["Database"], TYPES.volume, `${stack}-${name}`, { name }, true);
    const mounting = (stack: string, parent: "Database" | "App", name: string, props: Record<string, any>) =>
        resource(stack, [parent], TYPES.container, `${stack}-${parent === "App" ? "app" : "db"}-container`, { name, ...props });
    /** The rule's own messages only: the satisfying stacks here are not complete stacks for the other rules. */
    const of = async (rule: string, resources: Seen[]) => (await violations(resources)).filter((line) => line.startsWith(`${rule}: `));

    it("containers-mount-own-volumes: a container mounts only volumes its stack registers, never another environment's", async () => {
        const rule = "containers-mount-own-volumes";
        const devDb = (volumeName: string) => mounting("dev", "Database", "seaser-postgres-dev", { volumes: [{ volumeName, containerPath: "/var/lib/postgresql/data" }] });
        // prod's derived name, even registered by the dev stack (dbDataVolume seaser-postgres-data).
        expect(await of(rule, [volume("dev", "seaser-postgres-data"), devDb("seaser-postgres-data")])).toEqual([
            `${rule}: container seaser-postgres-dev mounts the volume seaser-postgres-data, the prod database volume: the dev stack would use prod's data; ` +
                "fix: mount only the stack's own data volumes (components/hostResources.ts dataVolume); for a configured name: pulumi config set --stack dev dbDataVolume <a volume of dev's own>",
        ]);
        expect(await of(rule, [volume("dev", "seaser-postgres-dev-data"), devDb("pg-main")])).toEqual([expect.stringContaining("mounts the volume pg-main, which its stack neither creates nor imports")]);
        const app = (props: Record<string, any>) => mounting("prod", "App", "seaser-rezept-tagebuch", props);
        expect(await of(rule, [app({ volumes: [{ hostPath: "/home/seaser/.local/share/containers/storage/volumes/seaser-postgres-dev-data/_data", containerPath: "/data" }] })]))
            .toEqual([expect.stringMatching(/mounts the host path .*seaser-postgres-dev-data\/_data, which is no volume of the prod environment.*fix: .*appDataVolume/)]);
        expect(await of(rule, [app({ volumes: [{ fromContainer: "seaser-postgres-dev" }] })])).toEqual([expect.stringContaining("mounts the volumes of container seaser-postgres-dev")]);
        expect(await of(rule, [app({ mounts: [{ type: "volume", source: "seaser-rezept-tagebuch-dev-volume", target: "/data" }] })])).toEqual([expect.stringContaining("the dev uploads volume")]);
        // Satisfying: its stack's own volume, under a configured name too; tmpfs and anonymous volumes are the container's own.
        expect(await of(rule, [volume("dev", "pg-dev"), devDb("pg-dev")])).toEqual([]);
        expect(await of(rule, [volume("prod", "seaser-rezept-tagebuch-volume"),
            app({ volumes: [{ volumeName: "seaser-rezept-tagebuch-volume", containerPath: "/data" }, { containerPath: "/cache" }], mounts: [{ type: "tmpfs", target: "/tmp" }] })])).toEqual([]);
    });

    it("containers-mount-own-volumes: another environment's point-in-time recovery volumes are another's too", async () => {
        const rule = "containers-mount-own-volumes";
        // The issue's example: dev with appDataVolume seaser-postgres-wal, a volume the dev stack registers and mounts.
        const devApp = mounting("dev", "App", "seaser-rezept-tagebuch-dev", { volumes: [{ volumeName: "seaser-postgres-wal", containerPath: "/data" }] });
        expect(await of(rule, [volume("dev", "seaser-postgres-wal"), devApp])).toEqual([
            expect.stringMatching(/^containers-mount-own-volumes: container seaser-rezept-tagebuch-dev mounts the volume seaser-postgres-wal, the prod WAL archive volume: the dev stack would use prod's data; fix: .*appDataVolume/),
        ]);
        for (const name of ["seaser-postgres-pitr-data", "seaser-postgres-data-before-pitr-20261201T140200Z"]) {
            const app = mounting("dev", "App", "seaser-rezept-tagebuch-dev", { volumes: [{ volumeName: name, containerPath: "/data" }] });
            expect(await of(rule, [volume("dev", name), app])).toEqual([expect.stringContaining(`mounts the volume ${name}, the prod `)]);
        }
        // Its own WAL volume, mounted by its database: its own.
        expect(await of(rule, [volume("dev", "seaser-postgres-dev-wal"),
            mounting("dev", "Database", "seaser-postgres-dev", { volumes: [{ volumeName: "seaser-postgres-dev-wal", containerPath: "/var/lib/postgresql" }] })])).toEqual([]);
    });

    it("creates-own-volumes-and-networks: a stack creates no other environment's volume, and no network but its internal one", async () => {
        const rule = "creates-own-volumes-and-networks";
        // Registered, even if nothing mounts it: creating it takes it over.
        expect(await of(rule, [volume("dev", "seaser-postgres-wal")])).toEqual([
            expect.stringMatching(/^creates-own-volumes-and-networks: volume seaser-postgres-wal is the prod WAL archive volume: the dev stack would take it over .*; fix: /),
        ]);
        expect(await of(rule, [volume("prod", "seaser-postgres-test-data")])).toEqual([expect.stringContaining("is the test database volume")]);
        const network = (stack: string, name: string) => resource(stack, ["EnvironmentNetwork"], TYPES.network, `${stack}-network-network`, { name });
        expect(await of(rule, [network("dev", "seaser-rezept-tagebuch-prod-internal")])).toEqual([
            expect.stringMatching(/^creates-own-volumes-and-networks: network seaser-rezept-tagebuch-prod-internal is the prod internal network: the dev stack creates only its internal network seaser-rezept-tagebuch-dev-internal; fix: /),
        ]);
        expect(await of(rule, [network("dev", "seaser-network")])).toEqual([expect.stringContaining("network seaser-network is no network of the dev environment")]);
        expect(await of(rule, [volume("dev", "seaser-postgres-dev-wal"), volume("dev", "pg-dev"), network("dev", "seaser-rezept-tagebuch-dev-internal")])).toEqual([]);
    });

    it("containers-join-own-networks: an app joins its internal network and one proxy network; other containers their internal network only", async () => {
        const rule = "containers-join-own-networks";
        const app = (networks: string[], extra: Record<string, any> = {}) =>
            mounting("dev", "App", "seaser-rezept-tagebuch-dev", { networksAdvanced: networks.map((name) => ({ name })), ...extra });
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal", "seaser-rezept-tagebuch-prod-internal"])])).toEqual([
            `${rule}: container seaser-rezept-tagebuch-dev joins network seaser-rezept-tagebuch-prod-internal, the prod internal network, where prod's database is; ` +
                "fix: it joins only seaser-rezept-tagebuch-dev-internal and the reverse proxy's network (pulumi config set --stack dev proxyNetwork <the reverse proxy's network>)",
        ]);
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal", "seaser-network", "another-net"])])).toEqual([expect.stringContaining("more than the one proxy network")]);
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal"], { networkMode: "container:seaser-postgres" })])).toEqual([expect.stringContaining("networkMode container:seaser-postgres")]);
        const sidecar = resource("test", [], TYPES.container, "sidecar", { name: "sidecar", networksAdvanced: [{ name: "seaser-rezept-tagebuch-test-internal" }, { name: "seaser-network" }] });
        expect(await of(rule, [sidecar])).toEqual([expect.stringContaining("joins network seaser-network, which is not the test internal network; only apps join the proxy network; fix: remove seaser-network")]);
        // Databases have their own, stricter rule, and are not reported twice.
        expect(await of(rule, [dbContainer("dev", "seaser-postgres-dev", ["seaser-rezept-tagebuch-prod-internal"])])).toEqual([]);
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal", "edge-proxy"], { networkMode: "bridge" })])).toEqual([]);
    });

    it("proxy-network-not-internal: an app's proxy network is no environment's internal network, its own included", async () => {
        const rule = "proxy-network-not-internal";
        const app = (networks: string[]) => mounting("dev", "App", "seaser-rezept-tagebuch-dev", { networksAdvanced: networks.map((name) => ({ name })) });
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal", "seaser-rezept-tagebuch-dev-internal"])])).toEqual([
            `${rule}: app container seaser-rezept-tagebuch-dev has the dev internal network seaser-rezept-tagebuch-dev-internal as its proxy network, so the reverse proxy's side is a database network; ` +
                "fix: npm run stack -- config dev set proxyNetwork seaser-network (the reverse proxy's own network, which no environment owns)",
        ]);
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal", "seaser-rezept-tagebuch-test-internal"])])).toEqual([expect.stringContaining("the test internal network")]);
        expect(await of(rule, [app(["seaser-rezept-tagebuch-dev-internal", "seaser-network"])])).toEqual([]);
        // The app joins the proxy network through its health gate (components/app.ts), which names it in its triggers.
        const gate = (network: string) => resource("dev", ["App"], TYPES.localCommand, "dev-app-ready", { triggers: ["id", `proxyNetwork=${network}`] });
        expect(await of(rule, [gate("seaser-rezept-tagebuch-prod-internal")])).toEqual([
            `${rule}: app health gate dev-app-ready connects the app to the prod internal network seaser-rezept-tagebuch-prod-internal as its proxy network, so the reverse proxy's side is a database network; ` +
                "fix: npm run stack -- config dev set proxyNetwork seaser-network (the reverse proxy's own network, which no environment owns)",
        ]);
        expect(await of(rule, [gate("seaser-network")])).toEqual([]);
    });

    it("proxy-network-not-internal judges the gate in a preview, where the container id beside the network is unknown, and passes over the standby's unknown image id", async () => {
        const rule = "proxy-network-not-internal";
        // As a real `pulumi preview` hands them over (docs/real-engine.md): the ids are known only after `up`.
        const previewed = (name: string, triggers: unknown[]) =>
            resource("dev", ["App"], TYPES.localCommand, name, unknownCheckingProxy({ triggers }));
        const gate = (network: string) => previewed("dev-app-ready", [unknownStringValue, `proxyNetwork=${network}`]);
        expect(await of(rule, [gate("seaser-rezept-tagebuch-prod-internal")])).toEqual([
            `${rule}: app health gate dev-app-ready connects the app to the prod internal network seaser-rezept-tagebuch-prod-internal as its proxy network, so the reverse proxy's side is a database network; ` +
                "fix: npm run stack -- config dev set proxyNetwork seaser-network (the reverse proxy's own network, which no environment owns)",
        ]);
        expect(await of(rule, [gate("seaser-rezept-tagebuch-dev-internal")])).toEqual([expect.stringContaining("connects the app to the dev internal network")]);
        expect(await of(rule, [gate("seaser-network")])).toEqual([]);
        expect(await of(rule, [previewed("dev-app-standby", ["seaser-rezept-tagebuch-dev", unknownStringValue, [], "seaser-rezept-tagebuch-dev-volume"])])).toEqual([]);
    });
});

describe("what the program registers passes every rule", () => {
    it.each(ENVIRONMENTS)("the %s stack", async (stack) => {
        const run = await runProgram(stack, validConfig(stack));
        const seen = run.resources.map((r) => asSeen(stack, r));
        // The rules really looked at this stack's resources.
        expect(seen.filter((r) => r.type === TYPES.container).length).toBe(stack === "test" ? 1 : 2);
        expect(await violations(seen)).toEqual([]);
    });

    it("the prod stack with point-in-time recovery: its WAL volume, unprotected, is its own", async () => {
        const run = await runProgram("prod", { ...validConfig("prod"), offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-prod", offsitePassword: "a-long-repository-password" });
        const seen = run.resources.map((r) => asSeen("prod", r));
        expect(seen.find((r) => r.type === TYPES.volume && r.props.name === "seaser-postgres-wal")?.opts.protect).toBe(false);
        expect(await violations(seen)).toEqual([]);
    });

    it("the dev stack with an app image volume: the volume is its own; an app mounting prod's is refused", async () => {
        const run = await runProgram("dev", { ...validConfig("dev"), appImageVolumes: '["/var/lib/app-cache"]' });
        const seen = run.resources.map((r) => asSeen("dev", r));
        expect(seen.filter((r) => r.type === TYPES.volume).map((r) => r.props.name)).toContain("seaser-rezept-tagebuch-dev-vol-var-lib-app-cache");
        expect(await violations(seen)).toEqual([]);
        const prods = "seaser-rezept-tagebuch-vol-var-lib-app-cache";
        const taken = seen.map((r) => r.type === TYPES.volume && r.props.name === "seaser-rezept-tagebuch-dev-vol-var-lib-app-cache" ? { ...r, props: { ...r.props, name: prods } }
            : r.type === TYPES.container && r.props.name === "seaser-rezept-tagebuch-dev"
                ? { ...r, props: { ...r.props, volumes: r.props.volumes.map((v: { volumeName: string }) => v.volumeName.includes("-vol-") ? { ...v, volumeName: prods } : v) } } : r);
        expect(await violations(taken)).toEqual([
            expect.stringMatching(/^containers-mount-own-volumes: container seaser-rezept-tagebuch-dev mounts the volume seaser-rezept-tagebuch-vol-var-lib-app-cache, the prod app image volumes/),
            expect.stringMatching(/^creates-own-volumes-and-networks: volume seaser-rezept-tagebuch-vol-var-lib-app-cache is the prod app image volumes/),
        ]);
    });

    it.each(ENVIRONMENTS)("the %s stack as a real preview hands it over: every rule judges it, none reads a value the preview does not know", async (stack) => {
        // Before `up`, every resource's id is unknown, and so is an image's imageId (an output the provider computes).
        const config = stack === "test" ? { ...validConfig(stack), appEnabled: "true", appImage: "localhost/seaser-rezept-tagebuch:rezept_version_12_11_2025_002" } : validConfig(stack);
        const run = await runProgram(stack, config, { mockId: () => "", imageId: () => undefined as unknown as string });
        const raw = (name: string) => run.resources.find((r) => r.name === name)!.inputs;
        // The unknowns a real `pulumi preview` of dev showed: the gate's container id, the standby's image id, the containers' image.
        expect(raw(`${stack}-app-ready`).triggers).toEqual([unknownStringValue, "proxyNetwork=seaser-network"]);
        expect(raw(`${stack}-app-standby`).triggers[1]).toBe(unknownStringValue);
        expect(raw(`${stack}-app-container`).image).toBe(unknownStringValue);
        expect(await violations(run.resources.map((r) => asPreviewed(stack, r)))).toEqual([]);
        // And still refuses what it should, from the values a preview knows.
        const seen = run.resources.map((r) => asSeen(stack, r));
        const gate = seen.find((r) => r.name === `${stack}-app-ready`)!;
        gate.props = unknownCheckingProxy({ ...gate.props, triggers: [unknownStringValue, "proxyNetwork=seaser-rezept-tagebuch-prod-internal"] });
        expect(await violations(seen.map((r) => r === gate ? r : { ...r, props: unknownCheckingProxy(r.props) }))).toEqual([
            expect.stringMatching(new RegExp(`^proxy-network-not-internal: app health gate ${stack}-app-ready connects the app to the prod internal network`)),
        ]);
    });

    it("and a program whose app points at prod's database fails the policy", async () => {
        const run = await runProgram("dev", validConfig("dev"));
        const seen = run.resources.map((r) => asSeen("dev", r));
        const app = seen.find((r) => r.name === "dev-app-container")!;
        app.props = { ...app.props, envs: (app.props.envs as string[]).map((l) => l.startsWith("POSTGRES_HOST=") ? "POSTGRES_HOST=seaser-postgres" : l) };
        expect(await violations(seen)).toEqual([expect.stringContaining('POSTGRES_HOST is "seaser-postgres", not the dev database')]);
    });

    it("and a program whose database mounts prod's volume, or whose app joins prod's network, fails the policy", async () => {
        const run = await runProgram("dev", validConfig("dev"));
        const seen = run.resources.map((r) => asSeen("dev", r));
        const db = seen.find((r) => r.name === "dev-db-container")!;
        db.props = { ...db.props, volumes: [{ volumeName: "seaser-postgres-data", containerPath: "/var/lib/postgresql/data" }] };
        const app = seen.find((r) => r.name === "dev-app-container")!;
        app.props = { ...app.props, networksAdvanced: [{ name: "seaser-rezept-tagebuch-dev-internal" }, { name: "seaser-rezept-tagebuch-prod-internal" }] };
        expect((await violations(seen)).map((line) => line.split(": ")[0]).sort()).toEqual(["containers-join-own-networks", "containers-mount-own-volumes", "proxy-network-not-internal"]);
        // The network its health gate connects it to, as the program registers it.
        const gate = seen.find((r) => r.name === "dev-app-ready")!;
        gate.props = { ...gate.props, triggers: (gate.props.triggers as unknown[]).map((t) => t === "proxyNetwork=seaser-network" ? "proxyNetwork=seaser-rezept-tagebuch-prod-internal" : t) };
        expect((await violations(seen)).filter((line) => line.includes("app health gate dev-app-ready"))).toHaveLength(1);
    });
});

describe("the pack the CLI loads (policy/)", () => {
    it("is every rule, mandatory, in a nodejs pack", async () => {
        const packs: any[] = [];
        // The real PolicyPack starts a gRPC server for the CLI; record what it is given instead.
        vi.doMock("@pulumi/policy", () => ({ PolicyPack: class { constructor(name: string, args: any) { packs.push({ name, ...args }); } } }));
        await import("../policy/index");
        expect(packs).toHaveLength(1);
        expect(packs[0]).toMatchObject({ name: "rezept-tagebuch", enforcementLevel: "mandatory" });
        // By name: the program runs above reset the module registry, so these are fresh copies of the rules.
        expect(packs[0].policies.map((p: { name: string }) => p.name)).toEqual(policies.map((p) => p.name));
        expect(existsSync(join(__dirname, "../policy/PulumiPolicy.yaml"))).toBe(true);
    });
});
