/**
 * Where `npm run stack` gets its Pulumi tools, in this order: the folder PULUMI_TOOLS_DIR names
 * (the CLI and its language host from DIR/bin, the providers put into the plugin cache, nothing
 * downloaded); a `pulumi` on PATH; the download (PulumiCommand.install, test/projectFiles.test.ts
 * has its details). And scripts/pulumi-tools.sh, which finds that folder for .ci/run and the tests.
 * Stubs stand in for the tools: each stub `pulumi` logs its calls with the settings it ran under, so
 * the order is tested in seconds; test/realCli.test.ts runs the real ones.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..");
const sdkVersion: string = JSON.parse(readFileSync(join(root, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;
/**
 * The provider SDKs' versions in the copy's node_modules: made up, so that a stack.sh that named the
 * versions itself (rather than reading them from node_modules) fails here.
 */
const providers = { docker: "5.2.7", command: "1.2.9" } as const;

/**
 * A stub `pulumi` that logs each call with the settings it ran under and which file it is, knows of a
 * password when told to, and installs a plugin as the CLI does (`plugin install resource NAME VERSION
 * --file F` copies F into $PULUMI_HOME/plugins/resource-NAME-vVERSION/).
 */
const stubCli = (log: string, passwordSet = true) => `#!/bin/sh
[ "$1" = version ] && { echo v${sdkVersion}; exit 0; }
echo "$* | cli=$0 | home=\${PULUMI_HOME:-unset} | acquisition-disabled=\${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-unset} | ambient-ignored=\${PULUMI_IGNORE_AMBIENT_PLUGINS:-unset}" >> "${log}"
if [ "$1 $2 $3" = "plugin install resource" ]; then
    plugins="\${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-$4-v$5"
    mkdir -p "$plugins" && cp "$7" "$plugins/pulumi-resource-$4"
fi
[ "$1 $2" = "config get" ] && exit ${passwordSet ? 0 : 1}
exit 0
`;

interface Setup {
    /** A `pulumi` on PATH. */
    readonly cliOnPath?: boolean;
    /** The download of https://get.pulumi.com/install.sh works (it installs the stub CLI). */
    readonly download?: boolean;
    /** PULUMI_TOOLS_DIR: "tools" names the stub tools folder, "empty" a folder without bin/pulumi. */
    readonly toolsDir?: "tools" | "empty";
    /** PULUMI_HOME, or unset (the CLI's default, ~/.pulumi). */
    readonly pulumiHome?: boolean;
}

/**
 * A copy of the project's scripts with only the system tools they need on PATH, node_modules whose
 * @pulumi/docker and @pulumi/command say `providers`' versions, and a stub tools folder laid out as
 * shared/pulumi/unpack.sh leaves it (DIR/bin/pulumi, the language host and both providers).
 */
function makeProject(passwordSet = true) {
    const dir = mkdtempSync(join(tmpdir(), "pulumi-tools-"));
    const project = join(dir, "project");
    mkdirSync(join(project, "scripts"), { recursive: true });
    for (const file of ["stack.sh", "pulumi-cli.js", "pulumi-tools.sh"]) copyFileSync(join(root, "scripts", file), join(project, "scripts", file));
    copyFileSync(join(root, "package-lock.json"), join(project, "package-lock.json"));
    const modules = join(project, "node_modules");
    mkdirSync(join(modules, "@pulumi"), { recursive: true });
    for (const entry of readdirSync(join(root, "node_modules")).filter((e) => e !== "@pulumi")) symlinkSync(join(root, "node_modules", entry), join(modules, entry));
    for (const entry of readdirSync(join(root, "node_modules/@pulumi")).filter((e) => !(e in providers))) symlinkSync(join(root, "node_modules/@pulumi", entry), join(modules, "@pulumi", entry));
    for (const [name, version] of Object.entries(providers)) {
        mkdirSync(join(modules, "@pulumi", name));
        writeFileSync(join(modules, "@pulumi", name, "package.json"), JSON.stringify({ name: `@pulumi/${name}`, version }));
    }
    const system = join(dir, "system");
    mkdirSync(system);
    for (const tool of ["sh", "node", "dirname", "mkdir", "cat", "cp", "id"]) {
        const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        if (found) symlinkSync(found, join(system, tool));
    }
    const log = join(dir, "calls.log");
    const cli = join(dir, "pulumi");
    writeFileSync(cli, stubCli(log, passwordSet), { mode: 0o755 });
    const tools = join(dir, "tools");
    mkdirSync(join(tools, "bin"), { recursive: true });
    copyFileSync(cli, join(tools, "bin/pulumi"));
    for (const file of ["pulumi-language-nodejs", "pulumi-resource-docker", "pulumi-resource-command"]) {
        writeFileSync(join(tools, "bin", file), `#!/bin/sh\n# stub ${file}\nexit 1\n`, { mode: 0o755 });
    }
    return { dir, project, system, log, cli, tools, home: join(dir, "pulumi-home") };
}

function run(p: ReturnType<typeof makeProject>, setup: Setup, args = ["preview", "dev"]) {
    const bin = join(p.dir, "bin");
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    if (setup.cliOnPath) copyFileSync(p.cli, join(bin, "pulumi"));
    const fetches = join(p.dir, "fetches.log");
    const installSh = `while [ $# -gt 0 ]; do [ "$1" = --install-root ] && r=$2; shift; done; mkdir -p "$r/bin" && cp ${p.cli} "$r/bin/pulumi"`;
    const preload = join(p.dir, "fetch-stub.js");
    writeFileSync(preload, `globalThis.fetch = async (url) => {
        require("fs").appendFileSync(${JSON.stringify(fetches)}, url + "\\n");
        if (!${JSON.stringify(setup.download ?? false)}) throw new TypeError("fetch failed");
        return { ok: true, status: 200, text: async () => ${JSON.stringify(installSh)} };
    };\n`);
    for (const file of [p.log, fetches]) rmSync(file, { force: true });
    const toolsDir = setup.toolsDir === "tools" ? p.tools : setup.toolsDir === "empty" ? join(p.dir, "empty") : undefined;
    if (setup.toolsDir === "empty") mkdirSync(join(p.dir, "empty"), { recursive: true });
    const result = spawnSync("sh", [join(p.project, "scripts/stack.sh"), ...args], {
        encoding: "utf8",
        env: {
            PATH: `${bin}:${p.system}`, HOME: p.dir, NODE_OPTIONS: `--require ${preload}`, PULUMI_CONFIG_PASSPHRASE: "pass",
            ...(toolsDir ? { PULUMI_TOOLS_DIR: toolsDir } : {}), ...(setup.pulumiHome ? { PULUMI_HOME: p.home } : {}),
        },
    });
    const lines = (file: string) => existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
    return { ...result, calls: lines(p.log), fetches: lines(fetches) };
}

/** A logged call's fields: "args | cli=... | home=... | ..." as { args, cli, home, ... }. */
function fields(call: string): Record<string, string> {
    const [args, ...rest] = call.split(" | ");
    return { args, ...Object.fromEntries(rest.map((field) => field.split(/=(.*)/s).slice(0, 2))) };
}

const installCall = (p: ReturnType<typeof makeProject>, name: keyof typeof providers) =>
    `plugin install resource ${name} ${providers[name]} --file ${join(p.tools, "bin", `pulumi-resource-${name}`)}`;
const pluginFile = (home: string, name: keyof typeof providers) => join(home, "plugins", `resource-${name}-v${providers[name]}`, `pulumi-resource-${name}`);

describe("npm run stack with PULUMI_TOOLS_DIR: the CLI, language host and providers from that folder", () => {
    it("runs the folder's CLI before a pulumi on PATH and without downloading, puts both providers into the PULUMI_HOME's plugin cache at node_modules' versions, with acquisition disabled and ambient plugins ignored", () => {
        const p = makeProject();
        const { status, stderr, calls, fetches } = run(p, { toolsDir: "tools", pulumiHome: true, cliOnPath: true, download: true });
        expect(stderr).toBe("");
        expect(status).toBe(0);
        expect(fetches).toEqual([]);
        expect(calls.map((c) => fields(c).args)).toEqual([
            installCall(p, "docker"), installCall(p, "command"),
            "stack select --create dev", "config get dbPassword", "preview --stack dev --diff --policy-pack policy",
        ]);
        for (const call of calls.map(fields)) {
            expect(call.cli).toBe(join(p.tools, "bin/pulumi"));
            expect(call.home).toBe(p.home);
            expect(call["acquisition-disabled"]).toBe("true");
            expect(call["ambient-ignored"]).toBe("true");
        }
        for (const name of ["docker", "command"] as const) {
            expect(readFileSync(pluginFile(p.home, name), "utf8")).toBe(readFileSync(join(p.tools, "bin", `pulumi-resource-${name}`), "utf8"));
        }
    });

    it("installs a provider only when the plugin cache lacks it at that version", () => {
        const p = makeProject();
        expect(run(p, { toolsDir: "tools", pulumiHome: true }).status).toBe(0);
        const again = run(p, { toolsDir: "tools", pulumiHome: true });
        expect(again.status).toBe(0);
        expect(again.calls.map((c) => fields(c).args).filter((a) => a.startsWith("plugin "))).toEqual([]);
        // One gone (or another version of it): only that one again.
        rmSync(join(p.home, "plugins", `resource-command-v${providers.command}`), { recursive: true });
        const third = run(p, { toolsDir: "tools", pulumiHome: true });
        expect(third.calls.map((c) => fields(c).args).filter((a) => a.startsWith("plugin "))).toEqual([installCall(p, "command")]);
    });

    it("without PULUMI_HOME, uses the CLI's own default plugin cache, ~/.pulumi/plugins", () => {
        const p = makeProject();
        const { status, calls } = run(p, { toolsDir: "tools" });
        expect(status).toBe(0);
        expect(fields(calls[0]).home).toBe("unset");
        for (const name of ["docker", "command"] as const) expect(existsSync(pluginFile(join(p.dir, ".pulumi"), name)), name).toBe(true);
    });

    it("tells how to set a missing password through npm run stack, since the folder's CLI is not on the operator's PATH", () => {
        const p = makeProject(false);
        const { status, stderr } = run(p, { toolsDir: "tools", pulumiHome: true });
        expect(status).toBe(1);
        expect(stderr).toContain("    npm run stack -- config dev set --secret dbPassword\n");
        expect(stderr).not.toMatch(/^\s*pulumi config/m);
    });

    it("refuses a PULUMI_TOOLS_DIR without bin/pulumi, naming the variable, before running, installing or downloading anything", () => {
        const p = makeProject();
        const { status, stderr, calls, fetches } = run(p, { toolsDir: "empty", cliOnPath: true, download: true, pulumiHome: true });
        expect(status).toBe(1);
        expect(stderr).toContain(`PULUMI_TOOLS_DIR=${join(p.dir, "empty")} has no bin/pulumi`);
        expect(calls).toEqual([]);
        expect(fetches).toEqual([]);
        expect(existsSync(join(p.home, "plugins"))).toBe(false);
    });
});

describe("npm run stack without PULUMI_TOOLS_DIR: a pulumi on PATH, then the download", () => {
    it("uses a pulumi on PATH as it is, without downloading or installing plugins", () => {
        const p = makeProject();
        const { status, calls, fetches } = run(p, { cliOnPath: true, download: true, pulumiHome: true });
        expect(status).toBe(0);
        expect(fetches).toEqual([]);
        expect(calls.map((c) => fields(c).args)).toEqual(["stack select --create dev", "config get dbPassword", "preview --stack dev --diff --policy-pack policy"]);
        expect(fields(calls[0]).cli).toBe(join(p.dir, "bin/pulumi"));
        // Its plugins are its own business: it may download them.
        expect(fields(calls[0])["acquisition-disabled"]).toBe("unset");
        expect(fields(calls[0])["ambient-ignored"]).toBe("unset");
    });

    it("without pulumi on PATH, downloads the CLI into .pulumi-cli/<version> and runs it, which downloads its plugins itself", () => {
        const p = makeProject();
        const { status, calls, fetches } = run(p, { download: true, pulumiHome: true });
        expect(status).toBe(0);
        expect(fetches).toEqual(["https://get.pulumi.com/install.sh"]);
        expect(calls.map((c) => fields(c).args)).toEqual(["stack select --create dev", "config get dbPassword", "preview --stack dev --diff --policy-pack policy"]);
        expect(fields(calls[0]).cli).toBe(join(p.project, ".pulumi-cli", sdkVersion, "bin/pulumi"));
        expect(fields(calls[0])["acquisition-disabled"]).toBe("unset");
    });

    it("scripts/pulumi-cli.js prints only the folder of the downloaded CLI, which stack.sh puts first on PATH", () => {
        const p = makeProject();
        run(p, { download: true });
        const printed = spawnSync("node", [join(p.project, "scripts/pulumi-cli.js")], { encoding: "utf8", env: { PATH: p.system, HOME: p.dir } });
        expect(printed.status).toBe(0);
        expect(printed.stdout).toBe(`${join(p.project, ".pulumi-cli", sdkVersion, "bin")}\n`);
        expect(printed.stderr).toContain(`using the project's Pulumi CLI in`);
    });

    it("without pulumi on PATH and without internet, stops with one line naming the ways out: PULUMI_TOOLS_DIR, or the CLI installed by hand", () => {
        const p = makeProject();
        const { status, stderr, calls } = run(p, {});
        expect(status).toBe(1);
        const lines = stderr.trim().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[1]).toContain(`could not install the Pulumi CLI ${sdkVersion}`);
        expect(lines[1]).toContain("fetch failed");
        expect(lines[1]).toContain("without internet, set PULUMI_TOOLS_DIR=<a folder with bin/pulumi");
        expect(lines[1]).toContain("install it by hand");
        expect(lines[1]).not.toMatch(/\bgo\b|Go modules/);
        expect(calls).toEqual([]);
    });
});

describe("scripts/pulumi-tools.sh: the tools folder for .ci/run and the tests", () => {
    /** The script copied to `<base>/<checkout>/scripts/`, run with a home and cache of its own. */
    function tools(base: string, checkout: string, env: Record<string, string> = {}) {
        mkdirSync(join(base, checkout, "scripts"), { recursive: true });
        copyFileSync(join(root, "scripts/pulumi-tools.sh"), join(base, checkout, "scripts/pulumi-tools.sh"));
        return spawnSync("sh", [join(base, checkout, "scripts/pulumi-tools.sh")], {
            encoding: "utf8", env: { PATH: process.env.PATH, HOME: join(base, "home"), XDG_CACHE_HOME: join(base, "cache"), ...env },
        });
    }
    /** A stub shared/pulumi/unpack.sh that logs its argument and lays out DIR/bin as the real one does, printing DIR/bin. */
    function sharedTools(folder: string, log: string) {
        mkdirSync(join(folder, "shared/pulumi"), { recursive: true });
        writeFileSync(join(folder, "shared/pulumi/unpack.sh"),
            `echo "$1" >> "${log}"\nmkdir -p "$1/bin"\nprintf '#!/bin/sh\\n' > "$1/bin/pulumi"\nchmod 755 "$1/bin/pulumi"\necho "$1/bin"\n`);
    }

    it("passes shellcheck", () => {
        const result = spawnSync("shellcheck", ["--shell=sh", join(root, "scripts/pulumi-tools.sh")], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });

    it("prints PULUMI_TOOLS_DIR when it is set and holds bin/pulumi, and unpacks nothing", () => {
        const base = mkdtempSync(join(tmpdir(), "pulumi-tools-sh-"));
        const log = join(base, "unpacks.log");
        sharedTools(base, log);
        const folder = join(base, "my-tools");
        mkdirSync(join(folder, "bin"), { recursive: true });
        writeFileSync(join(folder, "bin/pulumi"), "#!/bin/sh\n", { mode: 0o755 });
        const result = tools(base, "checkout", { PULUMI_TOOLS_DIR: folder });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`${folder}\n`);
        expect(existsSync(log)).toBe(false);
    });

    it("refuses a PULUMI_TOOLS_DIR without bin/pulumi, naming the variable", () => {
        const base = mkdtempSync(join(tmpdir(), "pulumi-tools-sh-"));
        const result = tools(base, "checkout", { PULUMI_TOOLS_DIR: join(base, "nothing") });
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain(`PULUMI_TOOLS_DIR=${join(base, "nothing")} has no bin/pulumi`);
    });

    it("without the variable, unpacks the nearest ancestor's shared/pulumi into XDG_CACHE_HOME and prints that folder alone", () => {
        const base = mkdtempSync(join(tmpdir(), "pulumi-tools-sh-"));
        const [near, far] = [join(base, "near.log"), join(base, "far.log")];
        sharedTools(base, far);
        sharedTools(join(base, "work"), near);
        const result = tools(join(base, "work"), "checkouts/main");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const cache = join(base, "work/cache/rezept-tagebuch/pulumi-tools");
        expect(result.stdout).toBe(`${cache}\n`);
        expect(readFileSync(near, "utf8")).toBe(`${cache}\n`);
        expect(existsSync(far)).toBe(false);
        expect(existsSync(join(cache, "bin/pulumi"))).toBe(true);
    });

    it("without either, prints nothing and exits 0 (npm run stack then uses a pulumi on PATH or the download)", () => {
        const base = mkdtempSync(join(tmpdir(), "pulumi-tools-sh-"));
        const result = tools(base, "checkout");
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("");
    });
});
