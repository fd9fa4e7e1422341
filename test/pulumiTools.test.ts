/**
 * Where `npm run stack` gets its Pulumi CLI, in this order: a `pulumi` on PATH; the
 * download (PulumiCommand.install, test/projectFiles.test.ts has its details); the local
 * build from Go modules when `go` is on PATH (scripts/build-pulumi-tools.sh). A stub `go`
 * stands in for the toolchain: it logs each build and writes a stub CLI where `-o` says,
 * so the order and the cache are tested in seconds; docs/real-engine.md has the real build.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..");
const sdkVersion: string = JSON.parse(readFileSync(join(root, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;
const tools = ["cli", "language-nodejs", "language-nodejs-front"];

/** A stub `pulumi` that logs its calls with the plugin setting it ran under, and knows of a password when told to. */
const stubCli = (log: string, passwordSet = true) =>
    `#!/bin/sh\n[ "$1" = version ] && { echo v${sdkVersion}; exit 0; }\n` +
    `echo "$* | acquisition-disabled=\${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-unset}" >> "${log}"\n` +
    `[ "$1 $2" = "config get" ] && exit ${passwordSet ? 0 : 1}\nexit 0\n`;

/** A stub `go`: `env GOVERSION`, and `build ... -o OUT PKG`, logged as "build <module folder> <args>", writing a stub CLI to OUT. */
const stubGo = (builds: string, cli: string) => `#!/bin/sh
[ "$1 $2" = "env GOVERSION" ] && { echo go1.26.8; exit 0; }
[ "$1" = build ] || { echo "stub go: unexpected $*" >&2; exit 2; }
echo "build \${PWD##*/} CGO_ENABLED=$CGO_ENABLED $*" >> "${builds}"
while [ $# -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done
cp "${cli}" "$out"
`;

interface Setup {
    /** A `pulumi` on PATH. */
    readonly cliOnPath?: boolean;
    /** The download of https://get.pulumi.com/install.sh works (it installs the stub CLI). */
    readonly download?: boolean;
    /** A `go` on PATH. */
    readonly go?: boolean;
}

/** A copy of the project's scripts and wrapper modules with only the tools they need on PATH, and a cache folder of its own. */
function makeProject(passwordSet = true) {
    const dir = mkdtempSync(join(tmpdir(), "pulumi-tools-"));
    const project = join(dir, "project");
    mkdirSync(join(project, "scripts"), { recursive: true });
    for (const file of ["stack.sh", "pulumi-cli.js", "build-pulumi-tools.sh"]) copyFileSync(join(root, "scripts", file), join(project, "scripts", file));
    cpSync(join(root, "tools"), join(project, "tools"), { recursive: true });
    copyFileSync(join(root, "package-lock.json"), join(project, "package-lock.json"));
    symlinkSync(join(root, "node_modules"), join(project, "node_modules"));
    const system = join(dir, "system");
    mkdirSync(system);
    for (const tool of ["sh", "node", "dirname", "mkdir", "cat", "cp", "sed", "head", "sha256sum", "cut", "date", "du", "rm", "touch", "flock", "nice", "ionice"]) {
        const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        if (found) symlinkSync(found, join(system, tool));
    }
    const log = join(dir, "calls.log");
    const builds = join(dir, "builds.log");
    const cli = join(dir, "pulumi");
    writeFileSync(cli, stubCli(log, passwordSet), { mode: 0o755 });
    const cache = join(dir, "cache");
    return { dir, project, system, log, builds, cli, cache };
}

function run(p: ReturnType<typeof makeProject>, setup: Setup, args = ["preview", "dev"]) {
    const bin = join(p.dir, "bin");
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    if (setup.cliOnPath) copyFileSync(p.cli, join(bin, "pulumi"));
    if (setup.go) writeFileSync(join(bin, "go"), stubGo(p.builds, p.cli), { mode: 0o755 });
    const fetches = join(p.dir, "fetches.log");
    const installSh = `while [ $# -gt 0 ]; do [ "$1" = --install-root ] && r=$2; shift; done; mkdir -p "$r/bin" && cp ${p.cli} "$r/bin/pulumi"`;
    const preload = join(p.dir, "fetch-stub.js");
    writeFileSync(preload, `globalThis.fetch = async (url) => {
        require("fs").appendFileSync(${JSON.stringify(fetches)}, url + "\\n");
        if (!${JSON.stringify(setup.download ?? false)}) throw new TypeError("fetch failed");
        return { ok: true, status: 200, text: async () => ${JSON.stringify(installSh)} };
    };\n`);
    for (const file of [p.log, p.builds, fetches]) rmSync(file, { force: true });
    const result = spawnSync("sh", [join(p.project, "scripts/stack.sh"), ...args], {
        encoding: "utf8",
        env: { PATH: `${bin}:${p.system}`, HOME: p.dir, XDG_CACHE_HOME: p.cache, NODE_OPTIONS: `--require ${preload}`, PULUMI_CONFIG_PASSPHRASE: "pass" },
    });
    const lines = (file: string) => existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
    return { ...result, calls: lines(p.log), builds: lines(p.builds), fetches: lines(fetches) };
}

const toolsFolders = (cache: string) => existsSync(join(cache, "rezept-tagebuch/pulumi-tools"))
    ? readdirSync(join(cache, "rezept-tagebuch/pulumi-tools")).filter((name) => !name.startsWith("."))
    : [];

describe("npm run stack: where the Pulumi CLI comes from", () => {
    it("uses a pulumi on PATH, without downloading or building anything", () => {
        const p = makeProject();
        const { status, calls, fetches, builds } = run(p, { cliOnPath: true, go: true, download: true });
        expect(status).toBe(0);
        expect(fetches).toEqual([]);
        expect(builds).toEqual([]);
        expect(calls.at(-1)).toBe("preview --stack dev --diff --policy-pack policy | acquisition-disabled=unset");
    });

    it("without pulumi on PATH, downloads the CLI and does not build it, even with Go at hand", () => {
        const p = makeProject();
        const { status, calls, fetches, builds } = run(p, { go: true, download: true });
        expect(status).toBe(0);
        expect(fetches).toEqual(["https://get.pulumi.com/install.sh"]);
        expect(builds).toEqual([]);
        expect(calls.at(-1)).toBe("preview --stack dev --diff --policy-pack policy | acquisition-disabled=unset");
    });

    it("where the download fails and go is on PATH, builds the CLI and the Node.js language host (behind our front) with the release flags, and runs the built CLI with plugin downloads off", () => {
        const p = makeProject();
        const { status, stderr, calls, builds } = run(p, { go: true });
        expect(stderr).toContain(`could not install the Pulumi CLI ${sdkVersion}`);
        expect(stderr).toContain("building it from Go modules with scripts/build-pulumi-tools.sh");
        expect(status).toBe(0);
        const version = "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=";
        expect(builds).toHaveLength(3);
        expect(builds[0]).toMatch(new RegExp(`^build cli CGO_ENABLED=0 build -mod=readonly -trimpath -tags osusergo,grpcnotrace -ldflags -w -s ${version}v${sdkVersion} -o \\S+/bin/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi$`));
        expect(builds[1]).toMatch(/^build language-nodejs CGO_ENABLED=0 .* -o \S+\/bin\/pulumi-language-nodejs-upstream github.com\/pulumi\/pulumi\/sdk\/v3\/nodejs\/cmd\/pulumi-language-nodejs$/);
        expect(builds[2]).toMatch(/^build language-nodejs-front CGO_ENABLED=0 .* -o \S+\/bin\/pulumi-language-nodejs \.$/);
        // Into the cache outside the checkout, next to each other (the CLI looks beside itself for its language host).
        const [folder] = toolsFolders(p.cache);
        expect(folder).toMatch(new RegExp(`^pulumi-v${sdkVersion}\\.nodejs-v[0-9.]+\\.go1\\.26\\.8\\.[0-9a-f]{12}$`));
        expect(readdirSync(join(p.cache, "rezept-tagebuch/pulumi-tools", folder, "bin")).sort()).toEqual(["pulumi", "pulumi-language-nodejs", "pulumi-language-nodejs-upstream"]);
        expect(existsSync(join(p.project, ".pulumi-cli", sdkVersion, "bin", "pulumi"))).toBe(false);
        expect(calls.map((c) => c.split(" | ")[1])).toEqual(calls.map(() => "acquisition-disabled=true"));
        expect(calls.at(-1)).toBe("preview --stack dev --diff --policy-pack policy | acquisition-disabled=true");
    });

    it("reuses a finished build, and builds again where a build was killed before it finished", () => {
        const p = makeProject();
        expect(run(p, { go: true }).builds).toHaveLength(3);
        const again = run(p, { go: true });
        expect(again.status).toBe(0);
        expect(again.builds).toEqual([]);
        expect(again.calls.at(-1)).toContain("acquisition-disabled=true");
        // A killed build leaves its folder without the `complete` written last.
        const [folder] = toolsFolders(p.cache);
        rmSync(join(p.cache, "rezept-tagebuch/pulumi-tools", folder, "complete"));
        const redone = run(p, { go: true });
        expect(redone.status).toBe(0);
        expect(redone.builds).toHaveLength(3);
    });

    it("builds anew in a folder of its own when a wrapper module changes", () => {
        const p = makeProject();
        run(p, { go: true });
        const sum = join(p.project, "tools/pulumi/cli/go.sum");
        writeFileSync(sum, `${readFileSync(sum, "utf8")}example.invalid/changed v1.0.0 h1:x=\n`);
        expect(run(p, { go: true }).builds).toHaveLength(3);
        expect(toolsFolders(p.cache)).toHaveLength(2);
    });

    it("tells how to set a missing password through npm run stack, since the CLI it built is not on the operator's PATH", () => {
        const p = makeProject(false);
        const { status, stderr } = run(p, { go: true });
        expect(status).toBe(1);
        expect(toolsFolders(p.cache)).toHaveLength(1);
        expect(stderr).toContain("    npm run stack -- config dev set --secret dbPassword\n");
        expect(stderr).not.toMatch(/^\s*pulumi config/m);
    });

    it("without pulumi, download and go, stops with one line naming both ways to get the CLI", () => {
        const p = makeProject();
        const { status, stderr, calls, builds } = run(p, {});
        expect(status).toBe(1);
        const lines = stderr.trim().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[1]).toContain(`could not install the Pulumi CLI ${sdkVersion}`);
        expect(lines[1]).toContain("install it by hand");
        expect(lines[1]).toContain("or put Go (https://go.dev/doc/install) on PATH to build it here from Go modules");
        expect(builds).toEqual([]);
        expect(calls).toEqual([]);
    });
});

describe("scripts/build-pulumi-tools.sh", () => {
    it("passes shellcheck", () => {
        const result = spawnSync("shellcheck", ["--shell=sh", join(root, "scripts/build-pulumi-tools.sh")], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    it("refuses a CLI version other than package-lock.json's @pulumi/pulumi, naming both and the fix, before building", () => {
        const p = makeProject();
        const mod = join(p.project, "tools/pulumi/cli/go.mod");
        writeFileSync(mod, readFileSync(mod, "utf8").replaceAll(`v${sdkVersion}`, "v3.100.0"));
        const bin = join(p.dir, "bin");
        mkdirSync(bin);
        writeFileSync(join(bin, "go"), stubGo(p.builds, p.cli), { mode: 0o755 });
        const result = spawnSync("sh", [join(p.project, "scripts/build-pulumi-tools.sh")], {
            encoding: "utf8", env: { PATH: `${bin}:${p.system}`, HOME: p.dir, XDG_CACHE_HOME: p.cache },
        });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`tools/pulumi/cli/go.mod builds the CLI v3.100.0 but package-lock.json has @pulumi/pulumi ${sdkVersion}`);
        expect(existsSync(p.builds)).toBe(false);
    });

    it("builds from wrapper modules that require the released Pulumi modules, with no replace of them", () => {
        for (const tool of tools) {
            const mod = readFileSync(join(root, "tools/pulumi", tool, "go.mod"), "utf8");
            expect(mod, tool).not.toMatch(/^replace|^\s+github.com\/pulumi\/pulumi\/\S+ =>/m);
        }
        expect(readFileSync(join(root, "tools/pulumi/cli/go.mod"), "utf8")).toMatch(new RegExp(`github.com/pulumi/pulumi/pkg/v3 v${sdkVersion.replaceAll(".", "\\.")}\\b`));
    });
});
