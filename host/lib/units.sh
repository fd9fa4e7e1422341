# shellcheck shell=sh
# What the scripts that install and remove a stack's units share (lib/systemd.ts, lib/healthUnits.ts):
#   unit_ctl UNIT ARGS...          systemctl ARGS UNIT of the scope's manager, failing loudly with where to look
#   reload                         systemctl daemon-reload, failing loudly
#   write_file DIR NAME TEXT MODE  the file written atomically: a temp file, then renamed
#   write_files DIR MODE LIST      each file of the list parameter LIST: its names in $LIST, one a line, their
#                                  texts in LIST_1, LIST_2, ... in that order
set -eu
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
find_user_manager
unit_ctl() {
    unit=$1; shift
    if ! scope_systemctl "$@" "$unit"; then
        echo "rezept-tagebuch: systemctl ${user_opt}$* $unit failed; see: journalctl ${user_opt}-u $unit" >&2
        exit 1
    fi
}
reload() {
    scope_systemctl daemon-reload || { echo "rezept-tagebuch: systemctl daemon-reload failed" >&2; exit 1; }
}
write_file() {
    tmp="$1/.$2.tmp.$$"
    printf '%s' "$3" > "$tmp"
    chmod "$4" "$tmp"
    mv -f "$tmp" "$1/$2"
}
write_files() {
    n=0
    text='' names=''
    eval "names=\$$3"
    for name in $names; do
        n=$((n + 1))
        eval "text=\${${3}_$n}"
        write_file "$1" "$name" "$text" "$2"
    done
}
