#!/bin/sh
# Removes the off-host repository's password file, with the stack (lib/offsite.ts).
# Parameters:
#   password_file         the password's file, in the config folder
: "${password_file:?}"
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
rm -f "$config_dir/$password_file"
