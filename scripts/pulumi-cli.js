// @ts-check
/**
 * For scripts/stack.sh when no `pulumi` is on PATH: installs the Pulumi CLI of the same
 * version as the project's @pulumi/pulumi into .pulumi-cli/<version>/ (git-ignored) with
 * Pulumi's Automation API. An installation already there is used as it is
 * (PulumiCommand.install checks it with `pulumi version` before downloading anything).
 * Where that download cannot be had (no internet) and `go` is on PATH, it builds the CLI
 * from Go modules instead (scripts/build-pulumi-tools.sh, cached outside the checkout).
 * Prints one line for stack.sh: `download <folder>` or `local-build <folder>`, the folder
 * of the `pulumi` to put first on PATH. Messages go to stderr.
 */
const { spawnSync } = require("node:child_process");
const { existsSync } = require("node:fs");
const { join, relative } = require("node:path");
const { SemVer } = require("semver");
const { PulumiCommand } = require("@pulumi/pulumi/automation");

const project = join(__dirname, "..");
// The SDK the program runs with; the CLI of the same version speaks its protocol.
const version = require("@pulumi/pulumi/package.json").version;
const root = join(project, ".pulumi-cli", version);
const shown = relative(process.cwd(), root) || root;

/**
 * install downloads https://get.pulumi.com/install.sh and runs it, which downloads the release:
 * either can fail. A failed script comes as a CommandError whose message spans lines
 * ("code: .. stdout: .. stderr: Command failed with exit code N: /bin/sh <temp file> ..\n<its stderr> err?: .."):
 * keep what the script said, on one line.
 */
function reason(error) {
    const message = String(error instanceof Error ? error.message : error);
    const stderr = /\bstderr: ([\s\S]*?)\n\s*err\?:/.exec(message)?.[1] ?? message;
    return stderr.replace(/^Command failed with exit code (\d+):[^\n]*/, "https://get.pulumi.com/install.sh failed (exit code $1):")
        .replace(/\s+/g, " ").trim().slice(0, 400);
}

const goOnPath = () => spawnSync("sh", ["-c", "command -v go"], { stdio: "ignore" }).status === 0;

/** Builds the CLI and its Node.js language host from Go modules; the folder they are in, or undefined. */
function buildLocally() {
    const build = spawnSync("sh", [join(project, "scripts", "build-pulumi-tools.sh")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
    return build.status === 0 ? build.stdout.trim().split("\n").at(-1) : undefined;
}

async function main() {
    console.error(existsSync(join(root, "bin", "pulumi"))
        ? `stack.sh: no pulumi on PATH; using the project's Pulumi CLI in ${shown}`
        : `stack.sh: no pulumi on PATH; installing the Pulumi CLI ${version} (the version of @pulumi/pulumi) into ${shown} with Pulumi's Automation API`);
    try {
        await PulumiCommand.install({ root, version: new SemVer(version) });
        process.stdout.write(`download ${join(root, "bin")}\n`);
        return;
    } catch (error) {
        const why = `stack.sh: could not install the Pulumi CLI ${version} into ${shown}: ${reason(error)}`;
        const byHand = `install it by hand (https://www.pulumi.com/docs/install/: curl -fsSL https://get.pulumi.com | sh -s -- --version ${version}) so that pulumi is on PATH`;
        if (!goOnPath()) {
            console.error(`${why}; ${byHand}, or put Go (https://go.dev/doc/install) on PATH to build it here from Go modules, and run again`);
            process.exit(1);
        }
        console.error(`${why}; building it from Go modules with scripts/build-pulumi-tools.sh instead (slow once, then reused)`);
    }
    const folder = buildLocally();
    if (folder === undefined) {
        console.error(`stack.sh: could not build the Pulumi CLI ${version} from Go modules (scripts/build-pulumi-tools.sh said why, above); fix that, or install the CLI by hand so that pulumi is on PATH, and run again`);
        process.exit(1);
    }
    process.stdout.write(`local-build ${folder}\n`);
}

void main();
