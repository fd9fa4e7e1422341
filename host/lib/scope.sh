# shellcheck shell=sh
# The systemd manager the stack's units run under, as the scripts name it in what they print.
# Parameters:
#   scope                 user (rootless Podman: the user's manager, systemctl --user) or system (rootful)
: "${scope:?}"
# shellcheck disable=SC2034 # for the script that sources this
case $scope in
    user) user_opt="--user " ;;
    system) user_opt="" ;;
    *) echo "rezept-tagebuch: scope is '$scope', not user or system" >&2; exit 2 ;;
esac
