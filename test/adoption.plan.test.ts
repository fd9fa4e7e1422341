import { describe, expect, it } from "vitest";
import { ObservedContainer, OUR_UNIT_MARK, planAdoption, unitsToLookFor } from "../lib/adoption";
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

describe("planning the adoption of a hand-run environment", () => {
    it("imports the volumes in use, and backs up, disables foreign units and removes the old containers, in that order", () => {
        const plan = planAdoption({
            environment: "dev", containers: handMadeDev,
            units: [{ file: "container-seaser-rezept-tagebuch-dev.service", ours: false }],
        }, dev, true);
        expect(plan.problems).toEqual([]);
        expect(plan.config).toEqual({ dbDataVolume: "rezept-dev-pgdata", appDataVolume: "seaser-rezept-tagebuch-dev-volume", adoptExistingVolumes: "true" });
        expect(plan.steps).toEqual([
            { kind: "backup" },
            { kind: "disable-unit", unit: "container-seaser-rezept-tagebuch-dev.service" },
            { kind: "remove-container", name: "seaser-rezept-tagebuch-dev" },
            { kind: "remove-container", name: "seaser-postgres-dev" },
        ]);
        expect(plan.adopted).toBe(false);
    });

    it("names what was wrong: dev pointing at prod's database, no DEV_MODE, a moving tag, a unit that would recreate the old container", () => {
        const plan = planAdoption({ environment: "dev", containers: handMadeDev, units: [{ file: "container-seaser-postgres-dev.service", ours: false }] }, dev, true);
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
                environment: "prod", units: [],
                containers: [{ name: "seaser-rezept-tagebuch", image, running: true, labels: {}, postgresHost: "seaser-postgres", mounts: [] }],
            }, prod, true);
            expect(plan.findings.join("\n")).toContain(`runs ${image}, a moving tag`);
        }
    });

    it("is safe to run again: what the stack made is left alone", () => {
        const ours = handMadeDev.map((c) => ({ ...c, labels: { "io.seaser.project": "rezept-tagebuch" } }));
        const plan = planAdoption({
            environment: "dev", containers: ours,
            units: unitsToLookFor(dev, true).map((file) => ({ file, ours: true })),
        }, dev, true);
        expect(plan).toMatchObject({ adopted: true, steps: [], problems: [], config: {} });
        expect(plan.findings).toEqual(["nothing to adopt: seaser-postgres-dev is the stack's own"]);
    });

    it("refuses a stopped database (no backup could be taken) and a bind-mounted data directory, saying how to fix each", () => {
        const plan = planAdoption({
            environment: "dev", units: [],
            containers: [{ ...handMadeDev[0], running: false, mounts: [{ source: "/srv/pg", destination: "/var/lib/postgresql/data" }] }],
        }, dev, true);
        expect(plan.problems).toEqual([
            expect.stringMatching(/^seaser-postgres-dev keeps \/var\/lib\/postgresql\/data in a bind mount \(\/srv\/pg\), not a volume; fix: /),
            "seaser-postgres-dev is stopped, so it cannot be backed up first; fix: podman start seaser-postgres-dev, then run this again",
        ]);
        expect(plan.steps).not.toContainEqual({ kind: "backup" });
    });

    it("on a host with nothing yet has nothing to do", () => {
        expect(planAdoption({ environment: "test", containers: [], units: [] }, environmentNames("test"), false))
            .toMatchObject({ adopted: true, steps: [], config: {} });
    });

    it("tells the program's own units by their first line", () => {
        const units = renderUnits({ environment: "dev", scope: "user", dbContainer: dev.dbContainer, appContainer: dev.appContainer, dbHealthTimeoutSeconds: 120 });
        for (const content of Object.values(units)) expect(content.startsWith(OUR_UNIT_MARK)).toBe(true);
        expect(Object.keys(units).sort()).toEqual(unitsToLookFor(dev, true).sort());
    });
});
