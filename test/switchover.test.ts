import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAppReadyScript } from "../lib/readiness";
import { renderStandbyRemoval, renderStandbyScript, standbyName, SwitchoverSpec } from "../lib/switchover";

const spec: SwitchoverSpec = {
    environment: "dev", container: "seaser-rezept-tagebuch-dev", proxyNetwork: "seaser-network",
    probe: "curl -fsS -o /dev/null http://127.0.0.1:80/api/version", timeoutSeconds: 2,
};
const APP = spec.container;
const STANDBY = standbyName(APP);

interface Host {
    /** Containers that exist, with whether they run and answer. */
    readonly containers: Record<string, { running: boolean; answers: boolean; networks?: string[] }>;
    /** A clone that never answers. */
    readonly cloneAnswers?: boolean;
}

/**
 * Runs a rendered script against a stub podman that keeps its containers in files: `container exists`,
 * `inspect` (running, networks), `exec` (the probe answers or not), `container clone`, `network
 * connect/disconnect`, `start`, `rm`. Returns the calls and what exists afterwards.
 */
function runOn(script: string, host: Host) {
    const dir = mkdtempSync(join(tmpdir(), "switchover-"));
    const state = join(dir, "state");
    writeFileSync(state, JSON.stringify(host.containers));
    writeFileSync(join(dir, "podman"), `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(join(dir, "calls.log"))}, args.join(" ") + "\\n");
const s = JSON.parse(fs.readFileSync(${JSON.stringify(state)}, "utf8"));
const save = () => fs.writeFileSync(${JSON.stringify(state)}, JSON.stringify(s));
const last = args[args.length - 1];
if (args[0] === "container" && args[1] === "exists") process.exit(s[last] ? 0 : 1);
if (args[0] === "container" && args[1] === "clone") { s[args[3]] = { running: false, answers: ${host.cloneAnswers ?? true}, networks: [...(s[args[2]].networks ?? [])] }; save(); process.exit(0); }
if (args[0] === "inspect") {
  const c = s[last]; if (!c) process.exit(125);
  const format = args[args.indexOf("--format") + 1];
  console.log(format.includes("Running") ? String(c.running) : (c.networks ?? []).join(" ") + " "); process.exit(0);
}
if (args[0] === "exec") process.exit(s[args[1]] && s[args[1]].running && s[args[1]].answers ? 0 : 1);
if (args[0] === "network") {
  // As Podman: a disconnect from a network the container is not on, or a second connect, fails (exit 125).
  const c = s[last]; const net = args[args.length - 2]; const on = (c.networks ?? []).includes(net);
  if (args[1] === "disconnect" && !on) { console.error("Error: container " + last + " is not connected to network " + net); process.exit(125); }
  if (args[1] === "connect" && on) { console.error("Error: container " + last + " is already connected to network " + net); process.exit(125); }
  c.networks = (c.networks ?? []).filter((n) => n !== net); if (args[1] === "connect") c.networks.push(net); save(); process.exit(0);
}
if (args[0] === "start") { s[last].running = true; save(); process.exit(0); }
if (args[0] === "rm") { delete s[last]; save(); process.exit(0); }
process.exit(3);
`);
    chmodSync(join(dir, "podman"), 0o755);
    const started = Date.now();
    const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` }, timeout: 30_000 });
    const log = join(dir, "calls.log");
    return {
        ...result,
        seconds: (Date.now() - started) / 1000,
        calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [],
        after: JSON.parse(readFileSync(state, "utf8")) as Host["containers"],
    };
}

describe("the standby that answers under the app's name while a deploy replaces it", () => {
    it.each([
        ["standby", renderStandbyScript(spec)],
        ["gate", renderAppReadyScript({ environment: "dev", scope: "user", container: APP, timeoutSeconds: 5, rollback: "x" }, spec)],
    ])("the %s script passes shellcheck", (_what, script) => {
        const result = spawnSync("shellcheck", ["--shell=sh", "-"], { input: script, encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    it("copies the answering app, gives the copy the app's name on the proxy network, and returns once it answers and the proxy can know it", () => {
        const run = runOn(renderStandbyScript(spec), { containers: { [APP]: { running: true, answers: true, networks: ["seaser-rezept-tagebuch-dev-internal", "seaser-network"] } } });
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls.filter((c) => !c.startsWith("exec") && !c.startsWith("inspect") && !c.startsWith("container exists"))).toEqual([
            `container clone ${APP} ${STANDBY}`,
            `network disconnect seaser-network ${STANDBY}`,
            `network connect --alias ${APP} seaser-network ${STANDBY}`,
            `start ${STANDBY}`,
        ]);
        // The probe runs inside the container, as the healthcheck does; the copy answered before the script ended.
        expect(run.calls).toContain(`exec ${STANDBY} sh -c ${spec.probe}`);
        expect(run.after[STANDBY]).toMatchObject({ running: true, networks: ["seaser-rezept-tagebuch-dev-internal", "seaser-network"] });
        // The proxy's cached answers (nginx valid=1s) have run out before the old container goes.
        expect(run.seconds).toBeGreaterThanOrEqual(3);
        expect(run.stdout).toContain(`${STANDBY} answers as ${APP} on seaser-network`);
    });

    it("also copies an app that never joined the proxy network (a deploy stopped before its gate): the copy joins it", () => {
        const run = runOn(renderStandbyScript(spec), { containers: { [APP]: { running: true, answers: true, networks: ["seaser-rezept-tagebuch-dev-internal"] } } });
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls.some((c) => c.startsWith("network disconnect"))).toBe(false);
        expect(run.after[STANDBY].networks).toEqual(["seaser-rezept-tagebuch-dev-internal", "seaser-network"]);
    });

    it("keeps a standby left by a failed deploy that still answers (the version before), rather than copying the failed app", () => {
        const run = runOn(renderStandbyScript(spec), { containers: { [APP]: { running: true, answers: false }, [STANDBY]: { running: true, answers: true } } });
        expect(run.status).toBe(0);
        expect(run.calls.some((c) => c.startsWith("container clone"))).toBe(false);
        expect(run.stdout).toContain("goes on answering");
    });

    it("replaces a standby that no longer answers, and copies nothing of an app that does not answer", () => {
        const run = runOn(renderStandbyScript(spec), { containers: { [APP]: { running: true, answers: false }, [STANDBY]: { running: false, answers: false } } });
        expect(run.status).toBe(0);
        expect(run.after[STANDBY]).toBeUndefined();
        expect(run.calls.some((c) => c.startsWith("container clone"))).toBe(false);
        expect(run.stdout).toContain("is not answering");
        // A first deploy: no app yet.
        expect(runOn(renderStandbyScript(spec), { containers: {} }).status).toBe(0);
    });

    it("stops the deploy before anything is replaced when the copy does not answer in time, and leaves no copy", () => {
        const run = runOn(renderStandbyScript(spec), { containers: { [APP]: { running: true, answers: true } }, cloneAnswers: false });
        expect(run.status).toBe(1);
        expect(run.after[STANDBY]).toBeUndefined();
        expect(run.after[APP]).toBeDefined();
        expect(run.stderr).toContain(`the standby copy of ${APP} did not answer within 2 s; nothing was replaced`);
    });
});

describe("the switch in the app's health gate", () => {
    const gate = renderAppReadyScript({ environment: "dev", scope: "user", container: APP, timeoutSeconds: 5, rollback: "x" }, spec);
    const healthyOnce = (script: string) => script.replace('until podman healthcheck run "$container"', 'until true');

    it("connects the healthy app to the proxy network, then stops the standby once the proxy can have looked the name up again", () => {
        const run = runOn(healthyOnce(gate), { containers: { [APP]: { running: true, answers: true, networks: ["seaser-rezept-tagebuch-dev-internal"] }, [STANDBY]: { running: true, answers: true } } });
        expect(run.status, run.stderr).toBe(0);
        const connect = run.calls.indexOf(`network connect seaser-network ${APP}`);
        const remove = run.calls.indexOf(`rm --force --time 30 ${STANDBY}`);
        expect(connect).toBeGreaterThanOrEqual(0);
        expect(remove).toBeGreaterThan(connect);
        expect(run.seconds).toBeGreaterThanOrEqual(3);
        expect(run.after[STANDBY]).toBeUndefined();
        expect(run.after[APP].networks).toContain("seaser-network");
    });

    it("is idempotent: an app already on the proxy network is not connected again, and without a standby it does not wait", () => {
        const run = runOn(healthyOnce(gate), { containers: { [APP]: { running: true, answers: true, networks: ["seaser-rezept-tagebuch-dev-internal", "seaser-network"] } } });
        expect(run.status).toBe(0);
        expect(run.calls.some((c) => c.startsWith("network connect"))).toBe(false);
        expect(run.seconds).toBeLessThan(2);
    });

    it("joins the proxy network only after the health gate passed", () => {
        const connectAt = gate.indexOf('podman network connect "$network" "$container"');
        expect(connectAt).toBeGreaterThan(gate.indexOf('echo "rezept-tagebuch: $container is healthy"'));
    });

    it("leaves no standby when the stack is removed", () => {
        const run = runOn(renderStandbyRemoval(spec), { containers: { [STANDBY]: { running: true, answers: true } } });
        expect(run.status).toBe(0);
        expect(run.after[STANDBY]).toBeUndefined();
    });
});
