import { describe, expect, it } from "vitest";
import { ObservedContainer, ObservedVolume, OUR_UNIT_MARK, planAdoption, unitsToLookFor, volumeProblems } from "../lib/adoption";
import { environmentNames } from "../lib/environments";
import { renderUnits } from "../lib/systemd";

/** The dev containers as the incident report's `podman run` commands left them. */
const handMadeDev: ObservedContainer[] = [
    {
        name: "seaser-postgres-dev", image: "docker.io/library/postgres:16-alpine", running: true, labels: {},
        mounts: [{ volume: "rezept-dev-pgdata", source: "/home/seaser/.local/share/containers/storage/volumes/rezept-dev-pgdata/_data", destination: "/var/lib/postgresql/data" }],
    },
    {
        name: "seaser-rezept-tagebuch-dev", image: "localhost/seaser-rezept-tagebuch:dev", running: true, labels: {},
        postgresHost: "seaser-postgres", devMode: undefined,
        mounts: [{ volume: "seaser-rezept-tagebuch-dev-volume", source: "/x", destination: "/data" }],
    },
];
const dev = environmentNames("dev");
/** The volumes those containers mount, as `podman volume inspect` shows them. */
const handMadeVolumes: ObservedVolume[] = [{ name: "rezept-dev-pgdata", anonymous: false }, { name: "seaser-rezept-tagebuch-dev-volume", anonymous: false }];

describe("planning the adoption of a hand-run environment", () => {
    it("imports the volumes in use, and backs up, disables foreign units and removes the old containers, in that order", () => {
        const plan = planAdoption({
            environment: "dev", containers: handMadeDev, volumes: handMadeVolumes,
            units: [{ file: "container-seaser-rezept-tagebuch-dev.service", ours: false }],
        }, dev, true);
        expect(plan.problems).toEqual([]);
        expect(plan.config).toEqual({
            dbDataVolume: "rezept-dev-pgdata", adoptDbDataVolume: "true", appDataVolume: "seaser-rezept-tagebuch-dev-volume", adoptAppDataVolume: "true",
        });
        expect(plan.steps).toEqual([
            { kind: "backup" },
            { kind: "disable-unit", unit: "container-seaser-rezept-tagebuch-dev.service" },
            { kind: "remove-container", name: "seaser-rezept-tagebuch-dev" },
            { kind: "remove-container", name: "seaser-postgres-dev" },
        ]);
        expect(plan.adopted).toBe(false);
    });

    it("refuses a dev container that keeps its data in prod's volume, before any step removes anything", () => {
        const onProdData = handMadeDev.map((c) => c.name === "seaser-postgres-dev"
            ? { ...c, mounts: [{ volume: "seaser-postgres-data", source: "/x", destination: "/var/lib/postgresql/data" }] } : c);
        const plan = planAdoption({
            environment: "dev", containers: onProdData, units: [],
            volumes: [{ name: "seaser-postgres-data", anonymous: false }, { name: "seaser-rezept-tagebuch-dev-volume", anonymous: false }],
        }, dev, true);
        expect(plan.problems).toEqual([expect.stringMatching(
            /^seaser-postgres-dev keeps \/var\/lib\/postgresql\/data in seaser-postgres-data, the prod database volume: adopting it would give the dev stack prod's data; fix: .*podman volume import seaser-postgres-dev-data -/)]);
        expect(plan.config.dbDataVolume).toBeUndefined();
    });

    it("names what was wrong: dev pointing at prod's database, no DEV_MODE, a moving tag, a unit that would recreate the old container", () => {
        const plan = planAdoption({ environment: "dev", containers: handMadeDev, volumes: handMadeVolumes, units: [{ file: "container-seaser-postgres-dev.service", ours: false }] }, dev, true);
        const text = plan.findings.join("\n");
        expect(text).toContain("seaser-rezept-tagebuch-dev uses POSTGRES_HOST=seaser-postgres, not its own database seaser-postgres-dev");
        expect(text).toContain("DEV_MODE=(unset): the stack's container has DEV_MODE=true");
        expect(text).toContain("runs localhost/seaser-rezept-tagebuch:dev, a moving tag");
        expect(text).toContain("container-seaser-postgres-dev.service exists and was not written by the stack");
    });

    it("flags prod's :latest and an untagged image", () => {
        const prod = environmentNames("prod");
        for (const image of ["localhost/seaser-rezept-tagebuch:latest", "localhost/seaser-rezept-tagebuch"]) {
            const plan = planAdoption({
                environment: "prod", units: [], volumes: [],
                containers: [{ name: "seaser-rezept-tagebuch", image, running: true, labels: {}, postgresHost: "seaser-postgres", mounts: [] }],
            }, prod, true);
            expect(plan.findings.join("\n")).toContain(`runs ${image}, a moving tag`);
        }
    });

    it("is safe to run again: what the stack made is left alone", () => {
        const ours = handMadeDev.map((c) => ({ ...c, labels: { "io.seaser.project": "rezept-tagebuch" } }));
        const plan = planAdoption({
            environment: "dev", containers: ours, volumes: handMadeVolumes,
            units: unitsToLookFor(dev, true).map((file) => ({ file, ours: true })),
        }, dev, true);
        expect(plan).toMatchObject({ adopted: true, steps: [], problems: [], config: {} });
        expect(plan.findings).toEqual(["nothing to adopt: seaser-postgres-dev is the stack's own"]);
    });

    it("refuses a stopped database (no backup could be taken) and a bind-mounted data directory, saying how to fix each", () => {
        const plan = planAdoption({
            environment: "dev", units: [], volumes: [],
            containers: [{ ...handMadeDev[0], running: false, mounts: [{ source: "/srv/pg", destination: "/var/lib/postgresql/data" }] }],
        }, dev, true);
        expect(plan.problems).toEqual([
            expect.stringMatching(/^seaser-postgres-dev keeps \/var\/lib\/postgresql\/data in a bind mount \(\/srv\/pg\), not a volume; fix: /),
            "seaser-postgres-dev is stopped, so it cannot be backed up first; fix: podman start seaser-postgres-dev, then run this again",
        ]);
        expect(plan.steps).not.toContainEqual({ kind: "backup" });
    });

    it("imports exactly the volumes that exist and creates the others: only the database made by hand, no app", () => {
        const plan = planAdoption({ environment: "dev", containers: [handMadeDev[0]], volumes: [handMadeVolumes[0]], units: [] }, dev, true);
        expect(plan.problems).toEqual([]);
        expect(plan.config).toEqual({
            dbDataVolume: "rezept-dev-pgdata", adoptDbDataVolume: "true", appDataVolume: "seaser-rezept-tagebuch-dev-volume", adoptAppDataVolume: "false",
        });
        expect(plan.volumes).toEqual([
            { key: "dbDataVolume", name: "rezept-dev-pgdata", action: "import" },
            { key: "appDataVolume", name: "seaser-rezept-tagebuch-dev-volume", action: "create" },
        ]);
        expect(plan.findings).toContain("seaser-rezept-tagebuch-dev does not exist: the stack creates seaser-rezept-tagebuch-dev-volume");
        expect(plan.steps).toEqual([{ kind: "backup" }, { kind: "remove-container", name: "seaser-postgres-dev" }]);
    });

    it("creates the uploads volume of an app that keeps nothing at /data, and imports one left on the host under the stack's name", () => {
        const noData = [handMadeDev[0], { ...handMadeDev[1], mounts: [] }];
        const plan = planAdoption({ environment: "dev", containers: noData, volumes: [handMadeVolumes[0]], units: [] }, dev, true);
        expect(plan.config).toMatchObject({ appDataVolume: dev.appVolume, adoptAppDataVolume: "false" });
        expect(plan.findings).toContain(`seaser-rezept-tagebuch-dev keeps no volume at /data: the stack creates ${dev.appVolume}`);
        const left = planAdoption({ environment: "dev", containers: [handMadeDev[0]], volumes: [handMadeVolumes[0], { name: dev.appVolume, anonymous: false }], units: [] }, dev, true);
        expect(left.config).toMatchObject({ appDataVolume: dev.appVolume, adoptAppDataVolume: "true" });
    });

    it("refuses data in an anonymous volume, naming it, with the commands that copy it into the volume the stack expects", () => {
        const anonymous = "0f5d5b9a3c0e5f4b1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b";
        const db = { ...handMadeDev[0], mounts: [{ volume: anonymous, source: `/v/${anonymous}/_data`, destination: "/var/lib/postgresql/data" }] };
        const plan = planAdoption({ environment: "dev", containers: [db, handMadeDev[1]], volumes: [{ name: anonymous, anonymous: true }, handMadeVolumes[1]], units: [] }, dev, true);
        expect(plan.problems).toHaveLength(1);
        const [problem] = plan.problems;
        expect(problem).toContain(`seaser-postgres-dev keeps /var/lib/postgresql/data in an anonymous volume (${anonymous})`);
        expect(problem.split("\n").slice(1)).toEqual([
            "    podman stop --time 30 seaser-postgres-dev",
            "    podman volume create seaser-postgres-dev-data",
            `    podman volume export ${anonymous} | podman volume import seaser-postgres-dev-data -`,
            "    podman rm seaser-postgres-dev",
        ]);
        expect(plan.config).not.toHaveProperty("dbDataVolume");
        // After the copy: the container gone, the named volume there: it is imported.
        const after = planAdoption({
            environment: "dev", containers: [handMadeDev[1]], units: [],
            volumes: [{ name: anonymous, anonymous: true }, { name: dev.dbVolume, anonymous: false }, handMadeVolumes[1]],
        }, dev, true);
        expect(after.problems).toEqual([]);
        expect(after.config).toMatchObject({ dbDataVolume: dev.dbVolume, adoptDbDataVolume: "true" });
    });

    it("says so when the volume the copy would go to exists already", () => {
        const anonymous = "a".repeat(64);
        const db = { ...handMadeDev[0], mounts: [{ volume: anonymous, source: "/v", destination: "/var/lib/postgresql/data" }] };
        const plan = planAdoption({ environment: "dev", containers: [db], volumes: [{ name: anonymous, anonymous: true }, { name: dev.dbVolume, anonymous: false }], units: [] }, dev, true);
        expect(plan.problems[0]).toContain(`(which exists already: see what it holds, podman volume inspect ${dev.dbVolume}, and podman volume rm ${dev.dbVolume} if nothing you need)`);
    });

    it("finds a plan stale when a volume to import went or one to create appeared", () => {
        const plan = planAdoption({ environment: "dev", containers: [handMadeDev[0]], volumes: [handMadeVolumes[0]], units: [] }, dev, true);
        expect(volumeProblems(plan, (name) => name === "rezept-dev-pgdata")).toEqual([]);
        expect(volumeProblems(plan, () => false)).toEqual([expect.stringMatching(/^the volume rezept-dev-pgdata \(dbDataVolume\) was to be imported and does not exist any more; fix: /)]);
        expect(volumeProblems(plan, () => true)).toEqual([expect.stringMatching(/^the volume seaser-rezept-tagebuch-dev-volume \(appDataVolume\) was to be created and exists now; fix: /)]);
    });

    it("on a host with nothing yet has nothing to do", () => {
        expect(planAdoption({ environment: "test", containers: [], units: [], volumes: [] }, environmentNames("test"), false))
            .toMatchObject({ adopted: true, steps: [], config: {} });
    });

    it("tells the program's own units by their first line", () => {
        const units = renderUnits({ environment: "dev", scope: "user", dbContainer: dev.dbContainer, appContainer: dev.appContainer, dbHealthTimeoutSeconds: 120 });
        for (const content of Object.values(units)) expect(content.startsWith(OUR_UNIT_MARK)).toBe(true);
        expect(Object.keys(units).sort()).toEqual(unitsToLookFor(dev, true).sort());
    });
});
