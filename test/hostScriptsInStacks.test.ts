import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readScriptFiles } from "../lib/hostScript";
import { runProgram, TYPES, validConfig } from "./harness";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh";
const offsite = (env: string) => ({ offsiteRepository: `sftp:backup@backup.example:/srv/restic/rezept-${env}`, offsitePassword: `a-long-${env}-repository-password` });
const alerts = { alertCommand: "logger -t rezept 'alert: $(cat)'", alertWebhookUrl: "https://hooks.example/T0/abc", proxyUrl: "http://proxy.example/rezept-tagebuch/" };

/** Every stack, and the settings that switch scripts on: off-host backups with PITR, alerts, the proxy check, the system scope, SSH. */
const STACKS: [string, string, Record<string, string>][] = [
    ["prod", "prod", validConfig("prod")],
    ["dev", "dev", validConfig("dev")],
    ["test", "test", validConfig("test")],
    ["prod with off-host backups, PITR, alerts and the proxy check", "prod", { ...validConfig("prod"), ...offsite("prod"), ...alerts }],
    ["test with an app, in the system scope, with off-host backups and no PITR", "test", {
        ...validConfig("test"), appEnabled: "true", appImage: "localhost/seaser-rezept-tagebuch:rezept_version_12_11_2025_003", systemdScope: "system",
        offsiteRepository: "/mnt/usb/restic-test", offsitePassword: "a-long-test-repository-password", backupDir: "/srv/backups",
    }],
    ["dev over SSH, with PITR", "dev", {
        ...validConfig("dev"), ...offsite("dev"), pitr: "true", hostConnection: "ssh", sshHost: "10.88.0.7", sshUser: "seaser", sshHostKey: HOST_KEY,
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n-----END OPENSSH PRIVATE KEY-----\n", dockerHost: "ssh://seaser@10.88.0.7",
    }],
];

/** Every script of a stack: what each command resource runs, and the scripts the installers put on the host. */
const scripts = new Map<string, string>();

describe("every script of every stack, as rendered", () => {
    beforeAll(async () => {
        for (const [label, stack, config] of STACKS) {
            const run = await runProgram(stack, config);
            for (const command of [...run.ofType(TYPES.localCommand), ...run.ofType(TYPES.remoteCommand)]) {
                for (const step of ["create", "update", "delete"] as const) {
                    const script = command.inputs[step];
                    if (typeof script !== "string" || script === "true") continue;
                    scripts.set(`${label}: ${command.name} ${step}`, script);
                    if (step === "create") for (const [file, text] of Object.entries(readScriptFiles(script, "scripts"))) scripts.set(`${label}: ${file}`, text);
                }
            }
        }
    }, 120_000);

    it("are all there: the installed scripts of off-host backups and PITR too", () => {
        const names = [...scripts.keys()];
        for (const file of ["health-prod.sh", "health-prod-failed.sh", "backup-prod.sh", "restore-prod.sh", "offsite-prod.sh", "pitr-prod.sh", "pitr-wal-prod.sh", "pitr-base-prod.sh"]) {
            expect(names, file).toContain(`prod with off-host backups, PITR, alerts and the proxy check: ${file}`);
        }
        expect(names.length).toBeGreaterThan(80);
    });

    it("name nothing of the checkout that rendered them: nothing installed on the host depends on where Pulumi ran", () => {
        const checkout = join(__dirname, "..");
        for (const [name, script] of scripts) {
            expect(script, name).not.toContain(checkout);
            expect(script, name).not.toContain("dirname \"$0\")/lib/");
        }
    });

    it("each fit in one argument of sh -c with room to spare: Linux takes at most 128 KiB (MAX_ARG_STRLEN)", () => {
        // The unit installer carries every installed script; locally and over SSH its text is the one argument of `sh -c`.
        for (const [name, script] of scripts) expect(Buffer.byteLength(script), name).toBeLessThan(100 * 1024);
    });

    it("pass shellcheck", () => {
        const dir = mkdtempSync(join(tmpdir(), "stack-scripts-"));
        const files = [...scripts].map(([name, script], i) => {
            const file = join(dir, `${i}-${name.replace(/[^A-Za-z0-9.-]+/g, "_")}`);
            writeFileSync(file, script);
            return file;
        });
        const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", ...files], { encoding: "utf8" });
        expect(result.error, "shellcheck is missing: apt-get install shellcheck").toBeUndefined();
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });
});
