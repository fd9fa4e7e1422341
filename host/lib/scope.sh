# shellcheck shell=sh
# Where the stack's units and files live, by the systemd manager they run under: the user's
# (rootless Podman: systemctl --user, the user's folders) or the system's (rootful: /etc, /usr/local).
# Sets user_opt ("--user " or nothing, as the scripts print systemctl and journalctl commands), and
#   scope_folders        sets unit_dir, script_dir (the backup and restore scripts) and config_dir (the
#                        health check, its webhook file and alert state, the off-host password); in the
#                        user scope they are the user's, so HOME must be set, which the gates need not
#   scope_systemctl ARGS systemctl of the scope's manager
#   find_user_manager    the user manager's XDG_RUNTIME_DIR where no login session set it
#   at_home PATH         PATH with a leading $HOME/ in the home of the user the script runs as
# Parameters:
#   scope                 user or system
: "${scope:?}"
# shellcheck disable=SC2034 # for the script that sources this
case $scope in
    user) user_opt="--user " ;;
    system) user_opt="" ;;
    *) echo "rezept-tagebuch: scope is '$scope', not user or system" >&2; exit 2 ;;
esac
# shellcheck disable=SC2034 # for the script that sources this
scope_folders() {
    if [ "$scope" = user ]; then
        unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
        script_dir="$HOME/.local/lib/rezept-tagebuch"
        config_dir="${XDG_CONFIG_HOME:-$HOME/.config}/rezept-tagebuch"
    else
        unit_dir="/etc/systemd/system"
        script_dir="/usr/local/lib/rezept-tagebuch"
        config_dir="/etc/rezept-tagebuch"
    fi
}
# scope_systemctl ARGS...: systemctl of the scope's manager.
scope_systemctl() { if [ "$scope" = user ]; then systemctl --user "$@"; else systemctl "$@"; fi; }
# at_home PATH: PATH with a leading $HOME/ (as the config writes backupDir, unexpanded) in the home of
# the user the script runs as.
# shellcheck disable=SC2016 # the text $HOME
at_home() { case $1 in '$HOME/'*) printf '%s' "$HOME/${1#'$HOME/'}" ;; *) printf '%s' "$1" ;; esac; }
# find_user_manager: in the user scope, the user manager's XDG_RUNTIME_DIR where no login session set
# it (over SSH, from a command of Pulumi's), so that systemctl --user finds the manager.
find_user_manager() {
    [ "$scope" = user ] || return 0
    XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"
    export XDG_RUNTIME_DIR
}
