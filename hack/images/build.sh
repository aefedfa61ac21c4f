#!/usr/bin/env bash
# Builds the operator and game images from Dockerfile.operator and Dockerfile.game with buildah,
# offline, from the local base images (hack/images/base-images.sh), and writes each as an OCI
# archive that containerd imports (`ctr images import`).
#
#   hack/images/build.sh [operator|game]...    (default: both)
#
# Environment: IMAGE_TAG (default `dev`): the tag, and the version the game binary reports (`dev`
# reports the crate version); a game tag ending in -unready or -errors builds a test-only server
# with that fault compiled in (game-server/src/fault.rs). IMAGE_OPTIMIZE=full: thin LTO and 4 codegen units, as published
# images are built (default: no LTO, 16 codegen units, for a shorter test loop). Layers are kept in the buildah storage under the cache, so a warm build
# only recompiles the workspace crates. Prints one `NAME ARCHIVE` line per image on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=hack/images/lib.sh
source "$here/lib.sh"
"$here/base-images.sh" >/dev/null
tag=${IMAGE_TAG:-dev}
what=("$@")
((${#what[@]})) || what=(operator game)
mkdir -p "$images_dir/archives"
# One build at a time per cache (hack/test.sh prebuilds while the tests may ask for the same image):
# a second caller waits, then finds every layer cached.
exec 9>"$images_dir/.build.lock"
flock 9
arch=$(dpkg --print-architecture)
fault_of() {
  [[ $1 == game ]] || return 0
  case $2 in *-unready) echo unready ;; *-errors) echo errors ;; esac
}
if [[ ${IMAGE_OPTIMIZE:-} == full ]]; then lto=thin units=4; else lto=false units=16; fi
for name in "${what[@]}"; do
  case $name in
    operator) ref=localhost/tetris-operator:$tag ;;
    game) ref=localhost/tetris-game-server:$tag ;;
    *) echo "unknown image '$name' (operator or game)" >&2; exit 2 ;;
  esac
  start=$SECONDS
  args=(--build-arg BUILD_IMAGE=localhost/tetris/rust-build-base:1.95
    --build-arg RUNTIME_IMAGE=localhost/tetris/runtime-base:bookworm
    # buildah 1.28 sets no platform arguments of its own; these are the native ones.
    --build-arg TARGETARCH="$arch" --build-arg TARGETPLATFORM="linux/$arch" --build-arg BUILDPLATFORM="linux/$arch"
    # Faster release builds for the test loop (IMAGE_OPTIMIZE=full: the published settings).
    --build-arg CARGO_PROFILE_RELEASE_LTO="$lto" --build-arg CARGO_PROFILE_RELEASE_CODEGEN_UNITS="$units"
    # A test-only game build with a fault compiled in (game-server/src/fault.rs): a tag ending in
    # -unready or -errors, e.g. 0.3.0-unready. Every other tag builds the real server.
    --build-arg FAULT="$(fault_of "$name" "$tag")"
    --build-arg VERSION="$tag" --build-arg REVISION="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)")
  # chroot isolation: no nested user namespaces or cgroups needed; the build shares the host's
  # network, which is how cargo reaches the crate registry.
  bh bud --quiet --layers --isolation chroot --pull=never -f "$repo/Dockerfile.$name" \
    "${args[@]}" -t "$ref" "$repo" >&2
  archive=$images_dir/archives/${ref//[\/:]/_}.tar
  # Written aside and renamed, so an import never reads a half-written archive.
  rm -f "$archive.tmp"
  bh push -q "$ref" "oci-archive:$archive.tmp:$ref" >&2
  mv "$archive.tmp" "$archive"
  echo "[images] $ref built in $((SECONDS - start))s ($(du -h "$archive" | cut -f1) archive)" >&2
  echo "$ref $archive"
done
