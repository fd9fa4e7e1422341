#!/bin/sh
# Removes a stack's systemd units (lib/systemd.ts): stops and disables them and deletes their files
# and scripts; volumes, backups and other stacks are untouched.
# Parameters:
#   environment           the stack: prod, dev or test
#   disable               the units to stop and disable, in that order (timers and the app before the database), one a line
#   others                the other unit files (the oneshots the timers start)
#   scripts               the scripts, in the script folder
#   installed_list        the file listing what the install put there, in the script folder
: "${environment:?}" "${disable?}" "${others?}" "${scripts?}" "${installed_list:?}"
# shellcheck source=lib/units.sh
. "$(dirname "$0")/lib/units.sh"
for name in $disable; do
    if [ -e "$unit_dir/$name" ]; then
        unit_ctl "$name" disable --now
        rm -f "$unit_dir/$name"
    fi
done
for name in $others; do rm -f "$unit_dir/$name"; done
for name in $scripts; do rm -f "$script_dir/$name"; done
rm -f "$script_dir/$installed_list"
reload
all=; for name in $disable $others $scripts; do all="${all:+$all }$name"; done
echo "rezept-tagebuch: removed $all"
