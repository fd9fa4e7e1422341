#!/bin/sh
# Runs before an app deploy changes any container (lib/appImageVolumes.ts): the app's image is on
# the host, and each VOLUME it declares must be a path a named volume of the stack is mounted at.
# Podman would give every new container (and every standby copy) an anonymous volume at any other,
# and nothing removes those: data the app wrote there would be left behind at each replacement.
# Fails naming each such path and the config key that mounts it; changes nothing.
# Parameters:
#   stack                 the stack, for the fix
#   image                 the configured image reference, named in the message
#   image_id              the id it resolved to on the host: what the container will run
#   key                   the config key that lists the paths to mount
#   mounted               the paths the container mounts named volumes at, one a line
set -eu
: "${stack:?}" "${image:?}" "${image_id:?}" "${key:?}" "${mounted:?}"
# Podman keys the image's volumes by the path as written and cleans it only when it makes the
# container (filepath.Clean, pkg/specgen/generate/storage.go): compare cleaned paths.
clean() { sed -e 's#//*#/#g' -e 's#\(.\)/$#\1#'; }
# Apart, not in a pipe: sh would take sed's status, and an image podman cannot read would pass.
declared=$(podman image inspect --format '{{range $path, $_ := .Config.Volumes}}{{println $path}}{{end}}' "$image_id")
declared=$(printf '%s\n' "$declared" | clean)
missing=""
nested=""
for path in $declared; do
    printf '%s\n' "$mounted" | grep -qxF "$path" && continue
    # Below /data: Podman supersedes an image volume only by a mount at the same path, so the app would write there
    # into an anonymous volume over the uploads' folder; no key mounts a path under /data, only the image can change.
    case "$path" in /data/*) nested="$nested $path";; *) missing="$missing $path";; esac
done
for path in $nested; do
    echo "rezept-tagebuch: the app image $image declares VOLUME $path, inside /data where the uploads volume is mounted: Podman would give every app container an anonymous volume there, left behind with its data at each deploy, and no setting can mount it. Nothing was changed. fix: build the image without that VOLUME line (what the app writes under /data stays in the uploads volume), then npm run stack -- up $stack" >&2
done
[ -n "$missing" ] || [ -n "$nested" ] || exit 0
[ -n "$missing" ] || exit 1
# The key's value with every missing path added: what the operator sets.
list=""
for path in $(printf '%s\n' "$mounted" | grep -vxF /data) $missing; do list="$list${list:+,}\"$path\""; done
for path in $missing; do
    echo "rezept-tagebuch: the app image $image declares VOLUME $path, and $key does not list it: Podman would give every app container an anonymous volume there, left behind with its data at each deploy. Nothing was changed." >&2
done
echo "rezept-tagebuch: fix: npm run stack -- config $stack set $key '[$list]' (each path is then mounted from a named volume of the $stack stack, kept across deploys), then npm run stack -- up $stack" >&2
exit 1
