// @ts-check
/**
 * For scripts/stack.sh when neither PULUMI_TOOLS_DIR is set nor a `pulumi` is on PATH:
 * installs the Pulumi CLI of the same version as the project's @pulumi/pulumi into
 * .pulumi-cli/<version>/ (git-ignored) with Pulumi's Automation API. An installation
 * already there is used as it is (PulumiCommand.install checks it with `pulumi version`
 * before downloading anything). Prints only the folder of that CLI (its bin), which
 * stack.sh puts first on PATH; messages go to stderr. Where nothing can be downloaded it
 * stops with one line naming the ways out: PULUMI_TOOLS_DIR, or a CLI installed by hand.
 */
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

async function main() {
    console.error(existsSync(join(root, "bin", "pulumi"))
        ? `stack.sh: no pulumi on PATH; using the project's Pulumi CLI in ${shown}`
        : `stack.sh: no pulumi on PATH; installing the Pulumi CLI ${version} (the version of @pulumi/pulumi) into ${shown} with Pulumi's Automation API`);
    try {
        await PulumiCommand.install({ root, version: new SemVer(version) });
    } catch (error) {
        console.error(`stack.sh: could not install the Pulumi CLI ${version} into ${shown}: ${reason(error)}; ` +
            "without internet, set PULUMI_TOOLS_DIR=<a folder with bin/pulumi, bin/pulumi-language-nodejs, bin/pulumi-resource-docker and bin/pulumi-resource-command, " +
            "as shared/pulumi/unpack.sh leaves it> and npm run stack takes the CLI, language host and providers from there (docs/real-engine.md); " +
            `or install it by hand (https://www.pulumi.com/docs/install/: curl -fsSL https://get.pulumi.com | sh -s -- --version ${version}) so that pulumi is on PATH; then run again`);
        process.exit(1);
    }
    process.stdout.write(`${join(root, "bin")}\n`);
}

void main();
