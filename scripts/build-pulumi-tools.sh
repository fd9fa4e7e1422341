#!/bin/sh
# Builds the Pulumi CLI and the Node.js language host from Go modules, with the Go
# module proxy as the only source, into a cache folder outside the checkout:
#   ${PULUMI_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rezept-tagebuch/pulumi-tools}/<key>/bin/
# and prints that bin folder on stdout (progress goes to stderr). <key> names the
# versions and a hash of the wrapper modules (tools/pulumi/*/go.mod, go.sum) and of this
# script, so a change to either builds anew. A finished folder has the file `complete`,
# written last: a build that was killed leaves no `complete` and is done again.
# No input, idempotent; run it from anywhere. docs/real-engine.md says what is built and why.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools/pulumi"
say() { echo "build-pulumi-tools: $*" >&2; }

command -v go >/dev/null 2>&1 || { say "no go on PATH: install Go (https://go.dev/doc/install) or put its bin folder on PATH"; exit 1; }

# The version a wrapper's go.mod requires of a module.
required() { sed -n "s#^[[:space:]]*$2 \(v[^ ]*\).*#\1#p" "$tools/$1/go.mod" | head -n 1; }
cli_version=$(required cli github.com/pulumi/pulumi/pkg/v3)
nodejs_version=$(required language-nodejs github.com/pulumi/pulumi/sdk/v3)
if [ -z "$cli_version" ] || [ -z "$nodejs_version" ]; then say "cannot read the versions from $tools/*/go.mod"; exit 1; fi

# The CLI must be the release of the SDK the program runs with (package-lock.json).
sdk_version=$(node -p 'require(process.argv[1]).packages["node_modules/@pulumi/pulumi"].version' "$root/package-lock.json")
if [ "v$sdk_version" != "$cli_version" ]; then
    say "tools/pulumi/cli/go.mod builds the CLI $cli_version but package-lock.json has @pulumi/pulumi $sdk_version; change the pkg/v3 and sdk/v3 versions there to v$sdk_version and run go mod tidy in tools/pulumi/cli"
    exit 1
fi

go_version=$(go env GOVERSION)
hash=$(cat "$tools"/*/go.mod "$tools"/*/go.sum "$tools"/*/*.go "$0" | sha256sum | cut -c1-12)
cache=${PULUMI_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rezept-tagebuch/pulumi-tools}
key="pulumi-$cli_version.nodejs-$nodejs_version.$go_version.$hash"
dir="$cache/$key"

if [ -f "$dir/complete" ]; then
    say "using $dir"
    echo "$dir/bin"
    exit 0
fi

mkdir -p "$cache"
# One build at a time per cache: a second caller waits for the lock, then runs this script
# again and finds the folder complete.
if command -v flock >/dev/null 2>&1 && [ -z "${BUILD_PULUMI_TOOLS_LOCKED:-}" ]; then
    BUILD_PULUMI_TOOLS_LOCKED=1 exec flock "$cache/.lock" sh "$0" "$@"
fi

# The machine is shared (2 cores): build at the lowest priority.
low=""
command -v nice >/dev/null 2>&1 && low="nice -n 19"
command -v ionice >/dev/null 2>&1 && low="$low ionice -c3"

rm -rf "$dir"
mkdir -p "$dir/bin"
: > "$dir/build-times.txt"

# build NAME MODULE_DIR VERSION_VARIABLE VERSION PACKAGE: the release's flags (pulumi/pulumi
# .goreleaser.yml: -trimpath, -ldflags "-w -s -X <version variable>=v<version>", tags
# osusergo,grpcnotrace; scripts/go-wrapper.sh) and CGO_ENABLED=0 (a static binary).
build() {
    say "building $1 $4 ($5) into $dir/bin ..."
    start=$(date +%s)
    (cd "$tools/$2" && CGO_ENABLED=0 $low go build -mod=readonly -trimpath -tags osusergo,grpcnotrace \
        -ldflags "-w -s -X $3=$4" -o "$dir/bin/$1" "$5")
    seconds=$(( $(date +%s) - start ))
    echo "$1 $4 $seconds s" >> "$dir/build-times.txt"
    say "built $1 in $seconds s"
}

build pulumi cli github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "$cli_version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
# Next to the CLI, where it looks for its bundled language hosts (sdk/go/common/workspace/plugins.go,
# getPluginInfoAndPath: "look next to the instance of `pulumi` that is running"): the real host
# of the newest version the proxy serves, behind our front that adds the RPC it lacks
# (tools/pulumi/language-nodejs-front/main.go says why).
build pulumi-language-nodejs-upstream language-nodejs github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "$nodejs_version" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
build pulumi-language-nodejs language-nodejs-front github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "$nodejs_version" .

touch "$dir/complete"
say "done: $dir ($(du -sh "$dir" | cut -f1))"
echo "$dir/bin"
