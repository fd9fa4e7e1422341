#!/bin/sh
# Runs the Pulumi CLI for one stack with the defaults of this project: the local file
# backend (no account), passphrase-encrypted secrets, the policy pack, and the CLI found
# on PATH or the project's own copy (which is not on PATH: every hint names this script).
# `adopt` hands the containers made by hand over to the stack (scripts/adopt.ts), then runs up.
# Usage: npm run stack -- ACTION STACK [arguments for the CLI...]
set -eu

usage() {
    echo "usage: npm run stack -- preview|up|adopt|refresh|output|destroy prod|dev|test [arguments...]" >&2
    echo "       npm run stack -- config prod|dev|test [set|get|rm ...], e.g. config dev set --secret dbPassword (it prompts)" >&2
    exit 2
}
[ $# -ge 2 ] || usage
action=$1 stack=$2
shift 2
case "$action" in preview|up|adopt|config|output|refresh|destroy) ;;
    *) echo "stack.sh: unknown action '$action'; use preview, up, adopt, config, output, refresh or destroy" >&2; usage ;; esac
case "$stack" in prod|dev|test) ;; *) echo "stack.sh: unknown stack '$stack'; use prod, dev or test" >&2; usage ;; esac

cd "$(dirname "$0")/.."
[ -d node_modules/@pulumi/pulumi ] || npm ci
# Where there is no internet, PULUMI_TOOLS_DIR names a folder of the tools laid out as
# shared/pulumi/unpack.sh leaves it (DIR/bin/...): the CLI and its Node.js language host from
# there, the providers into the plugin cache of the PULUMI_HOME in use at the versions of the
# SDKs in node_modules (where the CLI looks for them quietly and checks the version), and no
# download tried. PULUMI_IGNORE_AMBIENT_PLUGINS: the providers in DIR/bin are not taken from PATH
# (whatever their version, with a warning on every run); the language host is still found beside the CLI.
# Otherwise a pulumi on PATH is used as it is, or the project's own, downloaded on first use (scripts/pulumi-cli.js).
if [ -n "${PULUMI_TOOLS_DIR:-}" ]; then
    [ -x "$PULUMI_TOOLS_DIR/bin/pulumi" ] || { echo "stack.sh: PULUMI_TOOLS_DIR=$PULUMI_TOOLS_DIR has no bin/pulumi; point it at a folder laid out as shared/pulumi/unpack.sh leaves it (DIR/bin/pulumi, DIR/bin/pulumi-resource-docker, ...)" >&2; exit 1; }
    PATH="$PULUMI_TOOLS_DIR/bin:$PATH"
    export PATH PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_IGNORE_AMBIENT_PLUGINS=true
    for provider in docker command; do
        version=$(node -p "require('@pulumi/$provider/package.json').version")
        [ -x "${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-$provider-v$version/pulumi-resource-$provider" ] ||
            pulumi plugin install resource "$provider" "$version" --file "$PULUMI_TOOLS_DIR/bin/pulumi-resource-$provider" >&2
    done
elif ! command -v pulumi >/dev/null 2>&1; then
    cli=$(node scripts/pulumi-cli.js) || exit 1
    PATH="$cli:$PATH"
    export PATH
fi

# State on this machine unless the operator chose another backend.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi-state}"
mkdir -p "${PULUMI_BACKEND_URL#file://}" 2>/dev/null || true
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "stack.sh: set PULUMI_CONFIG_PASSPHRASE_FILE to a file (mode 0600) holding the passphrase that encrypts the stack's secrets, e.g. export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/rezept-tagebuch/passphrase" >&2
    exit 1
fi

# The rootless Podman socket of the user running this (the host's podman.socket), unless
# DOCKER_HOST names one: the docker provider reads DOCKER_HOST when the stack sets no
# dockerHost (kreuzwerker/terraform-provider-docker internal/provider/provider.go, "host":
# schema.EnvDefaultFunc("DOCKER_HOST", "unix:///var/run/docker.sock"), which @pulumi/docker wraps),
# so nobody has to export it in every shell. Rootful Podman's socket otherwise.
if [ -z "${DOCKER_HOST:-}" ]; then
    for socket in "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/podman/podman.sock" /run/podman/podman.sock; do
        if [ -S "$socket" ]; then export DOCKER_HOST="unix://$socket"; break; fi
    done
fi

case "$action" in
    config)
        # A new stack's first `config set` needs the stack. A secret comes from the CLI's prompt or
        # stdin, never from this command line: `config set --secret KEY` without a value asks for it.
        pulumi stack select --create "$stack" >/dev/null
        exec pulumi config --stack "$stack" "$@" ;;
    output) exec pulumi stack output --stack "$stack" "$@" ;;
    refresh) exec pulumi refresh --stack "$stack" "$@" ;;
    destroy)
        # `--exclude-protected`: "Do not destroy protected resources. Destroy all other resources."
        # (pulumi destroy --help, v3.248.0). The database's volume is protected; every volume is retainOnDelete
        # (components/hostResources.ts), so the uploads and WAL volumes leave the stack and stay on the host.
        echo "stack.sh: destroy removes the $stack stack's containers, network, units and scripts, and keeps its data volumes on the host (the database's, protected, in the stack too); see the README, Destroy" >&2
        exec pulumi destroy --stack "$stack" --exclude-protected "$@" ;;
esac

pulumi stack select --create "$stack"
if ! pulumi config get dbPassword >/dev/null 2>&1; then
    if [ -t 0 ]; then
        echo "stack.sh: the $stack stack has no database password yet; enter it (stored encrypted):" >&2
        pulumi config set --secret --stack "$stack" dbPassword
    else
        echo "stack.sh: the $stack stack has no database password yet; set it once with (it prompts, or reads standard input):" >&2
        echo "    npm run stack -- config $stack set --secret dbPassword" >&2
        exit 1
    fi
fi
# The policy pack (policy/) is mandatory on both: a violation stops the deploy as it fails the preview.
if [ "$action" = up ]; then
    exec pulumi up --stack "$stack" --policy-pack policy "$@"
fi
if [ "$action" = adopt ]; then
    exec node_modules/.bin/ts-node --transpile-only scripts/adopt.ts "$stack" --yes "$@"
fi
exec pulumi preview --stack "$stack" --diff --policy-pack policy "$@"
