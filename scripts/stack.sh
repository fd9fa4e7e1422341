#!/bin/sh
# Runs `pulumi preview` or `pulumi up` for one stack with the defaults of this
# project: the local file backend (no account) and passphrase-encrypted secrets.
# `adopt` hands the containers made by hand over to the stack (scripts/adopt.ts), then runs up.
# Usage: npm run stack -- preview|up|adopt prod|dev|test
set -eu

usage() { echo "usage: npm run stack -- preview|up|adopt prod|dev|test" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1 stack=$2
case "$action" in preview|up|adopt) ;; *) echo "stack.sh: unknown action '$action'; use preview, up or adopt" >&2; usage ;; esac
case "$stack" in prod|dev|test) ;; *) echo "stack.sh: unknown stack '$stack'; use prod, dev or test" >&2; usage ;; esac

cd "$(dirname "$0")/.."
[ -d node_modules/@pulumi/pulumi ] || npm ci
# A pulumi on PATH is used as it is; otherwise the project's own, installed on first use,
# or built from Go modules where it cannot be downloaded (scripts/pulumi-cli.js).
if ! command -v pulumi >/dev/null 2>&1; then
    cli=$(node scripts/pulumi-cli.js) || exit 1
    PATH="${cli#* }:$PATH"
    export PATH
    # A local build has no plugin downloads to fall back on: the CLI takes the plugins built beside it.
    if [ "${cli%% *}" = local-build ]; then
        export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    fi
fi

# State on this machine unless the operator chose another backend.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi-state}"
mkdir -p "${PULUMI_BACKEND_URL#file://}" 2>/dev/null || true
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "stack.sh: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the stack's secrets" >&2
    exit 1
fi

pulumi stack select --create "$stack"
if ! pulumi config get dbPassword >/dev/null 2>&1; then
    if [ -t 0 ]; then
        echo "stack.sh: the $stack stack has no database password yet; enter it (stored encrypted):" >&2
        pulumi config set --secret --stack "$stack" dbPassword
    else
        echo "stack.sh: the $stack stack has no database password yet; set it once with:" >&2
        # The CLI's path, as it may be one that the operator's PATH lacks (the download or the local build).
        echo "    PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL $(command -v pulumi) config set --secret --stack $stack dbPassword" >&2
        exit 1
    fi
fi
# The policy pack (policy/) is mandatory on both: a violation stops the deploy as it fails the preview.
if [ "$action" = up ]; then
    exec pulumi up --stack "$stack" --policy-pack policy
fi
if [ "$action" = adopt ]; then
    exec node_modules/.bin/ts-node --transpile-only scripts/adopt.ts "$stack" --yes
fi
exec pulumi preview --stack "$stack" --diff --policy-pack policy
