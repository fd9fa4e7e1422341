import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readScriptParams } from "../lib/hostScript";
import { ReadinessSpec, renderAppReadyScript, renderDatabaseReadyScript } from "../lib/readiness";
import { runProgram, TYPES, validConfig } from "./harness";

const spec = (over: Partial<ReadinessSpec> = {}): ReadinessSpec => ({
    environment: "dev", scope: "user", container: "seaser-postgres-dev", timeoutSeconds: 30,
    rollback: "npm run stack -- config dev set dbImage <the image before>", ...over,
});

/** Runs a rendered script against a stub podman: healthy from the `healthyAfter`-th check on, psql as told. */
function runAgainstStub(script: string, opts: { healthyAfter: number; psqlFails?: boolean }) {
    const dir = mkdtempSync(join(tmpdir(), "readiness-"));
    const log = join(dir, "calls.log");
    writeFileSync(join(dir, "podman"), [
        "#!/bin/sh",
        `echo "$*" >> "${log}"`,
        'case "$1" in',
        `  healthcheck) n=$(($(cat "${dir}/checks" 2>/dev/null || echo 0) + 1)); echo $n > "${dir}/checks"; [ $n -ge ${opts.healthyAfter} ] && exit 0; echo unhealthy; exit 1;;`,
        "  inspect) echo 'running, exit code 0';;",
        `  exec) cat > "${dir}/stdin"; exit ${opts.psqlFails ? 2 : 0};;`,
        "esac",
    ].join("\n"));
    chmodSync(join(dir, "podman"), 0o755);
    // The deploy window the deploy opened (host/health-deploy-window.sh).
    const window = join(dir, "home/.config/rezept-tagebuch/health-dev.deploying");
    mkdirSync(dirname(window), { recursive: true });
    writeFileSync(window, "until=9999999999\n");
    const started = Date.now();
    const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin`, HOME: join(dir, "home") }, timeout: 30_000 });
    return {
        ...result,
        seconds: (Date.now() - started) / 1000,
        calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [],
        stdin: existsSync(join(dir, "stdin")) ? readFileSync(join(dir, "stdin"), "utf8") : undefined,
        windowOpen: existsSync(window),
    };
}

describe("the health gate a deploy waits on", () => {
    it.each([
        ["database", renderDatabaseReadyScript(spec())],
        ["app", renderAppReadyScript(spec({ container: "seaser-rezept-tagebuch-dev" }))],
    ])("the %s script passes shellcheck", (_what, script) => {
        const result = spawnSync("shellcheck", ["--shell=sh", "-"], { input: script, encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    it("returns as soon as the healthcheck passes, polling every second rather than the healthcheck interval", () => {
        const result = runAgainstStub(renderAppReadyScript(spec({ container: "seaser-rezept-tagebuch-dev" })), { healthyAfter: 3 });
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("seaser-rezept-tagebuch-dev is healthy");
        expect(result.calls).toEqual(Array(3).fill("healthcheck run seaser-rezept-tagebuch-dev"));
        expect(result.seconds).toBeLessThan(4);
    });

    it("fails within its bound, naming the container, where to look and how to roll back", () => {
        const result = runAgainstStub(renderAppReadyScript(spec({ container: "seaser-rezept-tagebuch-dev", timeoutSeconds: 2 })), { healthyAfter: 1000 });
        expect(result.status).toBe(1);
        expect(result.seconds).toBeLessThan(5);
        // A check a second, not a busy loop on the host.
        expect(result.calls.filter((call) => call.startsWith("healthcheck")).length).toBeLessThanOrEqual(4);
        expect(result.stderr).toContain("seaser-rezept-tagebuch-dev did not pass its healthcheck within 2 s (it is running, exit code 0)");
        expect(result.stderr).toContain("podman logs --tail 50 seaser-rezept-tagebuch-dev");
        expect(result.stderr).toContain("journalctl --user -u container-seaser-rezept-tagebuch-dev.service");
        expect(result.stderr).toContain("roll back: npm run stack -- config dev set dbImage <the image before>");
    });

    it("names the system journal for systemdScope=system", () => {
        const result = runAgainstStub(renderAppReadyScript(spec({ scope: "system", timeoutSeconds: 1 })), { healthyAfter: 1000 });
        expect(result.stderr).toContain("journalctl -u container-seaser-postgres-dev.service");
    });
});

describe("the database's configured password", () => {
    it("is set once the database is healthy, from the container's own environment, over stdin", () => {
        const result = runAgainstStub(renderDatabaseReadyScript(spec()), { healthyAfter: 2 });
        expect(result.status).toBe(0);
        expect(result.calls.slice(0, 2)).toEqual(["healthcheck run seaser-postgres-dev", "healthcheck run seaser-postgres-dev"]);
        // psql inside the container; the user and password are read there, not put on this command line.
        expect(result.calls[2]).toBe(`exec -i seaser-postgres-dev sh -c exec psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres`);
        expect(result.stdin).toContain("\\getenv configured_password POSTGRES_PASSWORD");
        expect(result.stdin).toContain(`ALTER ROLE :"role" PASSWORD :'configured_password';`);
        // ...and the statement is kept out of the server's log.
        expect(result.stdin!.indexOf("SET log_min_error_statement = 'panic';")).toBeLessThan(result.stdin!.indexOf("ALTER ROLE"));
        expect(result.stdout).toContain("seaser-postgres-dev has the configured password");
    });

    it("is not attempted on a database that never became healthy", () => {
        const result = runAgainstStub(renderDatabaseReadyScript(spec({ timeoutSeconds: 1 })), { healthyAfter: 1000 });
        expect(result.status).toBe(1);
        expect(result.calls.some((call) => call.startsWith("exec"))).toBe(false);
    });

    it("fails the deploy, saying why, when it cannot be set", () => {
        const result = runAgainstStub(renderDatabaseReadyScript(spec()), { healthyAfter: 1, psqlFails: true });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("could not set the configured password in seaser-postgres-dev");
    });
});

describe("a failed gate closes the deploy window, so the health check pages for what the deploy left", () => {
    it.each([
        ["the app never healthy", renderAppReadyScript(spec({ container: "seaser-rezept-tagebuch-dev", timeoutSeconds: 1 })), { healthyAfter: 1000 }],
        ["the database's password not set", renderDatabaseReadyScript(spec()), { healthyAfter: 1, psqlFails: true }],
    ] as const)("%s", (_what, script, opts) => {
        const result = runAgainstStub(script, opts);
        expect(result.status).toBe(1);
        expect(result.windowOpen).toBe(false);
    });

    it("a gate that passes leaves it open: the deploy goes on", () => {
        const result = runAgainstStub(renderDatabaseReadyScript(spec()), { healthyAfter: 1 });
        expect(result.status).toBe(0);
        expect(result.windowOpen).toBe(true);
    });
});

describe("the program's gates", () => {
    it("wait as long as deployTimeoutSeconds says, for the database and the app", async () => {
        const run = await runProgram("dev", { ...validConfig("dev"), deployTimeoutSeconds: "45" });
        for (const gate of ["dev-db-ready", "dev-app-ready"]) {
            expect(readScriptParams(run.find(TYPES.localCommand, gate).inputs.create).timeout_seconds).toBe("45");
        }
    });
});
