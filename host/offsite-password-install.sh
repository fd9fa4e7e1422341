#!/bin/sh
# Writes the off-host repository's password from stdin into its 0600 file (lib/offsite.ts):
# nothing of it on a command line or in this script.
# Parameters:
#   password_file         the password's file, in the config folder
: "${password_file:?}"
set -eu
umask 077
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
mkdir -p "$config_dir"
file="$config_dir/$password_file"
cat > "$file.tmp"
[ -s "$file.tmp" ] || { rm -f "$file.tmp"; echo "rezept-tagebuch: the offsite password reached the host empty" >&2; exit 1; }
chmod 600 "$file.tmp" && mv -f "$file.tmp" "$file"
