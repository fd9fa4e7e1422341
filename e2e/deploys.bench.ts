/**
 * Issue 21, "Measured, not asserted": what users behind a real nginx see during today's deploys, the
 * figures the zero-downtime work is compared against. On a host of its own, dev is deployed as this
 * program deploys it, and nginx (Debian's package) runs on the proxy network `seaser-network` with the
 * README's configuration. A poller asks dev's app through nginx (by its address) every 100 ms, each request started on
 * time whether or not the one before has answered, while an app-only deploy (appImage v1.0.0 -> v1.0.1)
 * and a rollback (back) run. A benchmark (`npm run bench`), not part of .ci/run: writes `figures` into
 * reports/bench.json. E2E_BENCH_RUNS sets the number of runs (3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environmentNames } from "../lib/environments";
import { Outage, parsePollLines, summarizeOutage } from "./bootPoll";
import { deploy, Deployment } from "./deploy";
import { SystemdHost, USER } from "./host";
import { proxySite, readmeProxyConfig } from "./proxy";
import { benchFigure, mergeBenchReport } from "./report";
import { IMAGES, stackConfig } from "./stacks";
import { now, round, sleep, waitFor } from "./wait";

const RUNS = Number(process.env.E2E_BENCH_RUNS ?? 3);
const PROXY = "rt-nginx";
const POLLER = "rt-nginx-poller";
const PROXY_NETWORK = "seaser-network";
/** dev's location in the README's nginx block; /api/recipes needs the database. */
const PATH = "/rezept-tagebuch-dev/api/recipes";
/** After the first 200 through nginx, how long the poller goes on: long enough to see a second outage (the unit's RestartSec is 5 s). */
const AFTER_BACK_S = 8;

interface Change extends Outage {
    readonly deploy_s: number;
    readonly first_failed_s: number | null;
    readonly back_s: number | null;
}

describe("deploys through nginx, as they are today (issue 21)", () => {
    // A host of its own, as e2e/baselines.bench.ts has: the files run one after another.
    const host = SystemdHost.create(`${process.env.E2E_HOST ?? "rt-e2e-host"}-d`);
    const { appContainer } = environmentNames("dev");
    const runs: { deploy: Change; rollback: Change }[] = [];
    let deployed: Deployment;
    let nginxVersion = "";
    /**
     * nginx by its address, as users reach a proxy (not through aardvark-dns): asked by name, the
     * poller's own lookups failed for 40 s and more during a deploy (run A, 2026-12-01: 407 and 338
     * "unresolved"), which is the poller's failure, not one nginx served.
     */
    let target = "";

    const throughProxy = () => host.exec(["podman", "exec", PROXY, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
        `http://127.0.0.1:80${PATH}`]).stdout.trim();

    /** nginx with the README's site, seaser-network's gateway as its resolver, on that network by itself. */
    function startProxy(): void {
        const gateway = host.must(["podman", "network", "inspect", PROXY_NETWORK, "--format", "{{range .Subnets}}{{.Gateway}}{{end}}"]).trim();
        host.must(["sh", "-c", `cat > ${USER.home}/nginx-site.conf`], { input: proxySite(readmeProxyConfig(), gateway) });
        host.must(["podman", "run", "-d", "--name", PROXY, "--network", PROXY_NETWORK,
            "--volume", `${USER.home}/nginx-site.conf:/etc/nginx/sites-enabled/default:ro`, IMAGES.nginx]);
        const address = host.must(["podman", "inspect", PROXY, "--format", `{{(index .NetworkSettings.Networks "${PROXY_NETWORK}").IPAddress}}`]).trim();
        target = `http://${address}:80${PATH}`;
        // nginx -v writes its version to stderr.
        nginxVersion = host.exec(["podman", "exec", PROXY, "nginx", "-v"]).stderr.trim().replace(/^nginx version: /, "");
    }

    /** Deploys dev with `appImage` while the poller asks through nginx; what it saw from the deploy's start on. */
    async function measure(appImage: string): Promise<Change> {
        host.exec(["podman", "rm", "-f", "-t", "0", POLLER]);
        host.must(["podman", "run", "-d", "--name", POLLER, "--network", PROXY_NETWORK, IMAGES.app,
            "python3", "/usr/local/lib/probe.py", "every", String(now() + 900), "0.1", target], { timeoutMs: 180_000 });
        const lines = () => parsePollLines(host.exec(["podman", "logs", POLLER]).stdout);
        await waitFor("the poller getting 200s through nginx", () => lines().some((l) => l.r === "200"), 60);
        const changeAt = now();
        deployed = await deploy(host, "dev", stackConfig("dev", { appImage }), deployed);
        const deployedAt = now();
        await waitFor("the poller getting 200s through nginx after the deploy", () => lines().some((l) => l.r === "200" && l.t > deployedAt), 120);
        await sleep(AFTER_BACK_S * 1000);
        host.must(["podman", "kill", POLLER]);
        const outage = summarizeOutage(parsePollLines(host.must(["podman", "logs", POLLER])), target, changeAt);
        host.must(["podman", "rm", "-f", POLLER]);
        const at = (t: number | null) => (t === null ? null : round(t - changeAt));
        return { ...outage, deploy_s: round(deployedAt - changeAt), first_failed_s: at(outage.first_failed_at), back_s: at(outage.back_at) };
    }

    beforeAll(async () => {
        host.boot(); // seaser-network: made by the README's host block
        host.importImages({ postgres: [IMAGES.postgres], app: [IMAGES.app, IMAGES.appNext], nginx: [IMAGES.nginx] });
        deployed = await deploy(host, "dev", stackConfig("dev"));
        await waitFor("dev's app answering", () => host.exec(["podman", "exec", appContainer, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
            "http://127.0.0.1:80/api/recipes"]).stdout.trim() === "200", 180);
        startProxy();
        await waitFor("dev answering 200 through nginx", () => throughProxy() === "200", 60);
    }, 1_200_000);

    afterAll(() => {
        if (runs.length > 0) {
            const figure = (values: (c: { deploy: Change; rollback: Change }) => number) => benchFigure("count", runs.map(values));
            mergeBenchReport({
                runs: runs.length,
                figures: {
                    app_deploy_failed_requests: figure((r) => r.deploy.failed),
                    app_deploy_5xx: figure((r) => r.deploy.answers_5xx),
                    rollback_failed_requests: figure((r) => r.rollback.failed),
                    rollback_5xx: figure((r) => r.rollback.answers_5xx),
                },
                deploys: {
                    what: "dev's /api/recipes through nginx (by its address), a request started every 0.1 s (probe.py every), from the deploy's start to 8 s after the first 200 after it",
                    proxy: `nginx ${nginxVersion}, README.md's nginx block`,
                    host: host.name,
                    runs: runs.map(({ deploy: d, rollback: r }) => ({
                        deploy: { ...d, first_failed_at: undefined, back_at: undefined },
                        rollback: { ...r, first_failed_at: undefined, back_at: undefined },
                    })),
                },
            });
        }
        if (!process.env.E2E_KEEP_HOST) host.destroy();
    });

    for (let run = 1; run <= RUNS; run++) {
        it(`run ${run}: an app-only deploy and its rollback`, async () => {
            const deployChange = await measure(IMAGES.appNext);
            const rollback = await measure(IMAGES.app);
            runs.push({ deploy: deployChange, rollback });
            // Measured, not asserted: only that each came back, so a figure is never of a deploy that broke dev.
            expect(deployChange.outage_s, `deploy ${JSON.stringify(deployChange.by_result)}`).not.toBeNull();
            expect(rollback.outage_s, `rollback ${JSON.stringify(rollback.by_result)}`).not.toBeNull();
        }, 900_000);
    }
});
