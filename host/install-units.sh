#!/bin/sh
# Installs a stack's systemd units and the scripts they, or the operator, run (lib/systemd.ts):
# removes what an earlier install of the stack put there and this one does not (a unit stopped
# and disabled first), writes the units and scripts atomically, reloads systemd, enables and
# starts the units that have an [Install] section, database first, and lists what it installed.
# Idempotent; it touches only the files it names and those it listed before. So a setting that
# adds or drops files (off-host backups, the app) is an update in place: the containers that stay
# keep running.
# Parameters:
#   environment           the stack: prod, dev or test
#   units                 the unit files: names, one a line, and their texts in units_<n>
#   scripts               the scripts, in the script folder: names, and their texts in scripts_<n>
#   enabled               the units to enable and start, in that order, one a line
#   installed_list        the file listing what the install put there ("unit NAME", "script NAME" lines), in the script folder
: "${environment:?}" "${units:?}" "${scripts?}" "${enabled?}" "${installed_list:?}"
# shellcheck source=lib/units.sh
. "$(dirname "$0")/lib/units.sh"
mkdir -p "$unit_dir"
mkdir -p "$script_dir"
nl='
'
listed=
for name in $units; do listed="$listed${listed:+$nl}unit $name"; done
for name in $scripts; do listed="$listed${listed:+$nl}script $name"; done
if [ -f "$script_dir/$installed_list" ]; then
    while read -r kind name; do
        case "$nl$listed$nl" in *"$nl$kind $name$nl"*) continue ;; esac
        case $kind in
            unit) if [ -e "$unit_dir/$name" ]; then scope_systemctl disable --now "$name" || true; rm -f "$unit_dir/$name"; echo "rezept-tagebuch: removed $name"; fi ;;
            script) rm -f "$script_dir/$name" ;;
        esac
    done < "$script_dir/$installed_list"
fi
write_files "$unit_dir" 644 units
write_files "$script_dir" 755 scripts
# The list as soon as the files are there: an install whose start fails has put them there all the same.
write_file "$script_dir" "$installed_list" "$listed$nl" 644
reload
for name in $enabled; do unit_ctl "$name" enable; done
for name in $enabled; do unit_ctl "$name" start; done
all=; for name in $units $scripts; do all="${all:+$all }$name"; done
echo "rezept-tagebuch: installed $all"
