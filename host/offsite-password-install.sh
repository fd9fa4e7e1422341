#!/bin/sh
# Writes the off-host repository's password from stdin into its 0600 file (lib/offsite.ts):
# nothing of it on a command line or in this script. A new password (offsitePassword rotated)
# for a repository that exists already becomes its key first, with `restic key passwd
# --new-password-file` (adds a key for it, checks that it opens the repository, removes the old
# one: cmd/restic/cmd_key.go at v0.14.0, cmd_key_passwd.go at v0.17.3), and only then replaces the
# file: a repository that cannot be reached fails pulumi up and leaves the old password in use.
# Both passwords are only ever in 0600 files, which restic reads mounted into its container.
# A new password that opens the repository already (the key changed by hand) is taken as it is.
# Parameters:
#   environment           the stack: prod, dev or test
#   offsite_script        the off-host script's file, in the folder of the stack's scripts
: "${environment:?}" "${offsite_script:?}"
set -eu
umask 077
# shellcheck source=lib/scope.sh
. "$(dirname "$0")/lib/scope.sh"
scope_folders
mkdir -p "$config_dir"
installed="$config_dir/$password_file"
new=$(mktemp "$installed.new.XXXXXX")
trap 'rm -f "$new" "${rotate_err:-}"' EXIT
cat > "$new"
[ -s "$new" ] || { echo "rezept-tagebuch: the offsite password reached the host empty" >&2; exit 1; }
install_new() { chmod 600 "$new" && mv -f "$new" "$installed"; }
# The first install, or the same password again (another change of the stack reran this).
if [ ! -f "$installed" ]; then install_new; exit 0; fi
if cmp -s "$new" "$installed"; then exit 0; fi
what=offsite
# shellcheck source=lib/restic.sh
. "$(dirname "$0")/lib/restic.sh"
# A repository never reached (or offsiteRepository moved with it) holds no key yet: its first run makes it with the new one.
if ! repository_created; then install_new; exit 0; fi
restic_mount="$new:/run/secrets/restic-new-password:ro"
rotate_err=$(mktemp "$dir/.restic-err.XXXXXX")
if restic key passwd --new-password-file /run/secrets/restic-new-password > /dev/null 2> "$rotate_err"; then
    say "changed the key of $repository to the new offsitePassword"
else
    # Changed by hand already: the new password opens the repository.
    password_file=$new
    restic --no-lock cat config > /dev/null 2>&1 || fail "offsitePassword changed, but the key of offsiteRepository $repository could not be changed to it: $(tail -n 3 "$rotate_err" | tr '\n' ' ')
The old password stays in use, nothing changed. Fix: make $repository reachable (sh $script_dir/$offsite_script list works), then npm run stack -- up $environment again; or set the old password back: npm run stack -- config $environment set --secret offsitePassword"
    say "the new offsitePassword opens $repository already; installed it"
fi
install_new
