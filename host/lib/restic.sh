# shellcheck shell=sh
# What every script that talks to the off-host restic repository starts with (lib/offsite.ts):
# where things are, say and fail under the script's name ($what, set before this), and
#   restic ARGS            restic in its official image's container: the backup folder at /backup,
#                          its cache at /cache, the password file read-only, the user's SSH key and
#                          known_hosts for an sftp: repository, a repository on another disk at its
#                          own path, and $restic_mount, a further SOURCE:DEST[:ro] volume, where the
#                          script sets one; tried again while another run holds the repository's lock
#   restic_creating ARGS   the same, making a repository that does not exist yet first (each restic
#                          run is a container start: no separate look whether it exists)
#   repository_created     whether the repository configured now answered before (the marker names it)
# The repository's password is in a 0600 file (host/offsite-password-install.sh), which restic
# reads mounted into its container (RESTIC_PASSWORD_FILE): never a command line, a unit, a script
# or a log.
# Parameters:
#   repository            the restic repository: sftp:user@host:/path, rest:https://host/path or a path on another disk
#   restic_image          the pinned restic image (its ENTRYPOINT is restic)
#   restic_host           restic's host name for the stack's snapshots: each stack selects, restores and forgets its own only
#   password_file         the repository's password file, in the config folder
#   created_file          the file naming the repository once it answered, in the config folder
#   restic_cache          restic's cache folder, in the user's cache folder
#   backup_dir            the stack's backup folder (backupDir, a folder per stack); a leading $HOME/ is the user's home
: "${what:?}" "${environment:?}" "${repository:?}" "${restic_image:?}" "${restic_host:?}" "${password_file:?}" "${created_file:?}" "${restic_cache:?}" "${backup_dir:?}"
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
dir=$(at_home "$backup_dir")
password_file="$config_dir/$password_file"
# Written once a repository answered, naming it: from then on that repository missing is a fault, never made anew.
# Another repository (offsiteRepository moved) is made at its first run, as the first one was.
created_file="$config_dir/$created_file"
say() { echo "rezept-tagebuch $what $environment: $*"; }
fail() { echo "rezept-tagebuch $what $environment: $*" >&2; exit 1; }
# An empty marker was made before markers named their repository: it stands for the one configured now.
repository_created() { [ -f "$created_file" ] && { [ ! -s "$created_file" ] || [ "$(cat "$created_file")" = "$repository" ]; }; }
mark_created() { printf '%s\n' "$repository" > "$created_file.$$" && mv -f "$created_file.$$" "$created_file"; }
[ -f "$password_file" ] || fail "no repository password at $password_file; install it: npm run stack -- up $environment"
# restic's cache (index and snapshot files, encrypted): without it every run reads every index file of the
# repository, and a WAL upload every 30 s adds one, so each upload of a day would take longer than the last.
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/rezept-tagebuch/$restic_cache"
mkdir -p "$dir" "$cache_dir" && chmod 700 "$dir"
# ssh's defaults in restic's container (its system-wide ssh_config; the user's ~/.ssh/config, read first, wins): a
# server that accepts the connection and then stops answering (stalled, paused, a dead NAT entry) ends the run within
# a minute (ServerAliveInterval x ServerAliveCountMax, ssh_config(5)) instead of its unit's time limit; ConnectTimeout
# also bounds the SSH handshake, where ServerAlive does not yet apply. restic's sftp backend runs
# `ssh [-p PORT] [-l USER] HOST -s sftp` with no options of its own (internal/backend/sftp/sftp.go buildSSHCommand).
ssh_defaults="$cache_dir.ssh_config"
case $repository in sftp:*) printf '%s\n' "Host *" "    ConnectTimeout 30" "    ServerAliveInterval 15" "    ServerAliveCountMax 4" > "$ssh_defaults" ;; esac
restic_once() {
    set -- "$restic_image" --cache-dir=/cache --repo "$repository" "$@"
    # A path on another disk is made only before the first success (podman needs a volume's source to exist).
    case $repository in /*) { repository_created || mkdir -p "$repository"; } && set -- --volume "$repository:$repository" "$@" ;; esac
    if [ -d "$HOME/.ssh" ]; then set -- --volume "$HOME/.ssh:/root/.ssh:ro" "$@"; fi
    case $repository in sftp:*) set -- --volume "$ssh_defaults:/etc/ssh/ssh_config:ro" "$@" ;; esac
    if [ -n "${restic_mount:-}" ]; then set -- --volume "$restic_mount" "$@"; fi
    # --pull=never: the image is the one pulumi up pulled and the stack holds (components/backups.ts); a run at night
    # fetches nothing. podman image prune -a removes it all the same (no container uses it between runs): its fix, then.
    podman run --rm -i --pull=never --volume "$dir:/backup" --volume "$cache_dir:/cache" --volume "$password_file:/run/secrets/restic-password:ro" \
        --env RESTIC_PASSWORD_FILE=/run/secrets/restic-password "$@" && return 0 || restic_once_status=$?
    [ "$restic_once_status" -ne 125 ] || podman image exists "$restic_image" \
        || echo "the restic image $restic_image is not on this host (podman image prune -a removes images no container uses); put it back: npm run stack -- up $environment --refresh" >&2
    return "$restic_once_status"
}
# restic ARGS, again 5 s after each try, 60 tries (with each try's two container starts about 10 minutes) while
# another run holds the repository's lock: restic takes it
# once and gives up (cmd/restic/lock.go at v0.14.0; --retry-lock only from 0.16), and with a WAL upload every 30 s
# an exclusive lock (forget, prune, check) would often meet one. `unlock` between tries removes only stale locks
# (older than 30 minutes: a run killed by its unit's timeout, internal/restic/lock.go).
restic() {
    restic_lock_err=$(mktemp "$dir/.restic-lock.XXXXXX")
    restic_tries=0
    while :; do
        restic_status=0
        restic_once "$@" 2> "$restic_lock_err" || restic_status=$?
        if [ "$restic_status" -eq 0 ] || [ "$restic_tries" -ge 60 ] || ! grep -q "repository is already locked" "$restic_lock_err"; then break; fi
        restic_tries=$((restic_tries + 1))
        restic_once unlock > /dev/null 2>&1 || true
        sleep 5
    done
    cat "$restic_lock_err" >&2; rm -f "$restic_lock_err"
    return "$restic_status"
}
# restic ARGS, the repository made first where it does not exist yet (restic: "Is there a repository at the
# following location?"); on any other error (unreachable, wrong password) restic's last lines are in $restic_error.
# Its error file is its own: the WAL upload and the nightly copy run side by side in one backup directory.
restic_creating() {
    restic_err=$(mktemp "$dir/.restic-err.XXXXXX")
    if restic "$@" 2> "$restic_err"; then rm -f "$restic_err"; [ "$(cat "$created_file" 2>/dev/null)" = "$repository" ] || mark_created; return 0; fi
    # Only before the first success: restic says this for any failed look at its config, also of a disk that is not
    # mounted (cmd/restic/global.go open()), and a repository made there would keep the copies on this host.
    if ! repository_created && grep -q "Is there a repository at the following location" "$restic_err"; then
        restic init > /dev/null 2> "$restic_err" && say "created the repository $repository" && mark_created && restic "$@" 2> "$restic_err" && rm -f "$restic_err" && return 0
    fi
    # shellcheck disable=SC2034 # for the script that sources this
    restic_error=$(tail -n 3 "$restic_err" | tr '\n' ' '); rm -f "$restic_err"
    return 1
}
