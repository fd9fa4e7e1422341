#!/bin/sh
# Prints the folder of the prebuilt Pulumi tools for a machine without internet, laid out as
# shared/pulumi/unpack.sh leaves it (DIR/bin/pulumi, pulumi-language-nodejs, and the providers
# pulumi-resource-docker and pulumi-resource-command): PULUMI_TOOLS_DIR when it is set; else the
# nearest shared/pulumi beside the checkout or above it (the developers' and CI's copy), unpacked
# into the cache outside the checkout. Prints nothing when there is neither: `npm run stack` then
# uses a pulumi on PATH or downloads the CLI, which downloads its plugins itself.
# Used by .ci/run (which exports PULUMI_TOOLS_DIR for the test suites and the e2e) and
# test/realCli.test.ts; operators set PULUMI_TOOLS_DIR.
set -eu
if [ -n "${PULUMI_TOOLS_DIR:-}" ]; then
    [ -x "$PULUMI_TOOLS_DIR/bin/pulumi" ] || { echo "pulumi-tools.sh: PULUMI_TOOLS_DIR=$PULUMI_TOOLS_DIR has no bin/pulumi; point it at a folder laid out as shared/pulumi/unpack.sh leaves it (DIR/bin/pulumi ...)" >&2; exit 1; }
    echo "$PULUMI_TOOLS_DIR"
    exit 0
fi
dir=$(cd "$(dirname "$0")/.." && pwd)
while [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    if [ -f "$dir/shared/pulumi/unpack.sh" ]; then
        cache="${XDG_CACHE_HOME:-$HOME/.cache}/rezept-tagebuch/pulumi-tools"
        mkdir -p "$cache"
        # unpack.sh writes each binary as NAME.partial and then renames it: two runs at once (test
        # files, a developer's shell) would write the same .partial, so they take turns.
        if command -v flock >/dev/null 2>&1; then
            flock "$cache/.unpack.lock" sh "$dir/shared/pulumi/unpack.sh" "$cache" >/dev/null
        else
            sh "$dir/shared/pulumi/unpack.sh" "$cache" >/dev/null
        fi
        echo "$cache"
        exit 0
    fi
done
