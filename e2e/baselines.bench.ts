/**
 * Issue 12: the boot of the same three environments under what operators use today,
 * against the stacks as this program deploys them, on one host of its own, in one run,
 * one setup after another. "Boot" is the moment the host container is started
 * (`podman start`, after a clean `podman stop`); a poller container on the reverse
 * proxy's network `seaser-network` (as the proxy sees the apps), the same in every
 * setup and no part of any, is started by the harness as soon as the host lets it,
 * and asks each app's /api/recipes (which needs the database) every 100 ms.
 * A benchmark (`npm run bench`), not part of .ci/run: writes `baselines` into reports/bench.json.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENVIRONMENTS, EnvironmentName, environmentNames, unitName } from "../lib/environments";
import { CheckoutStacks, pulumiToolsDir } from "./pulumi";
import { BootSummary, parsePollLines, summarizeBoot } from "./bootPoll";
import { must, SystemdHost, USER } from "./host";
import { benchFigure, mergeBenchReport } from "./report";
import { now, waitFor } from "./wait";
import { IMAGES, stackConfig } from "./stacks";

const SETUPS = ["status-quo", "podman-restart", "generate-systemd", "this-project"] as const;
type Setup = (typeof SETUPS)[number];
const BASELINES = SETUPS.filter((s) => s !== "this-project");

/** Seconds after boot in which answers are counted; the poller goes on (up to POLL_S) only to find a late first 200. */
const WINDOW_S = 30;
const POLL_S = 120;
const POLLER = "rt-boot-poller";
const UNIT_DIR = `${USER.home}/.config/systemd/user`;
const APP_ENVS = ["prod", "dev"] as const;
const url = (env: EnvironmentName) => `http://${environmentNames(env).appContainer}:80/api/recipes`;

/** Boots of podman-restart and of this project, one after the other per run, for the same-run ratio (issue 21); the others boot once. */
const BOOTS = Number(process.env.E2E_BENCH_RUNS ?? 3);
const REPEATED: readonly Setup[] = ["podman-restart", "this-project"];

const results: Partial<Record<Setup, BootSummary & { setup_s: number }>> = {};
/** Every boot of the repeated setups, in order. */
const boots: Partial<Record<Setup, BootSummary[]>> = {};

describe("boot against what operators use today (issue 12)", () => {
    // A host of its own: the main suite's host is left as it is; the files run one after another.
    const host = SystemdHost.create(`${process.env.E2E_HOST ?? "rt-e2e-host"}-b`);
    const apps = Object.fromEntries(APP_ENVS.map((env) => [environmentNames(env).appContainer, url(env)]));
    const answers200 = (env: EnvironmentName) => host.exec(["podman", "exec", environmentNames(env).appContainer,
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:80/api/recipes"]).stdout.trim() === "200";

    /** The user's systemd has finished starting (or gave up on) what it starts. */
    const settled = () => ["running", "degraded"].includes(host.exec(["systemctl", "--user", "is-system-running"]).stdout.trim());

    /**
     * Each environment's password, as the incident's `.env` held it, in a file of the user's
     * (0600) that `podman run --env-file` reads: on no command line and in no unit.
     */
    function writeEnvFiles(): void {
        for (const env of ENVIRONMENTS) {
            host.must(["sh", "-c", `umask 077; cat > ${USER.home}/.env-${env}`], { input: `POSTGRES_PASSWORD=e2e-${env}-password\n` });
        }
    }

    /** The incident report's `podman run` commands (dev already corrected to its own database), one network, no units. */
    function runAsInTheReport(restart: boolean): void {
        const policy = restart ? ["--restart=always"] : [];
        for (const env of ENVIRONMENTS) {
            const n = environmentNames(env);
            host.must(["podman", "run", "-d", "--name", n.dbContainer, "--network", "seaser-network", ...policy,
                "--env", "POSTGRES_USER=postgres", "--env", `POSTGRES_DB=${n.dbName}`, "--env-file", `${USER.home}/.env-${env}`,
                "--volume", `${n.dbVolume}:/var/lib/postgresql/data`, IMAGES.postgres], { timeoutMs: 300_000 });
        }
        for (const env of APP_ENVS) {
            const n = environmentNames(env);
            host.must(["podman", "run", "-d", "--name", n.appContainer, "--network", "seaser-network", ...policy,
                "--env", "APP_VERSION=v1.0.0", "--env", "DB_TYPE=postgresql", ...(env === "dev" ? ["--env", "DEV_MODE=true"] : []),
                "--env", `POSTGRES_HOST=${n.dbContainer}`, "--env", "POSTGRES_PORT=5432", "--env", `POSTGRES_DB=${n.dbName}`,
                "--env", "POSTGRES_USER=postgres", "--env-file", `${USER.home}/.env-${env}`,
                "--volume", `${n.appVolume}:/data:Z`, IMAGES.app], { timeoutMs: 300_000 });
        }
    }

    /** The report's plan: `podman generate systemd --new` for every container, the app units After=/Requires= their database. */
    function generateSystemdUnits(): void {
        const containers = ENVIRONMENTS.flatMap((env) => env === "test" ? [environmentNames(env).dbContainer] : [environmentNames(env).dbContainer, environmentNames(env).appContainer]);
        host.must(["mkdir", "-p", UNIT_DIR]);
        for (const container of containers) {
            host.must(["sh", "-c", `podman generate systemd --new --name ${container} > ${UNIT_DIR}/${unitName(container)}`]);
        }
        for (const env of APP_ENVS) {
            const n = environmentNames(env);
            const db = unitName(n.dbContainer);
            host.must(["sed", "-i", `/^\\[Unit\\]/a After=${db}\\nRequires=${db}`, `${UNIT_DIR}/${unitName(n.appContainer)}`]);
        }
        host.must(["systemctl", "--user", "daemon-reload"]);
        // As the report says: enable and start; the units recreate the containers (--new).
        for (const container of containers) host.must(["systemctl", "--user", "enable", "--now", unitName(container)], { timeoutMs: 300_000 });
    }

    /** Leaves the host as the setup found it: no units of the baselines, no containers, no volumes. */
    function clearSetup(): void {
        host.exec(["systemctl", "--user", "disable", "podman-restart.service"]);
        const units = host.exec(["sh", "-c", `ls ${UNIT_DIR} 2>/dev/null | grep '^container-.*\\.service$'`]).stdout.split("\n").filter(Boolean);
        for (const unit of units) host.exec(["systemctl", "--user", "disable", "--now", unit], { timeoutMs: 120_000 });
        if (units.length > 0) host.must(["sh", "-c", `cd ${UNIT_DIR} && rm -f ${units.join(" ")} && systemctl --user daemon-reload`]);
        host.must(["podman", "rm", "--all", "--force", "--time", "5"], { timeoutMs: 300_000 });
        host.must(["podman", "volume", "prune", "--force"], { timeoutMs: 300_000 });
    }

    /** Stops the host cleanly, boots it, starts the poller as soon as the user's podman can, and sums what it saw. */
    async function bootAndPoll(): Promise<BootSummary> {
        // The end of the poll is known only at boot: the poller reads it from a file the harness writes then.
        const untilFile = join(host.root, USER.home, "poll-until");
        writeFileSync(untilFile, "0\n");
        // The poller of the boot before, if any: each boot has its own.
        host.exec(["podman", "rm", "--force", "--time", "0", POLLER]);
        host.must(["podman", "create", "--name", POLLER, "--network", "seaser-network", "--volume", `${USER.home}/poll-until:/poll-until:ro`,
            "--entrypoint", "/bin/sh", IMAGES.app, "-c", `exec python3 /usr/local/lib/probe.py poll "$(cat /poll-until)" 0.1 ${Object.values(apps).join(" ")}`]);
        must("podman", ["stop", "-t", "120", host.name], { timeoutMs: 180_000 });
        const bootedAt = now();
        // Written while the host is down: its root file system is a directory of this machine.
        writeFileSync(untilFile, `${bootedAt + WINDOW_S},${bootedAt + POLL_S}\n`);
        must("podman", ["start", host.name]);
        await waitFor("the poller to start", () => host.exec(["podman", "start", POLLER]).status === 0, 60);
        await waitFor("the poller to finish", () => host.exec(["podman", "inspect", "--format", "{{.State.Status}}", POLLER]).stdout.trim() === "exited", POLL_S + 60);
        const lines = parsePollLines(host.must(["podman", "logs", POLLER]));
        await waitFor("the user's systemd to settle", settled, 120);
        return summarizeBoot(lines, apps, bootedAt, WINDOW_S);
    }

    beforeAll(() => {
        host.boot(pulumiToolsDir());
        host.importImages({ postgres: [IMAGES.postgres], app: [IMAGES.app] });
        writeEnvFiles(); // seaser-network: made by the README's host block in boot()
    }, 1_200_000);

    afterAll(() => {
        const ours = results["this-project"];
        const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : Math.round((a / b) * 100) / 100);
        const ratios = Object.fromEntries(BASELINES.filter((b) => results[b] && ours).map((b) => {
            const base = results[b]!;
            const sum = (s: BootSummary, key: "answers_5xx" | "not_up") => Object.values(s.apps).reduce((total, a) => total + a[key], 0);
            return [b, {
                boot_to_all_apps_200: ratio(ours!.boot_to_all_apps_200_s, base.boot_to_all_apps_200_s),
                answers_5xx: ratio(sum(ours!, "answers_5xx"), sum(base, "answers_5xx")),
                not_up: ratio(sum(ours!, "not_up"), sum(base, "not_up")),
            }];
        }));
        // Run i of this project against run i of podman-restart: the same machine, minutes apart.
        const mine = (boots["this-project"] ?? []).map((b) => b.boot_to_all_apps_200_s);
        const theirs = (boots["podman-restart"] ?? []).map((b) => b.boot_to_all_apps_200_s);
        const paired = mine.map((m, i) => ratio(m, theirs[i])).filter((r): r is number => r !== null);
        const figures = mine.length > 0 && mine.every((m) => m !== null) && paired.length === mine.length ? {
            boot_to_all_apps_200_s: benchFigure("s", mine as number[]),
            boot_ratio_to_podman_restart: benchFigure("ratio", paired),
            podman_restart_boot_to_all_apps_200_s: benchFigure("s", theirs as number[]),
        } : undefined;
        mergeBenchReport({
            ...(figures ? { runs: paired.length, figures } : {}),
            baselines: {
                boot: "host container start (podman start), after a clean stop",
                window_s: WINDOW_S, poll_interval_s: 0.1, host: host.name,
                setups: results,
                boots_of: Object.fromEntries(Object.entries(boots).map(([setup, all]) => [setup, all!.map((b) => b.boot_to_all_apps_200_s)])),
                ratios_this_project_to: ratios,
            },
        });
        if (!process.env.E2E_KEEP_HOST) host.destroy();
    });

    const measure = (setup: Setup, prepare: () => Promise<void>, check: (summary: BootSummary) => void) => it(setup, async () => {
        const startedAt = now();
        try {
            await prepare();
            // Every setup boots with its databases initialised and its apps having served once.
            await waitFor(`${setup}: every app answering before the reboot`, () => APP_ENVS.every(answers200), 180);
            const setupS = Math.round((now() - startedAt) * 100) / 100;
            for (let boot = 1; boot <= (REPEATED.includes(setup) ? BOOTS : 1); boot++) {
                const summary = await bootAndPoll();
                results[setup] = { ...summary, setup_s: setupS };
                (boots[setup] ??= []).push(summary);
                // The poller ran through the window in every setup, so the counts are comparable.
                expect(summary.poller_last_request_s, `${setup}: the poller's last request`).toBeGreaterThanOrEqual(WINDOW_S - 1);
                check(summary);
            }
        } finally {
            // The next setup starts from a host without this one's containers, units and volumes.
            if (setup !== "this-project") clearSetup();
        }
    }, 1_800_000);

    measure("status-quo", async () => runAsInTheReport(false), () => undefined);
    measure("podman-restart", async () => {
        runAsInTheReport(true);
        host.must(["systemctl", "--user", "enable", "podman-restart.service"]);
    }, () => undefined);
    measure("generate-systemd", async () => {
        runAsInTheReport(false);
        generateSystemdUnits();
    }, () => undefined);
    measure("this-project", async () => {
        // Deployed as the operator does: `npm run stack -- up <env>` on the host, through the real engine.
        const stacks = CheckoutStacks.install(host);
        for (const env of ENVIRONMENTS) stacks.up(env, stackConfig(env));
    }, (summary) => {
        for (const [app, seen] of Object.entries(summary.apps)) {
            expect(seen.first_ok_s, `${app} answered 200 after boot`).not.toBeNull();
            expect(seen.answers_5xx, `${app}: 5xx answers after boot ${JSON.stringify(seen.by_result)}`).toBe(0);
            expect(seen.failed_after_first_ok, `${app}: failed requests after its first 200 ${JSON.stringify(seen.by_result)}`).toBe(0);
        }
    });
});
