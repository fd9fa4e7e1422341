import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HostCheckSpec, renderHostCheck } from "../lib/hostCheck";
import { stackVolumes } from "../lib/isolation";
import { readScriptParams } from "../lib/hostScript";
import { renderInstallScript, renderUnits } from "../lib/systemd";
import { runProgram, TYPES, validConfig } from "./harness";

/** How the stubbed host answers; every field defaults to a host that passes. */
interface HostState {
    backend?: string;
    aardvark?: boolean;
    networks?: string[];
    /** What `loginctl show-user --property=Linger` says; undefined: the user is unknown to logind (it fails). */
    linger?: "yes" | "no";
    mayEnableLinger?: boolean;
    /** Successive answers of `systemctl is-system-running`; the last one repeats. */
    managerStates?: string[];
    /** io.seaser.environment labels of networks in `networks` ("" or absent: none). */
    networkLabels?: Record<string, string>;
    /** The volumes that exist, each with its io.seaser.environment label ("": none). */
    volumes?: Record<string, string>;
    /** Containers with their io.seaser.environment label (absent: none) and the named volumes they mount. */
    containers?: { name: string; label?: string; volumes: string[] }[];
    /** What `podman version --format {{.Client.Version}}` says. */
    podmanVersion?: string;
    /** `podman info`'s Host.RootlessNetworkCmd (Podman 5); null: Podman 4, whose info has no such field. */
    rootlessNetworkCmd?: string | null;
    /** Whether `podman info` finds pasta's and slirp4netns's executables. */
    pasta?: boolean;
    slirp4netns?: boolean;
    /** `netavark version`'s default_fw_driver; null: netavark 1.4 (Debian 12's), which names none and runs iptables. */
    firewallDriver?: string | null;
    /** Whether that driver's tool (nft or iptables) is installed. */
    firewallTool?: boolean;
}

/** `case` arms answering with `answer(name)` for each of `names`, and failing as podman does for any other. */
const arms = (names: string[], answer: (name: string) => string, otherwise = 'echo "Error: no such object" >&2; exit 125') =>
    [...names.map((name) => `${name}) ${answer(name)};;`), `*) ${otherwise};;`].join(" ");

/**
 * A host stand-in: podman, systemctl and loginctl are stubs on PATH that answer
 * from `state` and log their arguments; aardvark-dns lives (or not) in a temp
 * helper dir. The rendered script runs for real, so the machine running the tests
 * (its lingering, its podman) does not matter.
 */
function stubHost(state: HostState = {}) {
    const s = {
        backend: "netavark", aardvark: true, networks: ["seaser-network"], linger: "yes", mayEnableLinger: true, managerStates: ["running"],
        networkLabels: {}, volumes: {}, containers: [], podmanVersion: "5.4.2", rootlessNetworkCmd: "pasta", pasta: true, slirp4netns: true, firewallDriver: "nftables", firewallTool: true, ...state,
    } as Required<HostState>;
    const root = mkdtempSync(join(tmpdir(), "host-check-"));
    const bin = join(root, "bin");
    const helpers = join(root, "helpers");
    mkdirSync(bin);
    mkdirSync(helpers);
    const log = join(root, "calls.log");
    const counter = join(root, "manager-calls");
    const stub = (tool: string, body: string) => {
        writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n${body}\n`);
        chmodSync(join(bin, tool), 0o755);
    };
    stub("podman", [
        'case "$1 $2" in',
        '"info --format") case "$3" in',
        `    '{{.Host.NetworkBackend}}') echo "${s.backend}";;`,
        s.rootlessNetworkCmd === null
            ? `    '{{.Host.RootlessNetworkCmd}}') echo "Error: template: info:1:7: executing \\"info\\" at <.Host.RootlessNetworkCmd>: can't evaluate field RootlessNetworkCmd in type *define.HostInfo" >&2; exit 125;;`
            : `    '{{.Host.RootlessNetworkCmd}}') echo "${s.rootlessNetworkCmd}";;`,
        `    '{{.Host.Pasta.Executable}}') echo "${s.pasta ? "/usr/bin/pasta" : ""}";;`,
        `    '{{.Host.Slirp4NetNS.Executable}}') echo "${s.slirp4netns ? "/usr/bin/slirp4netns" : ""}";;`,
        "    *) exit 98;;",
        "    esac;;",
        `"version --format") echo "${s.podmanVersion}";;`,
        `"network exists") case "$3" in ${s.networks.length > 0 ? s.networks.join("|") : "''"}) exit 0;; *) exit 1;; esac;;`,
        // `<object> inspect --format <template> <name>`: the label the template asks for.
        `"network inspect") case "$5" in ${arms(s.networks, (n) => `echo "${s.networkLabels[n] ?? ""}"`)} esac;;`,
        `"volume inspect") case "$5" in ${arms(Object.keys(s.volumes), (v) => `echo "${s.volumes[v]}"`)} esac;;`,
        // `ps -a --filter volume=<name> --format {{.Names}}:<label>`: one line per container mounting it.
        `"ps -a") case "$4" in ${arms(Object.keys(s.volumes).map((v) => `volume=${v}`), (filter) => `printf '${s.containers
            .filter((c) => c.volumes.includes(filter.slice("volume=".length))).map((c) => `${c.name}:${c.label ?? ""}\n`).join("")}'`, "exit 0")} esac;;`,
        '*) exit 99;;',
        "esac",
    ].join("\n"));
    stub("systemctl", [
        `n=$(cat "${counter}" 2>/dev/null || echo 0); echo $((n + 1)) > "${counter}"`,
        `set -- ${s.managerStates.join(" ")}`,
        'while [ "$n" -gt 0 ] && [ $# -gt 1 ]; do shift; n=$((n - 1)); done',
        'echo "$1"; [ "$1" = running ]',
    ].join("\n"));
    stub("loginctl", [
        'case "$1" in',
        `show-user) ${s.linger === undefined ? 'echo "Failed to get user: User ID 1000 is not logged in or lingering" >&2; exit 1' : `echo ${s.linger}`};;`,
        `enable-linger) ${s.mayEnableLinger ? "exit 0" : 'echo "Could not enable linger: Access denied" >&2; exit 1'};;`,
        "*) exit 99;;",
        "esac",
    ].join("\n"));
    const tools = join(root, "sbin");
    mkdirSync(tools);
    writeFileSync(join(helpers, "netavark"), `#!/bin/sh\n[ "$1" = version ] && printf '%s\\n' '{' '  "version": "1.14.0",' ${s.firewallDriver === null ? "" : `'  "target": "x86_64-unknown-linux-gnu",' '  "default_fw_driver": "${s.firewallDriver}"'`} '}'\n`);
    chmodSync(join(helpers, "netavark"), 0o755);
    const tool = s.firewallDriver === "nftables" ? "nft" : "iptables";
    if (s.firewallTool) {
        writeFileSync(join(tools, tool), "#!/bin/sh\n");
        chmodSync(join(tools, tool), 0o755);
    }
    if (s.aardvark) {
        writeFileSync(join(helpers, "aardvark-dns"), "#!/bin/sh\n");
        chmodSync(join(helpers, "aardvark-dns"), 0o755);
    }
    const run = (spec: HostCheckSpec, managerWaitSeconds = 0) => {
        const result = spawnSync("sh", ["-c", renderHostCheck(spec, { helperDirs: [join(root, "nowhere"), helpers], firewallToolDirs: [join(root, "nowhere"), tools], managerWaitSeconds })], {
            encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: root, XDG_RUNTIME_DIR: join(root, "run") },
        });
        const lines = result.stderr.split("\n").filter((line) => line !== "");
        return { status: result.status, lines, stdout: result.stdout };
    };
    const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
    return { run, calls, home: root };
}

const dev: HostCheckSpec = {
    environment: "dev", scope: "user", proxyNetwork: "seaser-network", internalNetwork: "seaser-rezept-tagebuch-dev-internal",
    volumes: [{ name: "seaser-postgres-dev-data", key: "dbDataVolume" }, { name: "seaser-rezept-tagebuch-dev-volume", key: "appDataVolume" }],
    healthIntervalMinutes: 5,
};
const LABEL = '{{index .Labels "io.seaser.environment"}}';
const ONE_LINE = /^rezept-tagebuch: host check: [^\n]+; fix: \S[^\n]*$/;

describe("the host check", () => {
    it("passes a host that has everything, reading only", () => {
        const host = stubHost();
        const result = host.run(dev);
        expect(result.lines).toEqual([]);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("host check passed");
        expect(host.calls()).toEqual([
            "podman info --format {{.Host.NetworkBackend}}",
            "podman version --format {{.Client.Version}}",
            "podman info --format {{.Host.RootlessNetworkCmd}}",
            "podman info --format {{.Host.Pasta.Executable}}",
            "podman network exists seaser-network",
            `podman network inspect --format ${LABEL} seaser-network`,
            `podman volume inspect --format ${LABEL} seaser-postgres-dev-data`,
            `podman ps -a --filter volume=seaser-postgres-dev-data --format {{.Names}}:${LABEL}`,
            `podman volume inspect --format ${LABEL} seaser-rezept-tagebuch-dev-volume`,
            `podman ps -a --filter volume=seaser-rezept-tagebuch-dev-volume --format {{.Names}}:${LABEL}`,
            `podman network inspect --format ${LABEL} seaser-rezept-tagebuch-dev-internal`,
            `loginctl show-user ${userInfo().username} --property=Linger --value`,
            "systemctl --user is-system-running",
        ]);
    });

    // Each check fails on its own: one line naming the problem and its fix, exit non-zero.
    it.each([
        ["the CNI network backend", { backend: "cni" }, "network backend is cni, not netavark", "network_backend = \"netavark\""],
        ["podman info failing", { backend: "" }, "network backend is unknown (podman info failed)", "apt-get install netavark aardvark-dns"],
        ["no aardvark-dns", { aardvark: false }, "aardvark-dns is not installed", "apt-get install aardvark-dns"],
        // Podman 5 (Debian 13) runs rootless networks through pasta, Podman 4 (Debian 12) through slirp4netns.
        ["Podman 5 without pasta", { pasta: false }, "podman 5.4.2 runs rootless networks through pasta, which is not installed", "apt-get install passt"],
        ["Podman 4 without slirp4netns", { podmanVersion: "4.3.1", rootlessNetworkCmd: null, slirp4netns: false },
            "podman 4.3.1 runs rootless networks through slirp4netns, which is not installed", "apt-get install slirp4netns"],
        // Debian 13's netavark runs nft, Debian 12's iptables.
        ["netavark's nftables driver without nft", { firewallTool: false }, "netavark sets up the firewall of the networks with nft (its default driver, nftables), which is not installed", "apt-get install nftables"],
        ["netavark 1.4 without iptables", { firewallDriver: null, firewallTool: false }, "with iptables (its default driver, iptables), which is not installed", "apt-get install iptables"],
        ["a missing proxy network", { networks: [] }, "network seaser-network (config proxyNetwork) does not exist", "podman network create seaser-network"],
        ["lingering off, and the user may not turn it on", { linger: "no", mayEnableLinger: false }, "lingering is off for", "sudo loginctl enable-linger"],
        ["a user unknown to logind, who may not linger", { linger: undefined, mayEnableLinger: false }, "lingering is off for", "sudo loginctl enable-linger"],
        ["an unreachable user manager", { managerStates: ["offline"] }, "user manager of", "XDG_RUNTIME_DIR="],
        // Environment isolation: what another environment owns on the host.
        ["the database volume labelled prod's", { volumes: { "seaser-postgres-dev-data": "prod" } },
            "the volume seaser-postgres-dev-data (config dbDataVolume) is labelled io.seaser.environment=prod, so the dev stack would use the prod environment's data",
            "npm run stack -- config dev set dbDataVolume <a volume of dev's own>, or npm run stack -- config dev rm dbDataVolume"],
        ["the uploads volume, unlabelled, mounted by a prod container (the stacks label no volume)",
            { volumes: { "seaser-rezept-tagebuch-dev-volume": "" }, containers: [{ name: "seaser-rezept-tagebuch", label: "prod", volumes: ["seaser-rezept-tagebuch-dev-volume"] }] },
            "the volume seaser-rezept-tagebuch-dev-volume (config appDataVolume) is mounted by seaser-rezept-tagebuch of the prod environment", "npm run stack -- config dev set appDataVolume"],
        ["the internal network labelled test's", { networks: ["seaser-network", "seaser-rezept-tagebuch-dev-internal"], networkLabels: { "seaser-rezept-tagebuch-dev-internal": "test" } },
            "the network seaser-rezept-tagebuch-dev-internal, the dev internal network, exists labelled io.seaser.environment=test", "podman network rm seaser-rezept-tagebuch-dev-internal"],
        ["a proxy network that is an environment's internal network, its own included", { networkLabels: { "seaser-network": "dev" } },
            "network seaser-network (config proxyNetwork) is labelled io.seaser.environment=dev, the dev environment's internal network", "npm run stack -- config dev set proxyNetwork"],
    ] as [string, HostState, string, string][])("refuses %s with one line", (_name, state, what, fix) => {
        const result = stubHost(state).run(dev);
        expect(result.status).toBe(1);
        expect(result.lines).toHaveLength(1);
        expect(result.lines[0]).toMatch(ONE_LINE);
        expect(result.lines[0]).toContain(what);
        expect(result.lines[0].slice(result.lines[0].indexOf("; fix: "))).toContain(fix);
        expect(result.stdout).toBe("");
    });

    it("refuses point-in-time recovery's volumes (fixed names) where another environment holds them, with the pitr fix", () => {
        const prod: HostCheckSpec = {
            environment: "prod", scope: "user", proxyNetwork: "seaser-network", internalNetwork: "seaser-rezept-tagebuch-prod-internal", healthIntervalMinutes: 5,
            volumes: stackVolumes({ environment: "prod", dbVolume: "seaser-postgres-data", appVolume: "seaser-rezept-tagebuch-volume", pitr: true }),
        };
        // A dev app that mounts prod's WAL archive volume name as its uploads (set before the config check refused it).
        const result = stubHost({
            volumes: { "seaser-postgres-wal": "", "seaser-postgres-pitr-data": "dev" },
            containers: [{ name: "seaser-rezept-tagebuch-dev", label: "dev", volumes: ["seaser-postgres-wal"] }],
        }).run(prod);
        expect(result.status).toBe(1);
        expect(result.lines).toEqual([
            "rezept-tagebuch: host check: the volume seaser-postgres-wal (config pitr) is mounted by seaser-rezept-tagebuch-dev of the dev environment, so the prod stack would use its data; " +
                "fix: free it of the other environment (podman ps -a --filter volume=seaser-postgres-wal; the prod stack's name for it is fixed), or npm run stack -- config prod set pitr false",
            "rezept-tagebuch: host check: the volume seaser-postgres-pitr-data (config pitr) is labelled io.seaser.environment=dev, so the prod stack would use the dev environment's data; " +
                "fix: free it of the other environment (podman ps -a --filter volume=seaser-postgres-pitr-data; the prod stack's name for it is fixed), or npm run stack -- config prod set pitr false",
        ]);
    });

    it("refuses an app image volume (a name that follows from its path) where another environment holds it, with its own fix", () => {
        const volume = "seaser-rezept-tagebuch-dev-vol-var-lib-app-cache";
        const spec: HostCheckSpec = {
            ...dev, volumes: stackVolumes({ environment: "dev", dbVolume: "seaser-postgres-dev-data", appVolume: "seaser-rezept-tagebuch-dev-volume", appImageVolumes: [volume], pitr: false }),
        };
        const result = stubHost({ volumes: { [volume]: "" }, containers: [{ name: "seaser-rezept-tagebuch", label: "prod", volumes: [volume] }] }).run(spec);
        expect(result.status).toBe(1);
        expect(result.lines).toEqual([
            `rezept-tagebuch: host check: the volume ${volume} (config appImageVolumes) is mounted by seaser-rezept-tagebuch of the prod environment, so the dev stack would use its data; ` +
                `fix: free it of the other environment (podman ps -a --filter volume=${volume}; the dev stack's name for it follows from the path)`,
        ]);
    });

    it("says which mechanisms the host's Podman gives the stack", () => {
        expect(stubHost().run(dev).stdout.split("\n")[1]).toBe("rezept-tagebuch: host: podman 5.4.2; rootless networks through pasta; " +
            "database readiness by podman healthcheck run; shutdown ordering DefaultDependencies=no (kept, not needed since podman 4.4)");
        // Debian 12's: no RootlessNetworkCmd in its podman info, slirp4netns only.
        const bookworm = stubHost({ podmanVersion: "4.3.1", rootlessNetworkCmd: null, pasta: false });
        const result = bookworm.run(dev);
        expect(result.lines).toEqual([]);
        expect(result.stdout.split("\n")[1]).toBe("rezept-tagebuch: host: podman 4.3.1; rootless networks through slirp4netns; " +
            "database readiness by podman healthcheck run; shutdown ordering DefaultDependencies=no (needed: podman#14531)");
        expect(bookworm.calls()).toContain("podman info --format {{.Host.Slirp4NetNS.Executable}}");
        // A Podman 5 host set to slirp4netns in containers.conf needs slirp4netns, not pasta.
        expect(stubHost({ rootlessNetworkCmd: "slirp4netns", pasta: false }).run(dev).stdout).toContain("rootless networks through slirp4netns;");
        expect(stubHost({ podmanVersion: "4.4.1", rootlessNetworkCmd: null }).run(dev).stdout).toContain("(kept, not needed since podman 4.4)");
        // The system scope runs no rootless network.
        const system = stubHost({ pasta: false, slirp4netns: false }).run({ ...dev, scope: "system" });
        expect(system.status).toBe(0);
        expect(system.stdout).toContain("host: podman 5.4.2; database readiness");
    });

    it("lists every problem, one line each", () => {
        const result = stubHost({ backend: "cni", aardvark: false, networks: [], linger: "no", mayEnableLinger: false, managerStates: ["offline"] }).run(dev);
        expect(result.status).toBe(1);
        expect(result.lines).toHaveLength(5);
        for (const line of result.lines) expect(line).toMatch(ONE_LINE);
    });

    it("passes volumes and networks of its own environment, hand-made ones, and labels of other tools, changing nothing", () => {
        const host = stubHost({
            networks: ["seaser-network", "seaser-rezept-tagebuch-dev-internal"], networkLabels: { "seaser-network": "edge", "seaser-rezept-tagebuch-dev-internal": "dev" },
            volumes: { "seaser-postgres-dev-data": "dev", "seaser-rezept-tagebuch-dev-volume": "" },
            containers: [
                { name: "seaser-postgres-dev", label: "dev", volumes: ["seaser-postgres-dev-data"] },
                { name: "uploads-by-hand", volumes: ["seaser-rezept-tagebuch-dev-volume"] },
                { name: "other-tool", label: "staging", volumes: ["seaser-rezept-tagebuch-dev-volume"] },
            ],
        });
        const result = host.run(dev);
        expect(result.lines).toEqual([]);
        expect(result.status).toBe(0);
    });

    it("names every container of another environment that mounts the volume, and turns no lingering on", () => {
        const host = stubHost({
            linger: "no", mayEnableLinger: true, volumes: { "seaser-postgres-dev-data": "" },
            containers: [
                { name: "seaser-postgres", label: "prod", volumes: ["seaser-postgres-dev-data"] },
                { name: "seaser-postgres-test", label: "test", volumes: ["seaser-postgres-dev-data"] },
            ],
        });
        const result = host.run(dev);
        expect(result.status).toBe(1);
        expect(result.lines.map((line) => line.split(", so ")[0])).toEqual([
            "rezept-tagebuch: host check: the volume seaser-postgres-dev-data (config dbDataVolume) is mounted by seaser-postgres of the prod environment",
            "rezept-tagebuch: host check: the volume seaser-postgres-dev-data (config dbDataVolume) is mounted by seaser-postgres-test of the test environment",
            expect.stringContaining("lingering is off"),
        ]);
        expect(host.calls().filter((call) => call.startsWith("loginctl enable-linger"))).toEqual([]);
    });

    it("turns lingering on where the user may, whatever the machine running the tests has", () => {
        for (const linger of ["no", undefined] as const) {
            const host = stubHost({ linger, mayEnableLinger: true });
            const result = host.run(dev);
            expect(result.lines).toEqual([]);
            expect(result.status).toBe(0);
            expect(host.calls().filter((call) => call.startsWith("loginctl enable-linger"))).toHaveLength(1);
        }
    });

    it("changes nothing, not even lingering, on a host it refuses", () => {
        const host = stubHost({ networks: [], linger: "no", mayEnableLinger: true });
        const result = host.run(dev);
        expect(result.status).toBe(1);
        expect(result.lines.map((line) => line.split(";")[0])).toEqual([
            expect.stringContaining("seaser-network"), expect.stringContaining("lingering is off"),
        ]);
        expect(host.calls().filter((call) => /enable-linger|network create|network rm/.test(call))).toEqual([]);
    });

    it("waits briefly for a user manager that lingering has only just started", () => {
        const starting = ["offline", "offline", "running"];
        expect(stubHost({ managerStates: starting }).run(dev, 5).status).toBe(0);
        expect(stubHost({ managerStates: starting }).run(dev, 1).status).toBe(1);
        expect(stubHost({ managerStates: ["starting"] }).run(dev, 0).status).toBe(0);
        expect(stubHost({ managerStates: ["degraded"] }).run(dev, 0).status).toBe(0);
    });

    it("skips the proxy network without an app, and lingering in the system scope", () => {
        const host = stubHost({ networks: [], linger: "no", mayEnableLinger: false });
        const result = host.run({ environment: "test", scope: "system", internalNetwork: "seaser-rezept-tagebuch-test-internal", volumes: [], healthIntervalMinutes: 5 });
        expect(result.lines).toEqual([]);
        expect(result.status).toBe(0);
        expect(host.calls()).toEqual([
            "podman info --format {{.Host.NetworkBackend}}", "podman version --format {{.Client.Version}}", `podman network inspect --format ${LABEL} seaser-rezept-tagebuch-test-internal`, "systemctl is-system-running",
        ]);
    });

    it("reports, without refusing, an installed health check that has not succeeded for three intervals", () => {
        const host = stubHost();
        const dir = join(host.home, ".config/rezept-tagebuch");
        mkdirSync(dir, { recursive: true });
        const script = join(dir, "health-dev.sh");
        writeFileSync(script, "");
        const longAgo = Math.floor(Date.now() / 1000) - 16 * 60;
        utimesSync(script, longAgo, longAgo);
        writeFileSync(join(dir, "health-dev.state"), `failing=0\nlast_alert=\nlast_success=${longAgo}\ncheck_failed=0\n`);
        const stale = host.run(dev);
        expect(stale.status).toBe(0);
        expect(stale.lines).toEqual([expect.stringMatching(/^rezept-tagebuch: host check: warning: the dev health check has not run successfully for 1[67] min \(every 5 min\), so no alert reached you meanwhile; this deploy re-installs it; see: journalctl --user -u rezept-tagebuch-health-dev.service -n 50$/)]);
        writeFileSync(join(dir, "health-dev.state"), `failing=0\nlast_alert=\nlast_success=${longAgo + 120}\ncheck_failed=0\n`);
        expect(host.run(dev).lines).toEqual([]);
    });

    it("passes shellcheck as POSIX sh", () => {
        for (const spec of [dev, { environment: "prod", scope: "system", proxyNetwork: "my proxy", internalNetwork: "my net", volumes: [{ name: "my vol", key: "dbDataVolume" }], healthIntervalMinutes: 60 } as HostCheckSpec]) {
            const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: renderHostCheck(spec), encoding: "utf8" });
            expect(result.error, "shellcheck is missing: apt-get install shellcheck").toBeUndefined();
            expect(result.stdout).toBe("");
            expect(result.status).toBe(0);
        }
    });
});

describe("the program checks the host before it puts anything there", () => {
    it("runs the check first: the Podman provider, and so every docker resource, depends on it", async () => {
        const run = await runProgram("dev", validConfig("dev"));
        const check = run.find(TYPES.localCommand, "dev-host-check-run");
        expect(check.inputs.create).toBe(renderHostCheck(dev));
        expect(check.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
        expect(check.dependencies).toEqual([]);
        const provider = run.find(TYPES.provider, "podman");
        expect(provider.dependencies.filter((urn) => urn.endsWith("::dev-host-check-run"))).toHaveLength(1);
        const docker = run.resources.filter((r) => r.custom && r.type.startsWith("docker:index/"));
        expect(docker.length).toBeGreaterThan(0);
        for (const resource of docker) expect(resource.provider, `${resource.type} ${resource.name}`).toMatch(/::pulumi:providers:docker::podman::/);
    });

    it("checks the stack's own proxy network, and none where no app runs", async () => {
        const custom = await runProgram("prod", { ...validConfig("prod"), proxyNetwork: "edge-proxy" });
        expect(readScriptParams(custom.find(TYPES.localCommand, "prod-host-check-run").inputs.create).proxy_network).toBe("edge-proxy");
        const test = await runProgram("test", validConfig("test"));
        // An empty proxy network: the script skips its check (as "skips the proxy network without an app" runs it).
        expect(readScriptParams(test.find(TYPES.localCommand, "test-host-check-run").inputs.create).proxy_network).toBe("");
    });

    it("checks the volumes the stack's config names, and its own internal network", async () => {
        const run = await runProgram("prod", { ...validConfig("prod"), dbDataVolume: "pg-main", appDataVolume: "uploads-main" });
        expect(run.find(TYPES.localCommand, "prod-host-check-run").inputs.create).toBe(renderHostCheck({
            environment: "prod", scope: "user", proxyNetwork: "seaser-network", internalNetwork: "seaser-rezept-tagebuch-prod-internal",
            volumes: [{ name: "pg-main", key: "dbDataVolume" }, { name: "uploads-main", key: "appDataVolume" }], healthIntervalMinutes: 5,
        }));
        const test = await runProgram("test", validConfig("test"));
        expect(test.find(TYPES.localCommand, "test-host-check-run").inputs.create).toBe(renderHostCheck({
            environment: "test", scope: "user", internalNetwork: "seaser-rezept-tagebuch-test-internal", volumes: [{ name: "seaser-postgres-test-data", key: "dbDataVolume" }], healthIntervalMinutes: 5,
        }));
    });

    it("checks the WAL archive and restore scratch volumes of a stack with point-in-time recovery", async () => {
        const offsite = { offsiteRepository: "sftp:backup@backup.example:/srv/restic/rezept-prod", offsitePassword: "a-long-repository-password" };
        const run = await runProgram("prod", { ...validConfig("prod"), ...offsite });
        expect(readScriptParams(run.find(TYPES.localCommand, "prod-host-check-run").inputs.create).volumes.split("\n")).toEqual([
            "dbDataVolume seaser-postgres-data", "appDataVolume seaser-rezept-tagebuch-volume", "pitr seaser-postgres-wal", "pitr seaser-postgres-pitr-data",
        ]);
        const off = await runProgram("prod", { ...validConfig("prod"), ...offsite, pitr: "false" });
        expect(readScriptParams(off.find(TYPES.localCommand, "prod-host-check-run").inputs.create).volumes).not.toContain("pitr");
    });

    it("runs over SSH where the units are installed over SSH", async () => {
        const run = await runProgram("prod", {
            ...validConfig("prod"), hostConnection: "ssh", sshHost: "rezept.example", sshUser: "seaser", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXpl/7d40SGpaIqHl0RmwLW6om3fgoamwbWD6qzI3uh",
            sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material\n-----END OPENSSH PRIVATE KEY-----", dockerHost: "unix:///tmp/podman.sock",
        });
        const check = run.find(TYPES.remoteCommand, "prod-host-check-run");
        expect(check.inputs.connection).toMatchObject({ host: "rezept.example", user: "seaser", port: 22 });
        expect(run.find(TYPES.provider, "podman").dependencies.filter((urn) => urn.endsWith("::prod-host-check-run"))).toHaveLength(1);
    });

    it("leaves lingering to the check: the install script no longer touches it", () => {
        const spec = { environment: "dev", scope: "user", dbContainer: "seaser-postgres-dev", dbHealthTimeoutSeconds: 120 } as const;
        expect(renderInstallScript(spec, renderUnits(spec))).not.toContain("linger");
    });
});
