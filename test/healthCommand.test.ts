import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * `npm run health` on the operator's machine: it runs the check the stack installed,
 * here for hostConnection local, over ssh for ssh. Here the installed "check" is a
 * stand-in script (the real one is tested in healthCheck.test.ts) and ssh a stub that
 * records how it was called and runs the remote command locally, as sshd would.
 */
const root = join(__dirname, "..");
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh";

function operator(stackFiles: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), "health-cmd-"));
    const project = join(dir, "project");
    const home = join(dir, "home");
    const bin = join(dir, "bin");
    for (const d of [project, bin, join(home, ".config/rezept-tagebuch")]) mkdirSync(d, { recursive: true });
    cpSync(join(root, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    for (const [env, yaml] of Object.entries(stackFiles)) writeFileSync(join(project, `Pulumi.${env}.yaml`), yaml);
    const install = (env: string, exit: number, report = `rezept-tagebuch ${env} on box: ${exit === 0 ? "healthy" : "FAILING"}\n`) =>
        writeFileSync(join(home, ".config/rezept-tagebuch", `health-${env}.sh`),
            `if [ "$1" = --json ]; then printf '{"host":"box","ok":${exit === 0},"environments":[{"environment":"${env}","ok":${exit === 0},"checks":[]}]}'; else printf '%s' '${report}'; fi\nexit ${exit}\n`);
    // ssh: records its arguments and the known_hosts file it was given, then runs the command as the remote shell would.
    writeFileSync(join(bin, "ssh"), `#!/bin/sh
echo "$*" > "${dir}/ssh.args"
for arg in "$@"; do case $arg in UserKnownHostsFile=*) cat "\${arg#UserKnownHostsFile=}" > "${dir}/known_hosts" ;; esac; done
for last in "$@"; do :; done
exec sh -c "$last"
`);
    chmodSync(join(bin, "ssh"), 0o755);
    const health = (...args: string[]) => spawnSync(process.execPath, [join(root, "node_modules/ts-node/dist/bin.js"), "--transpile-only", join(root, "scripts/health.ts"), ...args], {
        cwd: project, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home, TS_NODE_PROJECT: join(root, "tsconfig.json") },
    });
    return { health, install, dir };
}

const ssh = (extra = "") => `config:\n  rezept-tagebuch:hostConnection: ssh\n  rezept-tagebuch:sshHost: host.example\n  rezept-tagebuch:sshUser: seaser\n  rezept-tagebuch:sshHostKey: ${HOST_KEY}\n${extra}`;

describe("npm run health runs the installed check where the stack is", { timeout: 120_000 }, () => {
    it("a local stack: the script in the user's config directory, its table and exit code", () => {
        const op = operator({ dev: "config: {}\n" });
        op.install("dev", 1);
        const result = op.health("--stack", "dev");
        expect(result.stdout).toBe("rezept-tagebuch dev on box: FAILING\n");
        expect(result.status).toBe(1);
    });

    it("an ssh stack: over ssh to sshUser@sshHost, trusting only the pinned host key, in batch mode", () => {
        const op = operator({ prod: ssh("  rezept-tagebuch:sshPort: \"2222\"\n") });
        op.install("prod", 0);
        const result = op.health("--stack", "prod", "--identity", join(root, "package.json"));
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("rezept-tagebuch prod on box: healthy\n");
        const args = readFileSync(join(op.dir, "ssh.args"), "utf8");
        expect(args).toMatch(/^-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=\S+ -o ConnectTimeout=15 -o IdentitiesOnly=yes -i \S+package.json -p 2222 seaser@host.example /);
        expect(readFileSync(join(op.dir, "known_hosts"), "utf8")).toBe(`[host.example]:2222 ${HOST_KEY}\n`);
    });

    it("every stack: those installed, one JSON document; the worst exit code", () => {
        const op = operator({ prod: ssh(), dev: "config: {}\n", test: "config: {}\n" });
        op.install("prod", 0);
        op.install("dev", 1);
        const result = op.health("--json");
        expect(result.status).toBe(1);
        const json = JSON.parse(result.stdout);
        expect(json.ok).toBe(false);
        expect(json.environments.map((e: { environment: string; host: string }) => `${e.environment}@${e.host}`)).toEqual(["prod@box", "dev@box"]);
    });

    it("refuses bad input with the key and its fix, before connecting", () => {
        const op = operator({ prod: ssh().replace(HOST_KEY, "ssh-ed25519 AAAA") });
        const bad = op.health("--stack", "prod");
        expect(bad.status).toBe(2);
        expect(bad.stderr).toMatch(/^health: prod: rezept-tagebuch:sshHostKey is a ssh-ed25519 line whose data is not a whole ssh-ed25519 key .*; fix: npm run stack -- config prod set sshHostKey/);
        const missing = operator({ prod: "config:\n  rezept-tagebuch:hostConnection: ssh\n  rezept-tagebuch:sshHost: h\n  rezept-tagebuch:sshUser: u\n" }).health("--stack", "prod");
        expect(missing.stderr).toMatch(/rezept-tagebuch:sshHostKey is required when hostConnection is ssh; fix: /);
        expect(op.health("--stack", "staging").stderr).toBe("health: --stack 'staging' is not prod, dev, test or all; usage: npm run health -- [--stack prod|dev|test|all] [--json] [--identity ~/.ssh/id_ed25519]\n");
        const none = operator({ dev: "config: {}\n" }).health("--stack", "dev");
        expect(none.status).toBe(2);
        expect(none.stderr).toBe("health: the dev stack has no health check on this host (health-dev.sh); deploy it: npm run stack -- up dev\n");
    });
});
