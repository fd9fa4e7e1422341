/**
 * Issue 21, "Measured, not asserted": what users behind a real nginx see during deploys and crashes.
 * On a host of its own, dev is deployed as this program deploys it, and nginx (Debian's package) runs
 * on the proxy network with the README's configuration (e2e/proxy.ts). A poller asks dev's
 * /api/recipes (which needs the database) through nginx, by nginx's address, every 100 ms, each
 * request started on time whether or not the one before has answered, while, in each run:
 * an app-only deploy (appImage v1.0.0 -> v1.0.1), its rollback, a database-only deploy (a new image
 * id), a kill -9 of the app, and a kill -9 of the database. A benchmark (`npm run bench`), not part of
 * .ci/run: writes `figures` (and `deploys` with each run) into reports/bench.json. E2E_BENCH_RUNS sets
 * the number of runs (3). On the Debian 12 host, then on the Debian 13 host, whose figures have the
 * suffix `@debian-13` (E2E_BENCH_DISTRIBUTIONS=debian-13 measures on one only).
 * Every deploy is `npm run stack -- up` on the host through the real Pulumi engine (e2e/pulumi.ts), and
 * what the operator waits for is measured too (issue 29): a no-op `up` of prod (with its preview, as
 * `--yes` runs it) and an app-only deploy from the command to the new version answering through nginx,
 * with where the time goes (the engine's events: CLI start, program, steps).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environmentNames } from "../lib/environments";
import { Outage } from "./bootPoll";
import { CheckoutStacks, engineEvents, pulumiToolsDir } from "./pulumi";
import { Distribution, SystemdHost } from "./host";
import { pollDuring, proxyBody, proxyStatus, startProxy, watchName } from "./proxy";
import { benchFigure, mergeBenchReport } from "./report";
import { IMAGES, POSTGRES_NEXT, stackConfig } from "./stacks";
import { now, round, waitFor } from "./wait";

const RUNS = Number(process.env.E2E_BENCH_RUNS ?? 3);
const POLLER = "rt-nginx-poller";
/** dev's location in the README's nginx block. */
const PATH = "/rezept-tagebuch-dev/api/recipes";
/** A database image with an id of its own (the e2e tags of an image share its id, and a container runs the id). */
const DB_IMAGE_NEXT = IMAGES.postgresNext;

type Measured = Outage & { readonly work_s: number; readonly to_answering_s?: number | null; readonly name_without_address?: number; readonly to_new_version_s?: number };
/** Where a `pulumi up`'s wall time goes, from its engine events (seconds from the command's start; the events carry whole seconds). */
interface UpTime { readonly total_s: number; readonly first_event_s: number; readonly program_s: number; readonly steps_s: number; readonly summary_s: number }
interface Run {
    readonly noop_up: UpTime;
    readonly app_deploy: Measured;
    readonly rollback: Measured;
    readonly db_deploy: Measured;
    readonly crash_app: Measured;
    readonly crash_db: Measured;
}

const DISTRIBUTIONS = (process.env.E2E_BENCH_DISTRIBUTIONS ?? "debian-12,debian-13").split(",") as Distribution[];

for (const distribution of DISTRIBUTIONS) describe(`deploys and crashes through nginx (issue 21), ${distribution}`, () => {
    const suffix = distribution === "debian-12" ? "" : `@${distribution}`;
    let host!: SystemdHost;
    const { appContainer, dbContainer } = environmentNames("dev");
    const runs: Run[] = [];
    let stacks!: CheckoutStacks;
    let nginxVersion = "";
    let target = "";
    let dbImage: string = IMAGES.postgres;

    const through = <T>(work: () => Promise<T>) => pollDuring(host, POLLER, IMAGES.app, target, work);

    /** A deploy of dev with `change`, with what the poller saw and whether the name ever had no address. */
    async function measureDeploy(change: Record<string, string>, replaced: string): Promise<Measured> {
        const watch = watchName(host, appContainer);
        let servingAt = 0;
        const { outage, work_s, result, started_at } = await through(async () => {
            const done = stacks.up("dev", stackConfig("dev", { dbImage, ...change }));
            // The new version answering through nginx: what the operator waits for after the command.
            const version = (change.appImage ?? "").split(":").pop();
            await waitFor(`${version} answering through nginx`, () => proxyBody(host, "/rezept-tagebuch-dev/api/version").includes(`"${version}"`), 120, 100);
            servingAt = now();
            return done;
        });
        const names = watch.stop();
        // Only what the change replaces: a database deploy keeps the app container.
        expect(result.steps.filter((step) => step.startsWith("replace Container")).map((step) => step.split(" ").pop())).toEqual([replaced]);
        return { ...outage, work_s, to_new_version_s: round(servingAt - started_at), name_without_address: names.without_address };
    }

    /** A no-op `npm run stack -- up prod --yes` (its preview, then the update), and where its time goes. */
    function measureNoop(): UpTime {
        const startedAt = now();
        const result = stacks.stack(["up", "prod", "--yes", "--json"]);
        const total = now() - startedAt;
        expect(result.status, result.stdout.slice(-2000)).toBe(0);
        const events = engineEvents(result.stdout);
        const at = (kind: string) => (events.find((e) => kind in e)?.timestamp ?? NaN) - startedAt;
        const steps = events.filter((e) => "resourcePreEvent" in e);
        const summary = events.filter((e) => "summaryEvent" in e).pop()!;
        expect(summary.summaryEvent.resourceChanges, "a no-op up changes nothing").not.toHaveProperty("update");
        return {
            total_s: round(total), first_event_s: round(at("policyLoadEvent")), program_s: round(at("preludeEvent")),
            steps_s: round((steps.at(-1)?.timestamp ?? NaN) - (steps[0]?.timestamp ?? NaN)), summary_s: round(summary.timestamp - startedAt),
        };
    }

    /** A kill -9 of `container`'s main process, and the seconds from it to the first 200 through nginx. */
    async function measureCrash(container: string): Promise<Measured> {
        let killedAt = 0;
        const { outage, work_s, started_at } = await through(async () => {
            const pid = host.must(["podman", "inspect", "--format", "{{.State.Pid}}", container]).trim();
            killedAt = now();
            // As root: the container's processes run under a subordinate uid.
            host.asRoot(["kill", "-9", pid]);
            await waitFor(`${container} running again`, () => host.must(["podman", "inspect", "--format", "{{.State.Pid}}", container]).trim() !== pid, 120, 100);
        });
        const back = outage.back_at ?? null;
        return { ...outage, work_s, to_answering_s: back === null ? null : round(back - Math.max(killedAt, started_at)) };
    }

    beforeAll(async () => {
        // A host of its own, as e2e/baselines.bench.ts has: the files run one after another.
        host = SystemdHost.create(`${process.env.E2E_HOST ?? "rt-e2e-host"}-d${distribution === "debian-12" ? "" : distribution.replace("debian-", "")}`, distribution);
        host.boot(pulumiToolsDir()); // seaser-network: made by the README's host block
        host.importImages({ postgres: [IMAGES.postgres], app: [IMAGES.app, IMAGES.appNext], nginx: [IMAGES.nginx] });
        host.buildImage(DB_IMAGE_NEXT, POSTGRES_NEXT);
        stacks = CheckoutStacks.install(host);
        stacks.up("dev", stackConfig("dev"));
        stacks.up("prod", stackConfig("prod"));
        const proxy = startProxy(host, IMAGES.nginx);
        nginxVersion = proxy.version;
        target = `http://${proxy.address}:80${PATH}`;
        await waitFor("dev answering 200 through nginx", () => proxyStatus(host, PATH) === "200", 180);
    }, 1_200_000);

    afterAll(() => {
        if (runs.length > 0) {
            const figure = (unit: "s" | "count", value: (r: Run) => number | null | undefined) => benchFigure(unit, runs.map((r, i) => {
                const v = value(r);
                if (v == null || !Number.isFinite(v)) throw new Error(`run ${i + 1} has no such figure (dev did not come back): ${JSON.stringify(r)}`);
                return v;
            }));
            const db = (r: Run) => r.db_deploy;
            mergeBenchReport({
                runs: runs.length,
                figures: Object.fromEntries(Object.entries({
                    app_deploy_failed_requests: figure("count", (r) => r.app_deploy.failed),
                    app_deploy_5xx: figure("count", (r) => r.app_deploy.answers_5xx),
                    rollback_failed_requests: figure("count", (r) => r.rollback.failed),
                    rollback_5xx: figure("count", (r) => r.rollback.answers_5xx),
                    db_deploy_outage_s: figure("s", (r) => db(r).outage_seconds.reduce<number>((sum, s) => sum + (s ?? Infinity), 0)),
                    db_deploy_outages: figure("count", (r) => db(r).outages),
                    crash_app_to_answering_s: figure("s", (r) => r.crash_app.to_answering_s),
                    crash_db_to_app_answering_s: figure("s", (r) => r.crash_db.to_answering_s),
                    noop_up_prod_s: figure("s", (r) => r.noop_up.total_s),
                    app_deploy_command_to_new_version_s: figure("s", (r) => r.app_deploy.to_new_version_s),
                }).map(([name, value]) => [`${name}${suffix}`, value])),
                [`deploys${suffix}`]: {
                    what: "dev's /api/recipes through nginx (by its address), a request started every 0.1 s (probe.py every, 5 s timeout), " +
                        "from the change's start to 8 s after the first 200 after it; name_without_address: samples (every 0.1 s) of netavark's " +
                        "aardvark-dns config in which the app's name had no container",
                    proxy: `nginx ${nginxVersion}, README.md's nginx block`,
                    host: `${host.name} (${distribution}: ${JSON.stringify(host.versions())})`,
                    runs: runs.map((run) => Object.fromEntries(Object.entries(run).map(([k, v]) => [k, { ...v, first_failed_at: undefined, back_at: undefined }]))),
                },
            });
        }
        if (!process.env.E2E_KEEP_HOST) host?.destroy();
    });

    for (let run = 1; run <= RUNS; run++) {
        it(`run ${run}: a no-op up, an app-only deploy, its rollback, a database deploy, and a crash of each container`, async () => {
            const noop_up = measureNoop();
            const app_deploy = await measureDeploy({ appImage: IMAGES.appNext }, "dev-app-container");
            const rollback = await measureDeploy({ appImage: IMAGES.app }, "dev-app-container");
            dbImage = dbImage === IMAGES.postgres ? DB_IMAGE_NEXT : IMAGES.postgres;
            const db_deploy = await measureDeploy({ appImage: IMAGES.app }, "dev-db-container");
            const crash_app = await measureCrash(appContainer);
            const crash_db = await measureCrash(dbContainer);
            runs.push({ noop_up, app_deploy, rollback, db_deploy, crash_app, crash_db });
            // Measured, not asserted: only that dev came back each time, so no figure is of a change that broke it.
            for (const [what, m] of Object.entries({ app_deploy, rollback, db_deploy, crash_app, crash_db })) {
                expect(m.outage_s, `${what} ${JSON.stringify(m.by_result)}`).not.toBeNull();
            }
        }, 900_000);
    }
});
