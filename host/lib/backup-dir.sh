# shellcheck shell=sh
# The stack's backup folder, as $dir: backup_dir with a leading $HOME/ (as the config writes it)
# the home of the user the script runs as.
# Parameters:
#   backup_dir            the stack's backup folder (backupDir, a folder per stack)
: "${backup_dir?}"
# shellcheck disable=SC2016,SC2034 # the text $HOME, as the config has it; dir is for the script that sources this
case $backup_dir in
    '$HOME/'*) dir="$HOME/${backup_dir#'$HOME/'}" ;;
    *) dir=$backup_dir ;;
esac
