/**
 * The e2e fixture's command.remote and ssh:// dockerHost (e2e/deploy.ts), without a host: the
 * OpenSSH arguments it runs, read back by the real client (`ssh -G`), and a stand-in `ssh` on
 * PATH that records what it was given. A real sshd refusing a wrong host key is the e2e
 * scenario `ssh-deploy`'s (no sshd on this machine).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { knownHostsLine } from "../lib/config";
import { dialStdioArgs, plan, REMOTE_COMMAND_INPUTS, remoteCommandArgs, runRemoteScript, sshConnection } from "../e2e/deploy";
import { Registered, runProgram, TYPES, validConfig } from "./harness";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material-not-for-argv\n-----END OPENSSH PRIVATE KEY-----\n";
/** As the program's connection reaches the provider, with the SDK's defaults (dialErrorLimit, perDialTimeout). */
const connection = { host: "10.88.0.7", user: "seaser", port: 2222, privateKey: PRIVATE_KEY, hostKey: HOST_KEY, dialErrorLimit: 10, perDialTimeout: 15 };

/** `ssh -G`: the configuration the real client would connect with, as "keyword value" lines. */
function effectiveConfig(args: string[]): Map<string, string[]> {
    const result = spawnSync("ssh", ["-G", ...args], { encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(result.status, result.stderr).toBe(0);
    const config = new Map<string, string[]>();
    for (const line of result.stdout.split("\n").filter(Boolean)) {
        const [keyword, ...value] = line.split(" ");
        config.set(keyword, [...(config.get(keyword) ?? []), value.join(" ")]);
    }
    return config;
}

describe("the fixture's command.remote: pulumi-command's SSH session, over OpenSSH", () => {
    it("is read by the real client as strict: only the pinned host key, never asking, only the given key, no config, no agent", () => {
        const folder = mkdtempSync(join(tmpdir(), "ssh-fixture-args-"));
        // ssh -G leaves out an identity file that does not exist.
        const files = { knownHosts: join(folder, "known_hosts"), identity: join(folder, "id") };
        writeFileSync(files.identity, PRIVATE_KEY, { mode: 0o600 });
        const config = effectiveConfig(remoteCommandArgs(sshConnection(connection), files, "echo hi"));
        expect(Object.fromEntries(["hostname", "port", "user", "stricthostkeychecking", "batchmode", "identitiesonly", "identityagent",
            "hostkeyalgorithms", "userknownhostsfile", "globalknownhostsfile", "updatehostkeys", "connecttimeout", "preferredauthentications"]
            .map((keyword) => [keyword, config.get(keyword)?.join(",")]))).toEqual({
            hostname: "10.88.0.7", port: "2222", user: "seaser", stricthostkeychecking: "true", batchmode: "yes", identitiesonly: "yes",
            identityagent: "none", hostkeyalgorithms: "ssh-ed25519", userknownhostsfile: files.knownHosts, globalknownhostsfile: "/dev/null",
            updatehostkeys: "false", connecttimeout: "15", preferredauthentications: "publickey",
        });
        expect(config.get("identityfile")).toContain(files.identity);
        rmSync(folder, { recursive: true });
    });

    it("pins the host key under the name OpenSSH looks up: the host, or [host]:port off port 22", () => {
        expect(knownHostsLine(sshConnection(connection))).toBe(`[10.88.0.7]:2222 ${HOST_KEY}\n`);
        expect(knownHostsLine(sshConnection({ ...connection, port: 22 }))).toBe(`10.88.0.7 ${HOST_KEY}\n`);
        // pulumi-command's defaults (connection.go:57, 61).
        expect(sshConnection({ host: "h", privateKey: PRIVATE_KEY, hostKey: HOST_KEY })).toMatchObject({ user: "root", port: 22, perDialTimeout: 15 });
    });

    describe("run by a stand-in ssh that records what it got", () => {
        let dir: string;
        let savedPath: string | undefined;
        const recorded = () => JSON.parse(readFileSync(join(dir, "record.json"), "utf8"));
        beforeEach(() => {
            dir = mkdtempSync(join(tmpdir(), "ssh-fixture-test-"));
            // Records its arguments, the mode and content of the files they name, stdin and its environment; exits with the status in ./status.
            writeFileSync(join(dir, "ssh"), [
                "#!/bin/sh",
                `out=${dir}/record.json`,
                'identity=""; known=""; prev=""',
                'for a in "$@"; do [ "$prev" = -i ] && identity=$a; case "$a" in UserKnownHostsFile=*) known=${a#UserKnownHostsFile=};; esac; prev=$a; done',
                'stdin=$(cat)',
                `node -e 'const fs = require("fs"); const [out, identity, known, stdin, ...args] = process.argv.slice(1); fs.writeFileSync(out, JSON.stringify({ args, identityMode: (fs.statSync(identity).mode & 0o777).toString(8), identityContent: fs.readFileSync(identity, "utf8"), identityDirMode: (fs.statSync(require("path").dirname(identity)).mode & 0o777).toString(8), knownHosts: fs.readFileSync(known, "utf8"), identity, stdin, env: process.env }))' "$out" "$identity" "$known" "$stdin" "$@"`,
                `exit "$(cat ${dir}/status 2>/dev/null || echo 0)"`,
            ].join("\n"));
            chmodSync(join(dir, "ssh"), 0o755);
            savedPath = process.env.PATH;
            process.env.PATH = `${dir}:${savedPath}`;
            process.env.SSH_AUTH_SOCK = "/run/agent.sock";
        });
        afterEach(() => {
            rmSync(dir, { recursive: true, force: true });
            process.env.PATH = savedPath;
            delete process.env.SSH_AUTH_SOCK;
        });

        it("gives the script as the session's command and stdin as its input; the key only in a 0600 file, gone after", () => {
            const script = "set -eu\nsystemctl --user daemon-reload\n";
            runRemoteScript({ create: script, stdin: "the-password\n", connection }, script);
            const record = recorded();
            expect(record.args.slice(-3)).toEqual(["--", "10.88.0.7", script]);
            expect(record.args.join(" ")).not.toContain("key-material-not-for-argv");
            expect(record.identityContent).toBe(PRIVATE_KEY);
            expect([record.identityMode, record.identityDirMode]).toEqual(["600", "700"]);
            expect(record.knownHosts).toBe(`[10.88.0.7]:2222 ${HOST_KEY}\n`);
            expect(record.stdin).toBe("the-password");
            // pulumi-command uses an agent only when told (or SSH_AUTH_SOCK): the fixture gives ssh none.
            expect(record.env.SSH_AUTH_SOCK).toBeUndefined();
            expect(existsSync(record.identity)).toBe(false);
        });

        it("fails as the run fails when the remote command or ssh fails (a refused host key is ssh's 255), and still removes the key", () => {
            writeFileSync(join(dir, "status"), "255");
            expect(() => runRemoteScript({ connection }, "true")).toThrow(/ssh seaser@10\.88\.0\.7 -p 2222 failed \(255\)/);
            expect(existsSync(recorded().identity)).toBe(false);
        });
    });

    it.each([
        ["a password login", { ...connection, password: "hunter2" }, /connection has fields it does not map: password/],
        ["a proxy", { ...connection, proxy: { host: "bastion" } }, /does not map: proxy/],
        ["no host key (pulumi-command would accept any host)", { ...connection, hostKey: undefined }, /without connection.hostKey/],
        ["no private key", { ...connection, privateKey: undefined }, /without connection.privateKey/],
    ])("refuses %s", (_case, given, message) => {
        expect(() => runRemoteScript({ connection: given }, "true")).toThrow(message);
    });

    it("refuses an environment, which sshd refuses without AcceptEnv and pulumi-command then fails on", () => {
        expect(() => runRemoteScript({ connection, environment: { PGPASSWORD: "x" } }, "true")).toThrow(/environment \(PGPASSWORD\) is sent with SSH setenv/);
    });

    it("plans a remote command as a local one: triggers replace, a changed script or connection updates", () => {
        const command = (inputs: Record<string, unknown>): Registered => ({
            type: TYPES.remoteCommand, name: "install", inputs, wireInputs: inputs, custom: true, parent: "", provider: "", protect: false,
            retainOnDelete: false, deleteBeforeReplace: true, propertyDependencies: {}, dependencies: [], importId: "", ignoreChanges: [], replaceOnChanges: [], urn: "urn::install",
        });
        const inputs = { create: "install", triggers: ["a"], connection };
        const applied = { registered: command(inputs), id: "install-1", state: inputs };
        expect(plan(command(inputs), applied).action).toBe("same");
        expect(plan(command({ ...inputs, triggers: ["b"] }), applied).action).toBe("replace");
        expect(plan(command({ ...inputs, connection: { ...connection, host: "10.88.0.8" } }), applied).action).toBe("update");
    });
});

describe("what the program registers over SSH, the fixture maps", () => {
    it("every remote command: its inputs, and its connection as the SDK fills it in", async () => {
        const run = await runProgram("test", {
            ...validConfig("test"), hostConnection: "ssh", sshHost: "10.88.0.7", sshUser: "seaser", sshHostKey: HOST_KEY,
            sshPrivateKey: PRIVATE_KEY, dockerHost: "ssh://seaser@10.88.0.7",
        });
        const remotes = run.ofType(TYPES.remoteCommand);
        expect(remotes.map((r) => r.name).sort()).toEqual(["test-backup-run", "test-boot-install", "test-db-ready", "test-health-install", "test-health-state", "test-host-check-run"]);
        for (const remote of remotes) {
            expect(Object.keys(remote.inputs).filter((key) => !REMOTE_COMMAND_INPUTS.includes(key)), remote.name).toEqual([]);
            expect(sshConnection(remote.inputs.connection), remote.name).toMatchObject({ host: "10.88.0.7", user: "seaser", port: 22, perDialTimeout: 15 });
        }
    });
});

describe("the fixture's ssh:// dockerHost: the docker provider's connection helper", () => {
    it("runs `docker system dial-stdio` as docker/cli v28.5.2 does: -l, -p, the ssh options, ConnectTimeout and -T, then -- host", () => {
        expect(dialStdioArgs("ssh://seaser@10.88.0.7")).toEqual(["-l", "seaser", "-o ConnectTimeout=30", "-T", "--", "10.88.0.7", "docker system dial-stdio"]);
        expect(dialStdioArgs("ssh://seaser@host.example:2222/run/user/1000/podman/podman.sock", ["-i", "/k", "-o", "ConnectTimeout=5"])).toEqual([
            "-l", "seaser", "-p", "2222", "-i", "/k", "-o", "ConnectTimeout=5", "-T", "--", "host.example",
            "docker --host=unix:///run/user/1000/podman/podman.sock system dial-stdio"]);
    });

    it.each([
        ["a password", "ssh://seaser:pw@h", /plain-text password is not supported/],
        ["a query", "ssh://seaser@h?x=1", /query parameters are not allowed/],
    ])("refuses %s in the URL, as the helper does", (_case, url, message) => {
        expect(() => dialStdioArgs(url)).toThrow(message);
    });
});
